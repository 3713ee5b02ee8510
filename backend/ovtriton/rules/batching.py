"""Request checking and batch planning: what runs, in which pieces.

Pure logic over shapes (NumPy only for dtype names). The engine asks two things:
is this request servable (else an OVMS-style message), and how to cut a combined
batch into runs the compiled model takes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ovtriton.errors import RequestError
from ovtriton.rules.datatypes import config_kserve_name, kserve_name
from ovtriton.rules.dims import Dim, format_shape, shape_accepts
from ovtriton.rules.tensors import TensorInfo


def check_request(
    tensors: Sequence[TensorInfo], arrays: Mapping[str, np.ndarray], batched: bool
) -> None:
    """Check one request's inputs against the served tensors.

    Args:
        tensors: The served inputs.
        arrays: Input name to the request's array (batch first when ``batched``).
        batched: Triton batching is on: a fixed batch dimension is padded or split
            rather than enforced.

    Raises:
        RequestError: With OVMS's status text and details, naming the input.
    """
    for tensor in tensors:
        if tensor.name not in arrays:
            raise RequestError(f"Missing input with specific name - Required input: {tensor.name}")
        array = arrays[tensor.name]
        _check_precision(tensor, array)
        _check_shape(tensor, tuple(array.shape), batched)
    extra = sorted(set(arrays) - {t.name for t in tensors})
    if extra:
        raise RequestError(
            f"Unexpected input name - Expected: {sorted(t.name for t in tensors)}; Actual: {extra}"
        )


def _check_precision(tensor: TensorInfo, array: np.ndarray) -> None:
    expected = config_kserve_name(tensor.config_type)
    actual = kserve_name(array.dtype)
    if expected != actual:
        raise RequestError(
            f"Invalid input precision - Expected: {expected}; Actual: {actual}; "
            f"input name: {tensor.name}"
        )


def _check_shape(tensor: TensorInfo, actual: tuple[int, ...], batched: bool) -> None:
    expected = tensor.served_shape
    if len(actual) != len(expected):
        raise RequestError(
            f"Invalid number of shape dimensions - Expected: {format_shape(expected)}; "
            f"Actual: {format_shape(actual)}; input name: {tensor.name}"
        )
    batch_index = tensor.batch_index
    if batch_index is not None:
        batch_dim = expected[batch_index]
        # Under Triton batching a fixed batch is padded / split, so only ranges bind.
        binding = not (batched and batch_dim.is_static)
        if binding and not batch_dim.contains(actual[batch_index]):
            raise RequestError(
                f"Invalid input batch size - Expected: {batch_dim}; "
                f"Actual: {actual[batch_index]}; input name: {tensor.name}"
            )
        expected = (*expected[:batch_index], Dim.any(), *expected[batch_index + 1 :])
    if not shape_accepts(expected, actual):
        raise RequestError(
            f"Invalid input shape - Expected: {format_shape(tensor.served_shape)}; "
            f"Actual: {format_shape(actual)}; input name: {tensor.name}"
        )


@dataclass(frozen=True)
class Run:
    """Rows ``[start, stop)`` of a combined batch, run as a batch of ``size``.

    ``size > stop - start`` means the run is padded (fixed-batch models).
    """

    start: int
    stop: int
    size: int

    @property
    def padding(self) -> int:
        """Rows added to fill the run up to its compiled size."""
        return self.size - (self.stop - self.start)


def plan_runs(total: int, batch: Dim, parallelism: int = 1) -> list[Run]:
    """Cut a combined batch of ``total`` rows into runs the model can take.

    Args:
        total: Rows in the combined batch (sum of the requests' batches).
        batch: The compiled model's batch dimension.
        parallelism: How many runs may execute at once; a dynamic batch is cut
            into that many even runs so every OpenVINO stream gets work.

    Returns:
        Runs covering ``[0, total)`` in order. A fixed batch N gives runs of N, the
        last padded; a range gives runs within it, the last padded up to its lower
        bound if needed.
    """
    if total <= 0:
        return []
    if batch.is_static:
        step = max(batch.lower, 1)
        return [Run(start, min(start + step, total), step) for start in range(0, total, step)]
    pieces = max(1, min(parallelism, total))
    step = -(-total // pieces)
    if batch.upper is not None:
        step = min(step, batch.upper)
    runs = []
    for start in range(0, total, step):
        stop = min(start + step, total)
        runs.append(Run(start, stop, max(stop - start, batch.lower)))
    return runs
