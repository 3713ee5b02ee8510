"""Served tensors -> Triton config entries (pure logic)."""

from __future__ import annotations

from ovtriton.rules.dims import Dim
from ovtriton.rules.tensors import (
    DEFAULT_MAX_BATCH_SIZE,
    TensorInfo,
    batching_obstacle,
    batching_refusal,
    batching_supported,
    choose_max_batch_size,
    config_entry,
    declared_mismatches,
)

NCHW = TensorInfo("x", "TYPE_FP32", (Dim.fixed(1), Dim.fixed(3), Dim(1, 5)), 0)
OUT = TensorInfo("y", "TYPE_FP32", (Dim.fixed(1), Dim.fixed(10)), 0)
CN = TensorInfo("c", "TYPE_FP32", (Dim.fixed(3), Dim.fixed(1)), 1)


def test_batched_entries_drop_the_batch_and_open_ranges() -> None:
    assert config_entry(NCHW, batched=True) == {
        "name": "x",
        "data_type": "TYPE_FP32",
        "dims": [3, -1],
    }
    assert config_entry(NCHW, batched=False)["dims"] == [1, 3, -1]


def test_auto_flags_open_dims() -> None:
    batch_auto = TensorInfo("x", "TYPE_FP32", (Dim.fixed(2), Dim.fixed(3)), 0, batch_auto=True)
    assert config_entry(batch_auto, batched=False)["dims"] == [-1, 3]
    shape_auto = TensorInfo("x", "TYPE_FP32", (Dim.fixed(2), Dim.fixed(3)), 0, shape_auto=True)
    assert config_entry(shape_auto, batched=False)["dims"] == [-1, -1]


def test_batching_needs_every_batch_first() -> None:
    assert batching_supported([NCHW, OUT])
    assert not batching_supported([NCHW, CN])
    assert not batching_supported([TensorInfo("s", "TYPE_FP32", (), None)])
    assert not batching_supported([TensorInfo("v", "TYPE_FP32", (Dim.any(),), 0)])
    one = TensorInfo("a", "TYPE_FP32", (Dim.fixed(1), Dim.fixed(4)), 0)
    two = TensorInfo("b", "TYPE_FP32", (Dim.fixed(2), Dim.fixed(4)), 0)
    assert batching_supported([one, OUT]) and not batching_supported([one, two])


def test_the_obstacle_to_batching_names_the_tensor() -> None:
    assert batching_obstacle([NCHW, OUT]) is None
    assert batching_obstacle([NCHW, CN]) == (
        "tensor 'c' has its batch at position 1; Triton batches at position 0"
    )
    scalar = TensorInfo("s", "TYPE_FP32", (), None)
    assert batching_obstacle([scalar]) == (
        "tensor 's' has no batch dimension; Triton batches at position 0"
    )
    vector = TensorInfo("v", "TYPE_FP32", (Dim.any(),), 0)
    assert batching_obstacle([vector]) == "tensor 'v' has rank 1; batching needs rank 2+"
    one = TensorInfo("a", "TYPE_FP32", (Dim.fixed(1), Dim.fixed(4)), 0)
    two = TensorInfo("b", "TYPE_FP32", (Dim.fixed(2), Dim.fixed(4)), 0)
    assert batching_obstacle([one, two]) == "the inputs and outputs share no batch size"
    assert batching_obstacle([]) == "the model has no tensors"


def test_a_max_batch_size_the_model_cannot_take_is_refused_by_value() -> None:
    assert batching_refusal(0, [NCHW, CN]) is None  # 0: not set, served unbatched
    assert batching_refusal(8, [NCHW, OUT]) is None
    message = batching_refusal(8, [NCHW, CN])
    assert message is not None
    assert message.startswith("max_batch_size 8 cannot be served: tensor 'c' has its batch")


def test_max_batch_size_choice() -> None:
    assert choose_max_batch_size(0, [NCHW, OUT]) == DEFAULT_MAX_BATCH_SIZE
    assert choose_max_batch_size(4, [NCHW, OUT]) == 4
    assert choose_max_batch_size(8, [NCHW, CN]) == 0
    big = TensorInfo("x", "TYPE_FP32", (Dim(1, 100), Dim.fixed(3)), 0)
    assert choose_max_batch_size(0, [big]) == 100


def test_declared_tensors_that_agree_or_leave_fields_out_pass() -> None:
    config = {
        "max_batch_size": 8,
        "input": [{"name": "x", "data_type": "TYPE_FP32", "dims": ["3", "-1"]}],
        "output": [{"name": "y"}],
    }
    assert declared_mismatches(config, [NCHW], [OUT]) == []
    reshaped = {"input": [{"name": "x", "dims": [15], "reshape": {"shape": [1, 3, -1]}}]}
    assert declared_mismatches(reshaped, [NCHW], [OUT]) == []


def test_declared_tensors_that_contradict_the_model_are_named() -> None:
    config = {
        "max_batch_size": 8,
        "input": [
            {"name": "x", "data_type": "TYPE_INT32", "dims": [3, 5]},
            {"name": "z", "data_type": "TYPE_FP32", "dims": [1]},
        ],
        "output": [{"name": "y", "dims": [1, 10]}],
    }
    assert declared_mismatches(config, [NCHW], [OUT]) == [
        "input 'x': config.pbtxt says TYPE_INT32, the model serves TYPE_FP32",
        "input 'x': config.pbtxt says dims [3, 5], the model serves [3, -1] "
        "(batch excluded: max_batch_size > 0)",
        "config.pbtxt declares input 'z', which the model does not have (it has ['x'])",
        "output 'y': config.pbtxt says dims [1, 10], the model serves [10] "
        "(batch excluded: max_batch_size > 0)",
    ]
