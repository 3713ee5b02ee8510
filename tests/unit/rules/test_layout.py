"""The ``layout`` grammar and batch position (contract section 4)."""

from __future__ import annotations

import pytest

from ovtriton.errors import ConfigError
from ovtriton.rules.layout import (
    Layout,
    LayoutMapping,
    LayoutParameter,
    default_layout,
    parse_layout,
    parse_layout_mapping,
)

WRONG_FORMAT = "The provided layout is in wrong format"


@pytest.mark.parametrize(
    ("text", "tensor", "model"),
    [
        ("NHWC:NCHW", "NHWC", "NCHW"),
        (" Nhwc : ncHW ", "NHWC", "NCHW"),
        ("nchw", "NCHW", "NCHW"),
        ("NC", "NC", "NC"),
        ("CN", "CN", "CN"),
        ("N...", "N...", "N..."),
        ("...", "...", "..."),
        ("?", "?", "?"),
        ("??N...", "??N...", "??N..."),
        ("?C???N...", "?C???N...", "?C???N..."),
        ("N...CH", "N...CH", "N...CH"),
        ("N?C:NC?", "N?C", "NC?"),
        ("NC...:...NC", "NC...", "...NC"),
        ("NCDHW:NDHWC", "NCDHW", "NDHWC"),
        ("n . . . c", "N...C", "N...C"),
        ("\tN C\n", "NC", "NC"),
    ],
)
def test_valid_mappings(text: str, tensor: str, model: str) -> None:
    mapping = parse_layout_mapping(text)
    assert mapping == LayoutMapping(tensor=Layout(tensor), model=Layout(model))
    assert parse_layout(text) == LayoutParameter(anonymous=mapping)


def test_needs_transpose() -> None:
    assert parse_layout_mapping("NHWC:NCHW").needs_transpose
    assert not parse_layout_mapping("NCHW").needs_transpose
    assert not parse_layout_mapping("nchw:NCHW").needs_transpose
    assert not parse_layout_mapping("CN").needs_transpose


