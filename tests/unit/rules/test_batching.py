"""Request checks and batch planning (pure logic)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ovtriton.errors import RequestError
from ovtriton.rules.batching import Run, check_request, plan_runs
from ovtriton.rules.datatypes import kserve_name
from ovtriton.rules.dims import Dim
from ovtriton.rules.tensors import TensorInfo

IMAGE = TensorInfo("x", "TYPE_FP32", (Dim.fixed(1), Dim.fixed(3), Dim(1, 5)), batch_index=0)


def test_kserve_names() -> None:
    assert [kserve_name(np.dtype(t)) for t in (np.float32, np.uint8, np.bool_, np.int64)] == [
        "FP32",
        "UINT8",
        "BOOL",
        "INT64",
    ]


def test_valid_request_passes() -> None:
    check_request([IMAGE], {"x": np.zeros((1, 3, 4), np.float32)}, batched=False)


@pytest.mark.parametrize(
    ("array", "batched", "message"),
    [
        (
            np.zeros((1, 3, 4), np.uint8),
            False,
            "Invalid input precision - Expected: FP32; Actual: UINT8; input name: x",
        ),
        (
            np.zeros((1, 3), np.float32),
            False,
            "Invalid number of shape dimensions - Expected: (1,3,[1~5]); Actual: (1,3); "
            "input name: x",
        ),
        (
            np.zeros((2, 3, 4), np.float32),
            False,
            "Invalid input batch size - Expected: 1; Actual: 2; input name: x",
        ),
        (
            np.zeros((1, 3, 6), np.float32),
            False,
            "Invalid input shape - Expected: (1,3,[1~5]); Actual: (1,3,6); input name: x",
        ),
        (
            np.zeros((1, 3, 6), np.float32),
            True,
            "Invalid input shape - Expected: (1,3,[1~5]); Actual: (1,3,6); input name: x",
        ),
    ],
)
def test_bad_requests_get_ovms_messages(array: np.ndarray, batched: bool, message: str) -> None:
    with pytest.raises(RequestError) as error:
        check_request([IMAGE], {"x": array}, batched)
    assert str(error.value) == message


def test_fixed_batch_is_not_enforced_under_triton_batching() -> None:
    check_request([IMAGE], {"x": np.zeros((7, 3, 2), np.float32)}, batched=True)


def test_range_batch_is_enforced_under_triton_batching() -> None:
    ranged = TensorInfo("x", "TYPE_FP32", (Dim(1, 4), Dim.fixed(3)), batch_index=0)
    with pytest.raises(
        RequestError, match=r"Invalid input batch size - Expected: \[1~4\]; Actual: 5"
    ):
        check_request([ranged], {"x": np.zeros((5, 3), np.float32)}, batched=True)


def test_batch_at_position_one() -> None:
    cn = TensorInfo("x", "TYPE_FP32", (Dim.fixed(3), Dim(1, 2)), batch_index=1)
    with pytest.raises(RequestError, match=r"batch size - Expected: \[1~2\]; Actual: 3"):
        check_request([cn], {"x": np.zeros((3, 3), np.float32)}, batched=False)


def test_missing_and_extra_inputs() -> None:
    with pytest.raises(RequestError, match="Missing input"):
        check_request([IMAGE], {}, batched=False)
    with pytest.raises(RequestError, match="Unexpected input name"):
        check_request(
            [IMAGE],
            {"x": np.zeros((1, 3, 4), np.float32), "y": np.zeros(1, np.float32)},
            batched=False,
        )


def test_auto_shapes_accept_anything_of_the_rank() -> None:
    auto = TensorInfo("x", "TYPE_FP32", (Dim.fixed(1), Dim.fixed(3)), 0, shape_auto=True)
    check_request([auto], {"x": np.zeros((9, 17), np.float32)}, batched=False)


def test_scalars_are_served_as_one_element() -> None:
    scalar = TensorInfo("s", "TYPE_INT64", (), None)
    assert scalar.served_shape == (Dim.fixed(1),)
    check_request([scalar], {"s": np.zeros(1, np.int64)}, batched=False)


def test_plan_fixed_batch_pads_and_splits() -> None:
    assert plan_runs(5, Dim.fixed(2)) == [Run(0, 2, 2), Run(2, 4, 2), Run(4, 5, 2)]
    assert plan_runs(3, Dim.fixed(8)) == [Run(0, 3, 8)]


def test_plan_dynamic_batch_spreads_over_streams() -> None:
    assert plan_runs(4, Dim.any(), parallelism=2) == [Run(0, 2, 2), Run(2, 4, 2)]
    assert plan_runs(1, Dim.any(), parallelism=4) == [Run(0, 1, 1)]


def test_plan_range_splits_above_and_pads_below() -> None:
    assert plan_runs(6, Dim(1, 4)) == [Run(0, 4, 4), Run(4, 6, 2)]
    assert plan_runs(1, Dim(2, 4)) == [Run(0, 1, 2)]


@given(
    total=st.integers(0, 200),
    lower=st.integers(0, 8),
    span=st.one_of(st.none(), st.integers(0, 16)),
    parallelism=st.integers(1, 8),
)
def test_runs_cover_every_row_once_within_the_dimension(
    total: int, lower: int, span: int | None, parallelism: int
) -> None:
    upper = None if span is None else max(lower, 1) + span
    dim = Dim(lower, upper)
    runs = plan_runs(total, dim, parallelism)
    covered = [row for run in runs for row in range(run.start, run.stop)]
    assert covered == list(range(total))
    for run in runs:
        assert run.padding >= 0
        assert dim.contains(run.size) or (dim.is_static and run.size == max(dim.lower, 1))
