"""ModelSpec: parsing metadata and checking requests before they are sent."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ovtriton_client import InvalidInputError, ModelSpec, TensorSpec
from ovtriton_client._metadata import byte_size, format_shape
from tests.unit.client.specs import TWO_IO, TWO_IO_SPEC

# gRPC's JSON form: int64 dims as strings.
SEQUENCE_GRPC = {
    "name": "dynamic_sequence",
    "inputs": [{"name": "tokens", "datatype": "FP32", "shape": ["-1", "-1", "8"]}],
    "outputs": [{"name": "scores", "datatype": "FP32", "shape": ["-1", "-1", "8"]}],
}


@pytest.fixture
def two_io() -> ModelSpec:
    return TWO_IO_SPEC


def test_from_metadata_parses_tensors_and_string_dims() -> None:
    spec = ModelSpec.from_metadata(SEQUENCE_GRPC, version="1", max_batch_size=32)
    assert spec.inputs == (TensorSpec("tokens", "FP32", (-1, -1, 8)),)
    assert spec.outputs[0].shape == (-1, -1, 8)
    assert spec.version == "1"
    assert spec.batched


def test_dict_list_and_single_array_forms_are_equivalent(two_io: ModelSpec) -> None:
    a, b = np.ones((2, 4), np.float32), np.zeros((2, 4), np.float32)
    by_name = two_io.prepare_inputs({"b": b, "a": a})
    positional = two_io.prepare_inputs([a, b])
    assert list(by_name) == ["a", "b"] == list(positional)
    assert by_name["a"] is a and positional["b"] is b
    single = ModelSpec.from_metadata(SEQUENCE_GRPC, max_batch_size=4)
    tokens = np.zeros((1, 3, 8), np.float32)
    assert single.prepare_inputs(tokens)["tokens"] is tokens


def test_lists_are_converted_to_the_expected_dtype(two_io: ModelSpec) -> None:
    arrays = two_io.prepare_inputs({"a": [[1, 2, 3, 4]], "b": [[0, 0, 0, 0]]})
    assert arrays["a"].dtype == np.float32
    assert arrays["a"].shape == (1, 4)


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        ({"a": np.ones((1, 4), np.float32)}, "input 'b' is missing; expected b FP32 [-1,4]"),
        (
            {"a": np.ones((1, 4), np.float32), "b": np.ones((1, 4), np.float32), "c": 1},
            "unknown input 'c'; the inputs are a FP32 [-1,4], b FP32 [-1,4]",
        ),
        (
            {"a": np.ones((1, 4), np.float64), "b": np.ones((1, 4), np.float32)},
            "input 'a' has dtype float64; expected FP32 (numpy float32)",
        ),
        (
            {"a": np.ones((1, 5), np.float32), "b": np.ones((1, 5), np.float32)},
            "input 'a' has shape [1,5]; expected [-1,4] (-1: any size)",
        ),
        (
            {"a": np.ones((4,), np.float32), "b": np.ones((4,), np.float32)},
            "input 'a' has shape [4]; expected [-1,4]",
        ),
        (
            {"a": np.ones((2, 4), np.float32), "b": np.ones((3, 4), np.float32)},
            "inputs disagree on the batch size: 'a' has 2, 'b' has 3",
        ),
        (
            {"a": np.ones((9, 4), np.float32), "b": np.ones((9, 4), np.float32)},
            "batch size 9 exceeds the model's max_batch_size 8",
        ),
        ([np.ones((1, 4), np.float32)], "got 1 positional inputs; expected 2"),
        (np.ones((1, 4), np.float32), "one array given for 2 inputs"),
        (None, "no inputs given; expected a FP32 [-1,4], b FP32 [-1,4]"),
        ({"a": [["x"] * 4], "b": np.ones((1, 4), np.float32)}, "cannot be converted to FP32"),
    ],
)
def test_invalid_inputs_say_what_was_expected(
    two_io: ModelSpec, inputs: object, expected: str
) -> None:
    with pytest.raises(InvalidInputError) as raised:
        two_io.prepare_inputs(inputs)
    assert expected in str(raised.value)
    assert str(raised.value).startswith("model 'two_io': ")
    assert raised.value.model == "two_io"
    assert raised.value.status is None  # raised locally: nothing was sent


def test_check_false_only_converts(two_io: ModelSpec) -> None:
    arrays = two_io.prepare_inputs({"a": np.ones((1, 5)), "b": [1]}, check=False)
    assert arrays["a"].shape == (1, 5) and arrays["b"].dtype == np.int64


def test_unbatched_or_unknown_limit_skips_batch_checks() -> None:
    for limit in (0, None):
        spec = ModelSpec.from_metadata(TWO_IO, max_batch_size=limit)
        big = np.ones((100, 4), np.float32)
        assert spec.prepare_inputs({"a": big, "b": big})["a"] is big


def test_bytes_inputs_take_object_or_bytes_arrays() -> None:
    spec = ModelSpec.from_metadata(
        {"name": "m", "inputs": [{"name": "s", "datatype": "BYTES", "shape": [-1]}]}
    )
    assert spec.prepare_inputs(np.array([b"a", b"bc"], dtype=object))["s"].dtype == object
    assert spec.prepare_inputs(np.array([b"a", b"bc"]))["s"].dtype.kind == "S"
    with pytest.raises(InvalidInputError, match="expected BYTES"):
        spec.prepare_inputs(np.array([1, 2], dtype=np.int32))


def test_tensor_lookup(two_io: ModelSpec) -> None:
    assert two_io.input("b").name == "b" and two_io.output("sum").datatype == "FP32"
    with pytest.raises(InvalidInputError, match="unknown input 'c'; the inputs are a FP32"):
        two_io.input("c")


def test_select_outputs(two_io: ModelSpec) -> None:
    assert two_io.select_outputs(None) is None
    assert two_io.select_outputs(["product", "sum", "product"]) == ("product", "sum")
    with pytest.raises(InvalidInputError, match="unknown output 'nope'; the outputs are sum"):
        two_io.select_outputs(["nope"])
    with pytest.raises(InvalidInputError, match="not the string 'sum'"):
        two_io.select_outputs("sum")
    with pytest.raises(InvalidInputError, match="empty"):
        two_io.select_outputs([])


def test_estimate_output_shape() -> None:
    sequence = ModelSpec.from_metadata(SEQUENCE_GRPC, max_batch_size=32)
    tokens = np.zeros((3, 7, 8), np.float32)
    assert sequence.estimate_output_shape("scores", {"tokens": tokens}) == (3, 7, 8)
    classifier = ModelSpec.from_metadata(
        {
            "name": "classifier",
            "inputs": [{"name": "image", "datatype": "FP32", "shape": [-1, 3, 224, 224]}],
            "outputs": [{"name": "probabilities", "datatype": "FP32", "shape": [-1, 10]}],
        },
        max_batch_size=32,
    )
    image = np.zeros((5, 3, 224, 224), np.float32)
    assert classifier.estimate_output_shape("probabilities", {"image": image}) == (5, 10)
    unknown = ModelSpec.from_metadata(
        {
            "name": "crop",
            "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 8]}],
            "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, -1]}],
        },
        max_batch_size=4,
    )
    assert unknown.estimate_output_shape("y", {"x": np.zeros((2, 8), np.float32)}) is None


def test_byte_size_and_format_shape() -> None:
    assert byte_size("FP32", (2, 16)) == 128
    assert byte_size("INT64", ()) == 8
    assert byte_size("BF16", (4,)) == 8
    assert byte_size("BYTES", (4,)) is None
    assert format_shape((-1, 3, 224, 224)) == "[-1,3,224,224]"


dims = st.lists(st.integers(min_value=-1, max_value=6), min_size=0, max_size=4)


@given(declared=dims, actual=st.lists(st.integers(0, 6), min_size=0, max_size=4))
def test_accepts_matches_fixed_dims_and_rank(declared: list[int], actual: list[int]) -> None:
    tensor = TensorSpec("t", "FP32", tuple(declared))
    expected = len(declared) == len(actual) and all(
        d == -1 or d == a for d, a in zip(declared, actual, strict=False)
    )
    assert tensor.accepts(actual) == expected
