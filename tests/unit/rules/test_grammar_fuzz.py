"""Property tests: the parsers return a value or raise ConfigError, and round-trip."""

from __future__ import annotations

import json
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from ovtriton.errors import ConfigError
from ovtriton.rules.batch_size import BatchSize, parse_batch_size
from ovtriton.rules.dims import Dim, Shape, format_shape
from ovtriton.rules.layout import parse_layout, parse_layout_mapping
from ovtriton.rules.parameters import KNOWN_PARAMETERS, parse_parameters
from ovtriton.rules.shape import parse_shape, parse_shape_tuple

INT32_MAX = 2**31 - 1
FUZZ = settings(max_examples=300, deadline=None)

PARSERS: list[Callable[[str], object]] = [
    parse_batch_size,
    parse_shape,
    parse_shape_tuple,
    parse_layout,
    parse_layout_mapping,
]

NUMERIC_TEXT = st.text(alphabet="0123456789(),-: ", max_size=30)
LAYOUT_TEXT = st.text(alphabet='NCHWD?.: nchw{}"', max_size=30)
JSON_TEXT = st.one_of(
    st.dictionaries(st.text(max_size=5), st.text(alphabet="0123456789(),-:NCHW?.a", max_size=12)),
    st.dictionaries(st.text(max_size=5), st.lists(st.integers(-3, 2**32), max_size=4)),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5), st.lists, max_leaves=6
    ),
).map(json.dumps)


def _only_config_errors(text: str) -> None:
    """Every parser returns or raises ConfigError naming the original text."""
    for parser in PARSERS:
        try:
            parser(text)
        except ConfigError as exc:
            assert exc.value == text
            assert exc.reason


# Near misses for every parameter: its grammar's alphabet, JSON, Unicode digits,
# numbers too long for int(), deep nesting.
PARAMETER_TEXT = st.one_of(
    st.text(max_size=20),
    NUMERIC_TEXT,
    LAYOUT_TEXT,
    JSON_TEXT,
    st.text(alphabet="0123456789²³١٢-", min_size=1, max_size=8),
    st.integers(1, 6000).map(lambda n: "9" * n),
    st.integers(1, 3000).map(lambda n: "[" * n),
    st.sampled_from(["CPU", "GPU.0", "HETERO:GPU,CPU", "AUTO", "LATENCY", "true", "{}"]),
)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from([*KNOWN_PARAMETERS, "batchsize", "Shape", "NUM_STREAM", ""]),
        PARAMETER_TEXT,
        max_size=4,
    )
)
def test_parameters_parse_or_name_the_parameter(raw: dict[str, str]) -> None:
    """parse_parameters returns or raises ConfigError naming a key of ``raw``; never else."""
    try:
        parse_parameters(raw)
    except ConfigError as exc:
        assert exc.parameter in raw
        assert exc.reason


@FUZZ
@given(st.text())
def test_any_text(text: str) -> None:
    _only_config_errors(text)


@FUZZ
@given(NUMERIC_TEXT)
def test_numeric_alphabet(text: str) -> None:
    _only_config_errors(text)


@FUZZ
@given(LAYOUT_TEXT)
def test_layout_alphabet(text: str) -> None:
    _only_config_errors(text)


@FUZZ
@given(JSON_TEXT)
def test_json_text(text: str) -> None:
    _only_config_errors(text)


SIZES = st.integers(min_value=0, max_value=INT32_MAX)
RANGES = st.tuples(SIZES, SIZES).filter(lambda pair: pair[0] != pair[1]).map(sorted)
DIMS = st.one_of(
    SIZES.map(Dim.fixed),
    st.just(Dim.any()),
    RANGES.map(lambda pair: Dim(pair[0], pair[1])),
)


def _tuple_text(shape: Shape) -> str:
    """The parameter grammar's spelling (ranges as min:max, unlike the printed [a~b])."""
    parts = [f"{d.lower}:{d.upper}" if not (d.is_static or d.is_any) else str(d) for d in shape]
    return "(" + ",".join(parts) + ")"


@FUZZ
@given(st.lists(st.one_of(SIZES, st.just(-1)), min_size=1, max_size=6))
def test_int_tuples_round_trip_through_format_shape(sizes: list[int]) -> None:
    shape = parse_shape_tuple(format_shape(sizes))
    assert [dim.to_triton() for dim in shape] == sizes
    assert format_shape(shape) == format_shape(sizes)


@FUZZ
@given(st.lists(DIMS, min_size=1, max_size=6).map(tuple), st.booleans())
def test_dim_tuples_round_trip(shape: Shape, spaced: bool) -> None:
    text = _tuple_text(shape)
    if spaced:
        text = " ".join(text)
    assert parse_shape_tuple(text) == shape
    by_name = parse_shape(json.dumps({"x": text}))
    assert by_name is not None and by_name.by_name["x"] == shape


@FUZZ
@given(st.lists(SIZES, max_size=6))
def test_json_arrays_are_fixed_shapes(sizes: list[int]) -> None:
    parsed = parse_shape(json.dumps({"x": sizes}))
    assert parsed is not None
    assert parsed.by_name["x"] == tuple(Dim.fixed(size) for size in sizes)


@FUZZ
@given(st.one_of(SIZES.map(Dim.fixed), st.just(Dim.any()), st.tuples(SIZES, SIZES).map(sorted)))
def test_batch_size_round_trip(value: Dim | list[int]) -> None:
    if isinstance(value, Dim):
        assert parse_batch_size(str(value)) == BatchSize(auto=False, dim=value)
        return
    lower, upper = value
    text = f"{lower}:{upper}"
    if lower == 0:
        try:
            parse_batch_size(text)
        except ConfigError:
            return
        raise AssertionError(f"{text!r} must be rejected")
    assert parse_batch_size(text) == BatchSize(auto=False, dim=Dim(lower, upper))


@st.composite
def layouts(draw: st.DrawFn) -> str:
    """A valid layout: distinct letters, any number of '?', at most one '...'."""
    letters = draw(st.permutations("NCHWD"))[: draw(st.integers(0, 5))]
    tokens = list(letters) + ["?"] * draw(st.integers(0, 3))
    tokens = draw(st.permutations(tokens))
    if draw(st.booleans()) or not tokens:
        tokens.insert(draw(st.integers(0, len(tokens))), "...")
    return "".join(tokens)


@FUZZ
@given(layouts(), st.data())
def test_layouts_normalize_and_round_trip(layout: str, data: st.DataObject) -> None:
    # Random case and spaces must normalize to the canonical upper-case text.
    noisy = "".join(
        (char.lower() if data.draw(st.booleans()) else char)
        + (" " if data.draw(st.booleans()) else "")
        for char in layout
    )
    mapping = parse_layout_mapping(noisy)
    assert mapping.tensor.text == mapping.model.text == layout
    assert not mapping.needs_transpose
    assert "".join(mapping.model.tokens()) == layout
    assert parse_layout_mapping(mapping.model.text) == mapping
    batch = mapping.model.batch_index
    if batch is not None:
        assert mapping.model.tokens()[batch] == "N"
        assert "..." not in mapping.model.tokens()[:batch]


@FUZZ
@given(layouts(), st.data())
def test_transposes_of_same_letters_are_valid(layout: str, data: st.DataObject) -> None:
    other = "".join(data.draw(st.permutations(parse_layout_mapping(layout).model.tokens())))
    mapping = parse_layout_mapping(f"{layout}:{other}")
    assert (mapping.tensor.text, mapping.model.text) == (layout, other)
    assert mapping.needs_transpose is (layout != other)
