"""Lexical helpers shared by the rule parsers (and the front door): integers, spaces, JSON objects.

The public parsers (``batch_size``, ``shape``, ``layout``) raise :class:`Invalid` from
their inner steps and turn it into a :class:`~ovtriton.errors.ConfigError` in one place,
so every error carries the parameter key and the text exactly as the user wrote it.
"""

from __future__ import annotations

import json
from typing import Any, Final

from ovtriton.rules.dims import Dim

#: OVMS parses every size with ``stoi32``; anything above this is an overflow.
INT32_MAX: Final = 2**31 - 1

_ASCII_DIGITS: Final = frozenset("0123456789")


class Invalid(ValueError):
    """A grammar violation; ``reason`` says what was found and what was expected."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def compact(text: str) -> str:
    """Removes all whitespace, as OVMS erases spaces before parsing.

    Args:
        text: The raw parameter value.

    Returns:
        ``text`` without any whitespace character.
    """
    # Tabs and newlines are removed too: a pbtxt string may be wrapped by the user.
    return "".join(text.split())


def is_digits(text: str) -> bool:
    """True for a non-empty run of ASCII digits.

    ``str.isdigit`` is not used on purpose: it accepts ``"²"`` and other Unicode
    digits that ``int`` either rejects or reads as a different number.
    """
    return bool(text) and all(char in _ASCII_DIGITS for char in text)


def parse_int(token: str) -> int:
    """Parses an OVMS integer: ASCII digits with at most one leading ``-``.

    Args:
        token: A token without spaces, e.g. ``"224"`` or ``"-1"``.

    Returns:
        The value, within 32-bit signed range.

    Raises:
        Invalid: The token is not an integer or overflows 32 bits.
    """
    digits = token[1:] if token.startswith("-") else token
    if not is_digits(digits):
        raise Invalid(f"{token!r} is not an integer")
    # Checking the length first keeps int() away from huge strings (Python refuses
    # more than 4300 digits with a ValueError that is not ours).
    significant = digits.lstrip("0")
    if len(significant) > len(str(INT32_MAX)) or int(digits) > INT32_MAX:
        raise Invalid(f"{token!r} overflows (the largest allowed value is {INT32_MAX})")
    return -int(digits) if token.startswith("-") else int(digits)


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` that refuses repeated keys instead of keeping the last."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            # A repeated tensor name is almost always a copy-paste typo.
            raise Invalid(f"name {key!r} appears more than once")
        result[key] = value
    return result


def load_json_object(text: str) -> dict[str, Any]:
    """Parses a JSON object keyed by tensor name (never ``eval``).

    Args:
        text: JSON text whose first non-space character is ``{``.

    Returns:
        The object, with at least one key, none of them empty.

    Raises:
        Invalid: Not JSON, not an object, a repeated or empty key.
    """
    try:
        node = json.loads(text, object_pairs_hook=_reject_duplicates)
    except Invalid:
        raise
    except (ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError and int-size limits; RecursionError deep nesting.
        raise Invalid(f"not valid JSON ({exc})") from None
    if not isinstance(node, dict):
        raise Invalid("expected a JSON object keyed by tensor name")
    for key in node:
        if not key.strip():
            raise Invalid("a tensor name in the JSON object is empty")
    return node


def parse_size(token: str, what: str) -> Dim:
    """``N`` (fixed) or ``-1`` (any); other negatives are rejected.

    Args:
        token: The compacted text of one size.
        what: How to name it in an error ("batch", "dimension").

    Raises:
        Invalid: Not an integer, overflowing, or negative but not ``-1``.
    """
    size = parse_int(token)
    if size == -1:
        return Dim.any()
    if size < 0:
        raise Invalid(f"{what} {token!r} is negative (only -1 is allowed)")
    return Dim.fixed(size)
