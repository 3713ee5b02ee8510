"""The ``batch_size`` grammar (contract section 2)."""

from __future__ import annotations

import pytest

from ovtriton.errors import ConfigError
from ovtriton.rules.batch_size import BatchSize, parse_batch_size
from ovtriton.rules.dims import Dim


@pytest.mark.parametrize(
    ("text", "dim"),
    [
        ("1", Dim.fixed(1)),
        ("0", Dim.fixed(0)),
        ("32", Dim.fixed(32)),
        (" 1 6 ", Dim.fixed(16)),
        ("007", Dim.fixed(7)),
        ("-0", Dim.fixed(0)),
        ("-1", Dim.any()),
        (" - 1", Dim.any()),
        ("1:20", Dim(1, 20)),
        ("5:5", Dim.fixed(5)),
        (" 3 : 9 ", Dim(3, 9)),
        ("2147483647", Dim.fixed(2**31 - 1)),
        ("1:2147483647", Dim(1, 2**31 - 1)),
    ],
)
def test_valid_values(text: str, dim: Dim) -> None:
    assert parse_batch_size(text) == BatchSize(auto=False, dim=dim)


@pytest.mark.parametrize("text", ["auto", " auto ", "a u t o"])
def test_auto(text: str) -> None:
    assert parse_batch_size(text) == BatchSize(auto=True, dim=None)


@pytest.mark.parametrize("text", ["", " ", "  \t "])
def test_empty_is_not_set(text: str) -> None:
    assert parse_batch_size(text) is None


@pytest.mark.parametrize(
    "text",
    [
        # The contract's invalid examples.
        "word",
        ":9",
        "9:",
        "9-30",
        "9..30",
        "9::30",
        "-90:10",
        "?",
        "2.5:3",
        "500000000000000000",
        # Ranges need both bounds > 0 and min <= max.
        "0:20",
        "0:0",
        "20:10",
        # Other malformed values.
        "-2",
        "--1",
        "1-",
        "+1",
        "1:2:3",
        "-1:5",
        "AUTO",
        "Auto",
        "2147483648",
        "1:2147483648",
        "²",
        "٣",
        "1_000",
        "0x10",
        "1e3",
    ],
)
def test_invalid_values(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_batch_size(text)
    assert info.value.parameter == "batch_size"
    assert info.value.value == text


def test_overflow_reason() -> None:
    with pytest.raises(ConfigError, match="overflow") as info:
        parse_batch_size("500000000000000000")
    assert "500000000000000000" in str(info.value)


def test_error_names_parameter_value_and_expectation() -> None:
    with pytest.raises(ConfigError) as info:
        parse_batch_size(" word ", parameter="my_batch")
    error = info.value
    assert error.parameter == "my_batch"
    assert error.value == " word "
    assert "'my_batch'" in str(error)
    assert "' word '" in str(error)
    assert "auto" in error.reason and "-1" in error.reason


def test_zero_range_reason() -> None:
    with pytest.raises(ConfigError, match="> 0"):
        parse_batch_size("0:20")
