"""The OVMS ``batch_size`` parameter (contract section 2).

Accepted after removing spaces: ``N`` (fixed, ``N >= 0``), ``-1`` (any), ``a:b`` (range,
``0 < a <= b``), ``auto`` (batch follows each request) or empty (not set). Unlike OVMS,
which logs a bad value and falls back to the model's batch, every other value raises
:class:`~ovtriton.errors.ConfigError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ovtriton.errors import ConfigError
from ovtriton.rules.dims import Dim
from ovtriton.rules.lexing import Invalid, compact, is_digits, parse_int, parse_size
from ovtriton.rules.shape import AUTO  # one spelling, case-sensitive like OVMS

_EXPECTED: Final = (
    "expected an integer >= 0 (fixed batch), -1 (any batch), "
    "'min:max' with 0 < min <= max (batch range), or 'auto'"
)


@dataclass(frozen=True)
class BatchSize:
    """A parsed ``batch_size``.

    ``auto=True`` means the batch follows each request (``dim`` is ``None``); otherwise
    ``dim`` is the batch :class:`Dim` (fixed, range or any).

    Attributes:
        auto: Batch follows each request (the model is reshaped per batch).
        dim: The batch dimension when not ``auto``.
    """

    auto: bool
    dim: Dim | None


def parse_batch_size(text: str, parameter: str = "batch_size") -> BatchSize | None:
    """Parses a ``batch_size`` value.

    Args:
        text: The parameter value as written in ``config.pbtxt``.
        parameter: The parameter key, used in error messages.

    Returns:
        ``None`` when the text is empty or only spaces (not set), else the batch size.

    Raises:
        ConfigError: The value is malformed, out of range or overflows 32 bits.
    """
    value = compact(text)
    if not value:
        return None
    if value == AUTO:
        return BatchSize(auto=True, dim=None)
    try:
        # OVMS reads "-0" and leading zeros as plain integers too.
        dim = _range(value) if ":" in value else parse_size(value, "batch")
    except Invalid as exc:
        raise ConfigError(parameter, text, f"{exc.reason}; {_EXPECTED}") from None
    return BatchSize(auto=False, dim=dim)


def _range(value: str) -> Dim:
    """``a:b``: digits only around exactly one ``:``, with ``0 < a <= b``."""
    lower_text, _, upper_text = value.partition(":")
    if ":" in upper_text:
        raise Invalid(f"{value!r} has more than one ':'")
    # Signs are not allowed in a range: "-90:10" is an error, not "any to 10".
    if not is_digits(lower_text) or not is_digits(upper_text):
        raise Invalid(f"range {value!r} needs digits on both sides of ':'")
    lower, upper = parse_int(lower_text), parse_int(upper_text)
    if lower <= 0 or upper <= 0:
        raise Invalid(f"range {value!r} must have bounds > 0")
    if lower > upper:
        raise Invalid(f"range {value!r} has min > max")
    return Dim(lower, upper)