@pytest.mark.parametrize(
    "text",
    [
        # The contract's invalid examples.
        "nc::nc",
        ":nc:nc",
        "nc>nc",
        "a:b:c",
        "N.CH",
        "..NHW.",
        "N...N",
        "N...C...H",
        "NCHWN",
        "N???N",
        # Empty sides and other malformed text.
        "NC:",
        ":NC",
        ":",
        "....",
        "N......C",
        "NCHWX",
        "N,C",
        "[N,C,H,W]",
        "NCHWDN",
        "NHWC:NCHWW",
        "ṅ",
    ],
)
def test_malformed_layouts(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_layout_mapping(text)
    assert (info.value.parameter, info.value.value) == ("layout", text)
    assert WRONG_FORMAT in info.value.reason
    with pytest.raises(ConfigError, match=WRONG_FORMAT):
        parse_layout(text)


@pytest.mark.parametrize("text", ["NHWC:NCDW", "NC:NH", "N...:C...", "NCHW:CHW"])
def test_different_letters_rejected(text: str) -> None:
    with pytest.raises(ConfigError, match="different dimensions") as info:
        parse_layout_mapping(text)
    assert info.value.value == text


@pytest.mark.parametrize("text", ["NC?:NC", "N?C:NC??"])
def test_different_ranks_rejected(text: str) -> None:
    with pytest.raises(ConfigError, match="different ranks"):
        parse_layout_mapping(text)


@pytest.mark.parametrize(
    ("text", "index"),
    [
        ("NHWC", 0),
        ("HWCN", 3),
        ("NC", 0),
        ("N...", 0),
        ("N...CH", 0),
        ("??N...", 2),
        ("?C???N...", 5),
        ("CHW", None),
        ("...NC", None),
        ("...", None),
        ("CN", 1),
        ("C?N", 2),
    ],
)
def test_batch_index(text: str, index: int | None) -> None:
    assert parse_layout_mapping(text).model.batch_index == index


@pytest.mark.parametrize(
    ("text", "tokens", "named_rank", "ellipsis"),
    [
        ("N...CH", ("N", "...", "C", "H"), 3, True),
        ("NCHW", ("N", "C", "H", "W"), 4, False),
        ("??N...", ("?", "?", "N", "..."), 3, True),
        ("...", ("...",), 0, True),
        ("?", ("?",), 1, False),
    ],
)
def test_tokens_rank_ellipsis(
    text: str, tokens: tuple[str, ...], named_rank: int, ellipsis: bool
) -> None:
    layout = parse_layout_mapping(text).tensor
    assert layout.tokens() == tokens
    assert layout.named_rank == named_rank
    assert layout.has_ellipsis is ellipsis
    assert str(layout) == text


@pytest.mark.parametrize(
    ("text", "rank", "fits"),
    [
        ("NCHW", 4, True),
        ("NCHW", 3, False),
        ("NCHW", 5, False),
        ("N...", 1, True),
        ("N...", 4, True),
        ("N...", 0, False),
        ("...", 0, True),
        ("...", 3, True),
        ("N...CH", 2, False),
        ("N...CH", 3, True),
    ],
)
def test_fits_rank(text: str, rank: int, fits: bool) -> None:
    assert parse_layout_mapping(text).model.fits_rank(rank) is fits


def test_default_layout() -> None:
    assert default_layout(0) == Layout("...")
    assert default_layout(1) == Layout("N...")
    assert default_layout(4) == Layout("N...")
    assert default_layout(4).batch_index == 0
    assert default_layout(0).batch_index is None
    with pytest.raises(ValueError):
        default_layout(-1)


@pytest.mark.parametrize("text", ["", "  ", "{}", " {} "])
def test_nothing_set(text: str) -> None:
    assert parse_layout(text) is None


def test_json_object_form() -> None:
    parsed = parse_layout(' {"input1":"nhwc:nchw","output1":"CN:NC", "in2": "N..."}')
    assert parsed == LayoutParameter(
        by_name={
            "input1": LayoutMapping(Layout("NHWC"), Layout("NCHW")),
            "output1": LayoutMapping(Layout("CN"), Layout("NC")),
            "in2": LayoutMapping(Layout("N..."), Layout("N...")),
        }
    )
    assert parsed is not None and parsed.anonymous is None


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ('{"x":"NCHWN"}', "x"),
        ('{"ok":"NC","x":"nc::nc"}', "x"),
        ('{"x":3}', "x"),
        ('{"x":["N","C"]}', "x"),
        ('{"x":null}', "x"),
        ('{"x":"NC","x":"CN"}', "x"),
    ],
)
def test_json_bad_entry_names_tensor(text: str, name: str) -> None:
    with pytest.raises(ConfigError, match=WRONG_FORMAT) as info:
        parse_layout(text)
    assert info.value.value == text
    assert repr(name) in info.value.reason


def test_json_letter_mismatch_names_tensor() -> None:
    with pytest.raises(ConfigError, match="different dimensions") as info:
        parse_layout('{"x":"NHWC:NCDW"}')
    assert "'x'" in info.value.reason


@pytest.mark.parametrize("text", ["{", '{"x":"NC"', "{'x':'NC'}", '{"":"NC"}', "{" * 5000])
def test_json_malformed(text: str) -> None:
    with pytest.raises(ConfigError, match=WRONG_FORMAT) as info:
        parse_layout(text)
    assert info.value.value == text


def test_error_names_parameter_and_value() -> None:
    with pytest.raises(ConfigError) as info:
        parse_layout_mapping("nc>nc", parameter="my_layout")
    error = info.value
    assert (error.parameter, error.value) == ("my_layout", "nc>nc")
    assert "'my_layout'" in str(error) and "'nc>nc'" in str(error)
    assert "NHWC:NCHW" in error.reason
