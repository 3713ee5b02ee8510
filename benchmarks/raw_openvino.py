"""Raw OpenVINO throughput: the physical limit a served model is measured against.

The same model file, in this process, at OpenVINO's best hint for the load: for
one request at a time ``LATENCY`` with one synchronous request run back to back
(:func:`for_concurrency` with 1); for more, ``THROUGHPUT`` with an
``AsyncInferQueue`` of ``OPTIMAL_NUMBER_OF_INFER_REQUESTS`` requests kept full.
Batch-1 requests, over a fixed time window after a warm-up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openvino as ov

from benchmarks import machine
from benchmarks.machine import self_seconds

DEFAULT_HINT = "THROUGHPUT"


@dataclass(frozen=True)
class RawResult:
    """Completed inferences per second, the queue size that got them, and their CPU cost."""

    throughput: float
    nireq: int
    completed: int
    seconds: float
    cpu_seconds: float = 0.0

    @property
    def cpu_ms_per_inference(self) -> float:
        """CPU milliseconds per completed inference."""
        return self.cpu_seconds * 1e3 / self.completed if self.completed else 0.0


def random_inputs(model: ov.CompiledModel, seed: int = 0) -> dict[str, np.ndarray]:
    """One random batch-1 input per model input (static shapes only)."""
    rng = np.random.default_rng(seed)
    inputs = {}
    for port in model.inputs:
        shape = [d.get_length() for d in port.get_partial_shape()]
        dtype = port.get_element_type().to_dtype()
        inputs[port.get_any_name()] = rng.random(shape).astype(dtype)
    return inputs


class RawOpenVINO:
    """A model compiled once, measured as often as needed.

    Args:
        model_path: A file ``openvino.Core.read_model`` reads (static shapes).
        hint: ``PERFORMANCE_HINT`` to compile with.
        device: OpenVINO device.
        core: Core to use (default: a new one).
        synchronous: Run one synchronous request back to back instead of a full
            ``AsyncInferQueue`` (what one client at a time gets at best).
        properties: More OpenVINO properties (the precision the other sides use).
    """

    def __init__(
        self,
        model_path: Path,
        hint: str = DEFAULT_HINT,
        device: str = "CPU",
        core: ov.Core | None = None,
        synchronous: bool = False,
        properties: Mapping[str, str] | None = None,
    ) -> None:
        core = core or ov.Core()
        self._compiled = core.compile_model(
            str(model_path), device, {**(properties or {}), "PERFORMANCE_HINT": hint}
        )
        self.synchronous = synchronous
        self.nireq = (
            1
            if synchronous
            else int(self._compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        )
        self._request = self._compiled.create_infer_request()
        self._queue = ov.AsyncInferQueue(self._compiled, self.nireq)
        self._inputs = random_inputs(self._compiled)
        self._completed = 0
        self._lock = threading.Lock()
        self._queue.set_callback(self._count)

    def _count(self, _request: ov.InferRequest, _userdata: object) -> None:
        with self._lock:
            self._completed += 1

    def _completions(self) -> int:
        with self._lock:
            return self._completed

    def _keep_full(self, until: float) -> None:
        if self.synchronous:
            while time.perf_counter() < until:
                self._request.infer(self._inputs, share_inputs=True)
                self._count(self._request, None)
            return
        # start_async blocks while every request is busy, so the queue never drains.
        while time.perf_counter() < until:
            self._queue.start_async(self._inputs, share_inputs=True)

    def measure(self, seconds: float = 3.0, warmup: float = 1.0) -> RawResult:
        """Completed inferences per second over ``seconds``, after ``warmup`` uncounted."""
        self._keep_full(time.perf_counter() + warmup)
        before, cpu = self._completions(), self_seconds()
        started = time.perf_counter()
        self._keep_full(started + seconds)
        after = self._completions()
        elapsed = time.perf_counter() - started
        cpu = self_seconds() - cpu
        self._queue.wait_all()
        return RawResult((after - before) / elapsed, self.nireq, after - before, elapsed, cpu)


def for_concurrency(model_path: Path, concurrency: int) -> RawOpenVINO:
    """Raw OpenVINO at its best hint for ``concurrency`` requests in flight."""
    precision = machine.precision_properties()
    if concurrency == 1:
        return RawOpenVINO(model_path, "LATENCY", synchronous=True, properties=precision)
    return RawOpenVINO(model_path, "THROUGHPUT", properties=precision)
