"""The OVMS ``shape`` parameter (contract section 3).

Three forms: ``auto``; a tuple such as ``(1,3,224,224)`` for the model's only input;
a JSON object by input name, ``{"input1":"(1,3,224,224)","input2":"auto"}``, whose
values may also be JSON arrays of non-negative integers. Tuple dimensions are ``-1``
(any), an integer ``>= 0`` (fixed) or ``min:max`` with ``0 <= min < max`` (range).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeAlias

from ovtriton.errors import ConfigError
from ovtriton.rules.dims import Dim, Shape
from ovtriton.rules.lexing import (
    INT32_MAX,
    Invalid,
    compact,
    is_digits,
    load_json_object,
    parse_int,
    parse_size,
)

#: ``shape auto``: every input's shape follows the request. Case-sensitive like OVMS.
AUTO: Final = "auto"

ShapeValue: TypeAlias = Shape | Literal["auto"]

_TUPLE_CHARS: Final = frozenset("0123456789(),-:")
_EXPECTED: Final = (
    "expected 'auto', a tuple such as (1,3,224,224) whose dimensions are -1 (any), "
    "an integer >= 0 or 'min:max' with 0 <= min < max, "
    'or a JSON object by input name such as {"input1":"(1,3,224,224)","input2":"auto"}'
)


@dataclass(frozen=True)
class ShapeParameter:
    """A parsed ``shape``: either anonymous (only input) or by input name.

    Attributes:
        anonymous: The shape or ``AUTO`` for the tuple form or plain ``auto``.
        by_name: Shape or ``AUTO`` per input name, for the JSON-object form.
    """

    anonymous: ShapeValue | None = None
    by_name: Mapping[str, ShapeValue] = field(default_factory=dict)


def parse_shape(text: str, parameter: str = "shape") -> ShapeParameter | None:
    """Parses a ``shape`` value in any of its three forms.

    Args:
        text: The parameter value as written in ``config.pbtxt``.
        parameter: The parameter key, used in error messages.

    Returns:
        ``None`` when the text is empty, only spaces, or an empty JSON object
        (nothing to reshape); else the parsed parameter.

    Raises:
        ConfigError: The value, or the entry of one input, is malformed.
    """
    stripped = text.strip()
    if not stripped:
        return None
    try:
        if stripped.startswith("{"):
            entries = load_json_object(stripped)
            by_name = {name: _json_value(name, node) for name, node in entries.items()}
            return ShapeParameter(by_name=by_name) if by_name else None
        return ShapeParameter(anonymous=_string_value(text))
    except Invalid as exc:
        raise ConfigError(parameter, text, f"{exc.reason}; {_EXPECTED}") from None


def parse_shape_tuple(text: str, parameter: str = "shape") -> Shape:
    """Parses the tuple form only: ``(1,0:3,5,-1)`` is ``(1,[0~3],5,-1)``.

    Args:
        text: A tuple such as ``"(1, 0:3, 5, -1)"``; spaces are ignored.
        parameter: The parameter key, used in error messages.

    Returns:
        The shape; ``-1`` becomes :meth:`Dim.any`, ``a:b`` ``Dim(a, b)``.

    Raises:
        ConfigError: The text breaks the tuple grammar or a number overflows.
    """
    try:
        return _tuple(compact(text))
    except Invalid as exc:
        raise ConfigError(parameter, text, f"{exc.reason}; {_EXPECTED}") from None


def _string_value(text: str) -> ShapeValue:
    """``auto`` or a tuple (the anonymous form and JSON string values)."""
    value = compact(text)
    return AUTO if value == AUTO else _tuple(value)


def _json_value(name: str, node: Any) -> ShapeValue:
    """One entry of the JSON-object form; errors name the input."""
    try:
        if isinstance(node, str):
            return _string_value(node)
        if isinstance(node, list):
            return tuple(_json_size(item) for item in node)
        raise Invalid(f"got JSON {type(node).__name__}, expected a string or an array")
    except Invalid as exc:
        raise Invalid(f"input {name!r}: {exc.reason}") from None


def _json_size(item: object) -> Dim:
    """An element of a JSON array shape: a non-negative 32-bit integer."""
    # bool is an int subclass in Python; JSON true/false is not a size.
    if isinstance(item, bool) or not isinstance(item, int) or item < 0:
        raise Invalid(f"array element {item!r} is not an integer >= 0")
    if item > INT32_MAX:
        raise Invalid(f"array element {item} overflows (the largest allowed is {INT32_MAX})")
    return Dim.fixed(item)


def _tuple(value: str) -> Shape:
    """The tuple grammar on text whose spaces are already removed."""
    bad = sorted(set(value) - _TUPLE_CHARS)
    if bad:
        raise Invalid(f"unexpected character(s) {''.join(bad)!r}")
    if value.count("(") != 1 or value.count(")") != 1:
        raise Invalid("a tuple needs exactly one '(' and one ')'")
    if len(value) <= 2 or value[0] != "(" or value[-1] != ")":
        raise Invalid("a tuple starts with '(', ends with ')' and has at least one dimension")
    return tuple(_token(token) for token in value[1:-1].split(","))


def _token(token: str) -> Dim:
    """One tuple dimension: ``-1``, an integer ``>= 0`` or ``min:max``."""
    if not token:
        raise Invalid("empty dimension (two commas in a row, or a trailing comma)")
    if ":" in token:
        lower_text, _, upper_text = token.partition(":")
        # Digits only: a sign in a range ("-1:5") or a second ':' is malformed.
        if not is_digits(lower_text) or not is_digits(upper_text):
            raise Invalid(f"range {token!r} needs digits on both sides of one ':'")
        lower, upper = parse_int(lower_text), parse_int(upper_text)
        if lower >= upper:
            raise Invalid(f"range {token!r} needs min < max")
        return Dim(lower, upper)
    return parse_size(token, "dimension")
