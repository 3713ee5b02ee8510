"""Compiled models and the bounded cache of reshaped variants.

OVMS reloads the whole model, blocking, whenever ``auto`` meets a new shape.
ovtriton keeps each compiled shape in an LRU cache instead, so alternating shapes
pay a compile only the first time.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Protocol

import numpy as np
import openvino as ov

_LOG = logging.getLogger(__name__)
Inputs = Mapping[str, np.ndarray]
Outputs = dict[str, np.ndarray]


class RunSink(Protocol):
    """Told when a run started with :meth:`CompiledVariant.start` has finished."""

    def run_finished(self, index: int, result: Outputs | Exception) -> None:
        """Run ``index`` gave ``result`` (its outputs, or the error it raised)."""


_Job = tuple[Inputs, Sequence[str], RunSink, int]


class CompiledVariant:
    """One compiled model with reusable infer requests.

    :meth:`infer` runs on one reused synchronous request (least overhead: the
    ``inline`` mode). :meth:`start` hands a run to one of ``nireq`` worker threads,
    each with its own infer request, and returns (the ``pipelined`` mode), so
    ``execute`` can take Triton's next requests while OpenVINO works. Workers call
    the request's blocking ``infer``, which releases the GIL. Not OpenVINO's
    ``AsyncInferQueue``: its callback never fires for a failed inference, while here
    every run ends in exactly one ``run_finished`` call, error or not.
    """

    def __init__(self, compiled: ov.CompiledModel, nireq: int | None) -> None:
        self.compiled = compiled
        self.nireq = nireq or int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        self._request = compiled.create_infer_request()
        # Bounded: when every worker is busy and nireq runs wait, start() blocks.
        self._jobs: queue.Queue[_Job | None] = queue.Queue(maxsize=self.nireq)
        self._workers: list[threading.Thread] = []

    def infer(self, inputs: Inputs, outputs: Sequence[str]) -> Outputs:
        """Run now; return views of the request's output memory, valid until the next call.

        Inputs are shared with OpenVINO, never copied.
        """
        request = self._request
        if all(_shareable(array) for array in inputs.values()):
            # What infer(share_inputs=True) does, without its per-call type dispatch:
            # about a third of OpenVINO's Python overhead on a tiny model.
            for name, array in inputs.items():
                request.set_tensor(name, ov.Tensor(array, shared_memory=True))
            request.infer()
        else:
            request.infer(inputs, share_inputs=True)
        return {name: _output_array(request.get_tensor(name)) for name in outputs}

    def start(self, inputs: Inputs, outputs: Sequence[str], sink: RunSink, index: int) -> None:
        """Queue one run; ``sink.run_finished(index, ...)`` gets its outputs (copies) or error.

        Inputs are copied first, since they may live in Triton's request memory,
        which is not the backend's once ``execute`` returns. ``sink`` is called on a
        worker thread.
        """
        if not self._workers:
            self._workers = [
                threading.Thread(target=self._work, name=f"ovtriton-infer-{i}", daemon=True)
                for i in range(self.nireq)
            ]
            for worker in self._workers:
                worker.start()
        owned = {name: np.array(array, copy=True) for name, array in inputs.items()}
        self._jobs.put((owned, outputs, sink, index))

    def wait(self) -> None:
        """Block until every queued run has finished and reported."""
        self._jobs.join()

    def close(self) -> None:
        """Finish the queued runs, then stop the workers."""
        for _ in self._workers:
            self._jobs.put(None)
        for worker in self._workers:
            worker.join()
        self._workers = []

    def _work(self) -> None:
        request = self.compiled.create_infer_request()
        while (job := self._jobs.get()) is not None:
            inputs, outputs, sink, index = job
            result: Outputs | Exception
            try:
                request.infer(inputs, share_inputs=True)
                # Copies: this request runs the next job as soon as we return.
                result = {name: _output_array(request.get_tensor(name)).copy() for name in outputs}
            except Exception as error:
                result = error
            try:
                sink.run_finished(index, result)
            except Exception:  # the sink answers its own failures; never lose the worker
                _LOG.exception("ovtriton: a finished run could not be reported")
            finally:
                self._jobs.task_done()
        self._jobs.task_done()


class VariantCache:
    """LRU cache of compiled variants keyed by input shapes.

    Args:
        compile_variant: Builds the variant for a key (reshape + compile).
        capacity: Most variants kept; the least recently used is dropped first.
        on_event: Told ``("compile", key, seconds)``, ``("hit", key, 0)`` and
            ``("evict", key, 0)``, for logs and metrics.
    """

    def __init__(
        self,
        compile_variant: Callable[[Hashable], CompiledVariant],
        capacity: int,
        on_event: Callable[[str, Hashable, float], None] = lambda *_: None,
    ) -> None:
        self._compile = compile_variant
        self._capacity = max(1, capacity)
        self._on_event = on_event
        self._variants: OrderedDict[Hashable, CompiledVariant] = OrderedDict()
        self.compiles = 0
        self.hits = 0

    def __len__(self) -> int:
        return len(self._variants)

    def variants(self) -> list[CompiledVariant]:
        """The cached variants, least recently used first."""
        return list(self._variants.values())

    def put(self, key: Hashable, variant: CompiledVariant) -> None:
        """Keep ``variant`` under ``key`` as the newest, evicting the least recently used."""
        self._variants[key] = variant
        self._variants.move_to_end(key)
        while len(self._variants) > self._capacity:
            evicted, dropped = self._variants.popitem(last=False)
            dropped.close()  # its queued runs finish before the compiled model goes
            self._on_event("evict", evicted, 0.0)

    def get(self, key: Hashable) -> CompiledVariant:
        """The variant for ``key``, compiling it (and evicting the oldest) if needed."""
        variant = self._variants.get(key)
        if variant is not None:
            self.hits += 1
            self._variants.move_to_end(key)
            self._on_event("hit", key, 0.0)
            return variant
        started = time.perf_counter()
        variant = self._compile(key)
        self.compiles += 1
        self._on_event("compile", key, time.perf_counter() - started)
        self.put(key, variant)
        return variant


def _shareable(array: np.ndarray) -> bool:
    """An array an ``ov.Tensor`` can wrap in place: numeric, C-contiguous, writeable."""
    return array.dtype.kind in "biuf" and array.flags.c_contiguous and array.flags.writeable


def _output_array(tensor: ov.Tensor) -> np.ndarray:
    """The tensor's data: a view for numbers, an object array of bytes for strings.

    An object array is how Triton's Python backend takes a BYTES tensor.
    """
    if tensor.element_type == ov.Type.string:
        return tensor.bytes_data.astype(np.object_)
    return tensor.data
