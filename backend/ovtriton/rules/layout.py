"""The OVMS ``layout`` parameter (contract section 4).

``A:B`` says the request tensor has layout ``A`` and the model expects ``B`` (a transpose
when they differ); a single ``X`` means ``X:X``. A layout is built from ``N C H W D``
(each at most once), ``?`` (one unknown dimension, may repeat) and ``...`` (any number
of unknown dimensions, at most once). Spaces are removed and letters upper-cased.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from ovtriton.errors import ConfigError
from ovtriton.rules.lexing import Invalid, compact, load_json_object

#: OVMS's message for a malformed layout; kept verbatim so users can search for it.
WRONG_FORMAT: Final = "The provided layout is in wrong format"

ELLIPSIS: Final = "..."
_LETTERS: Final = frozenset("NCHWD")
# Checked before upper-casing: str.upper() maps some non-ASCII characters to ASCII.
_ALLOWED: Final = frozenset("NCHWDnchwd?.:")
_EXPECTED: Final = (
    "expected 'A:B' or 'X' built from N C H W D (each at most once per side), "
    "'?' and at most one '...', e.g. NCHW, N... or NHWC:NCHW"
)


def _split(text: str) -> tuple[str, ...]:
    """Splits into one token per character, except that a run of dots is one token."""
    tokens: list[str] = []
    index = 0
    while index < len(text):
        end = index + 1
        if text[index] == ".":
            while end < len(text) and text[end] == ".":
                end += 1
        tokens.append(text[index:end])
        index = end
    return tuple(tokens)


@dataclass(frozen=True)
class Layout:
    """One validated layout, e.g. ``NCHW``, ``N...`` or ``??N...``.

    Build it with :func:`parse_layout_mapping` or :func:`default_layout`; the
    constructor does not validate.

    Attributes:
        text: Normalized text: upper-case, no spaces.
    """

    text: str

    @property
    def batch_index(self) -> int | None:
        """Index of ``N`` when it stands before any ``...``; else ``None`` (no batch)."""
        for index, token in enumerate(self.tokens()):
            if token == ELLIPSIS:
                # After "..." the position of N depends on the rank: not a batch axis.
                return None
            if token == "N":
                return index
        return None

    @property
    def named_rank(self) -> int:
        """Number of dimension tokens, ``...`` excluded (each letter or ``?`` counts 1)."""
        return sum(1 for token in self.tokens() if token != ELLIPSIS)

    @property
    def has_ellipsis(self) -> bool:
        """True when the layout contains ``...``."""
        return ELLIPSIS in self.tokens()

    def fits_rank(self, rank: int) -> bool:
        """True when a tensor of ``rank`` dimensions can carry this layout.

        Args:
            rank: The tensor's number of dimensions.

        Returns:
            With ``...``: ``named_rank <= rank``; otherwise ``named_rank == rank``.
        """
        if self.has_ellipsis:
            return self.named_rank <= rank
        return self.named_rank == rank

    def tokens(self) -> tuple[str, ...]:
        """The dimension tokens, e.g. ``"N...CH"`` -> ``("N", "...", "C", "H")``."""
        return _split(self.text)

    def __str__(self) -> str:
        return self.text


def default_layout(rank: int) -> Layout:
    """The layout OVMS assumes when none is given.

    Args:
        rank: The tensor's number of dimensions (``>= 0``).

    Returns:
        ``N...`` for rank >= 1, ``...`` for scalars.

    Raises:
        ValueError: ``rank`` is negative (a programming error, not a config error).
    """
    if rank < 0:
        raise ValueError(f"rank must be >= 0, got {rank}")
    return Layout("N" + ELLIPSIS) if rank >= 1 else Layout(ELLIPSIS)


@dataclass(frozen=True)
class LayoutMapping:
    """``A:B``: the request tensor's layout and the layout the model expects.

    Attributes:
        tensor: Layout of the request tensor (``A``).
        model: Layout the model expects (``B``).
    """

    tensor: Layout
    model: Layout

    @property
    def needs_transpose(self) -> bool:
        """True when the layouts differ, so PrePostProcessor inserts a transpose."""
        return self.tensor.text != self.model.text


@dataclass(frozen=True)
class LayoutParameter:
    """A parsed ``layout``: either anonymous (only input) or by tensor name.

    Attributes:
        anonymous: The mapping for the plain string form.
        by_name: Mapping per input or output name, for the JSON-object form.
    """

    anonymous: LayoutMapping | None = None
    by_name: Mapping[str, LayoutMapping] = field(default_factory=dict)


def parse_layout_mapping(text: str, parameter: str = "layout") -> LayoutMapping:
    """Parses ``A:B`` or ``X`` (meaning ``X:X``).

    Args:
        text: The layout text; spaces are removed and letters upper-cased.
        parameter: The parameter key, used in error messages.

    Returns:
        The tensor-side and model-side layouts.

    Raises:
        ConfigError: The text is malformed, or the two sides name different letters.
    """
    try:
        return _mapping(text)
    except Invalid as exc:
        raise ConfigError(parameter, text, exc.reason) from None


def parse_layout(text: str, parameter: str = "layout") -> LayoutParameter | None:
    """Parses a ``layout`` value: a plain mapping or a JSON object by tensor name.

    Args:
        text: The parameter value as written in ``config.pbtxt``; a JSON object when
            its first non-space character is ``{``.
        parameter: The parameter key, used in error messages.

    Returns:
        ``None`` when the text is empty, only spaces, or an empty JSON object;
        else the parsed parameter.

    Raises:
        ConfigError: The value, or the entry of one tensor, is malformed.
    """
    stripped = text.strip()
    if not stripped:
        return None
    try:
        if not stripped.startswith("{"):
            return LayoutParameter(anonymous=_mapping(text))
        try:
            entries = load_json_object(stripped)
        except Invalid as exc:
            raise Invalid(f"{WRONG_FORMAT}: {exc.reason}; {_EXPECTED}") from None
        by_name = {name: _json_entry(name, node) for name, node in entries.items()}
        return LayoutParameter(by_name=by_name) if by_name else None
    except Invalid as exc:
        raise ConfigError(parameter, text, exc.reason) from None


def _json_entry(name: str, node: object) -> LayoutMapping:
    """One entry of the JSON-object form; errors name the tensor."""
    try:
        if not isinstance(node, str):
            raise Invalid(f"{WRONG_FORMAT}: got JSON {type(node).__name__}; {_EXPECTED}")
        return _mapping(node)
    except Invalid as exc:
        raise Invalid(f"tensor {name!r}: {exc.reason}") from None


def _mapping(text: str) -> LayoutMapping:
    """``A:B`` or ``X`` -> mapping; raises :class:`Invalid` with the full reason."""
    value = compact(text)
    bad = sorted(set(value) - _ALLOWED)
    if bad:
        raise Invalid(f"{WRONG_FORMAT}: unexpected character(s) {''.join(bad)!r}; {_EXPECTED}")
    if value.count(":") > 1:
        raise Invalid(f"{WRONG_FORMAT}: more than one ':'; {_EXPECTED}")
    tensor_text, colon, model_text = value.partition(":")
    tensor = _side(tensor_text)
    model = _side(model_text) if colon else tensor
    _check_transpose(tensor, model)
    return LayoutMapping(tensor=tensor, model=model)


def _side(value: str) -> Layout:
    """Validates one side (spaces removed, characters already checked), upper-cased."""
    if not value:
        raise Invalid(f"{WRONG_FORMAT}: a layout side is empty; {_EXPECTED}")
    text = value.upper()
    seen: set[str] = set()
    for token in _split(text):
        if token.startswith(".") and token != ELLIPSIS:
            raise Invalid(f"{WRONG_FORMAT}: {token!r} in {text!r} is not '...'; {_EXPECTED}")
        if token in seen and token != "?":
            raise Invalid(f"{WRONG_FORMAT}: {token!r} repeats in {text!r}; {_EXPECTED}")
        seen.add(token)
    return Layout(text)


def _check_transpose(tensor: Layout, model: Layout) -> None:
    """A transpose only reorders axes: both sides must name the same letters."""
    if tensor.text == model.text:
        return
    tensor_letters = set(tensor.text) & _LETTERS
    model_letters = set(model.text) & _LETTERS
    if tensor_letters != model_letters:
        raise Invalid(
            f"tensor layout {tensor.text!r} and model layout {model.text!r} name different "
            "dimensions; a transpose can only reorder N C H W D, not add or drop them"
        )
    fixed_ranks = not tensor.has_ellipsis and not model.has_ellipsis
    if fixed_ranks and tensor.named_rank != model.named_rank:
        raise Invalid(
            f"tensor layout {tensor.text!r} and model layout {model.text!r} have different "
            "ranks; a transpose cannot change the number of dimensions"
        )
