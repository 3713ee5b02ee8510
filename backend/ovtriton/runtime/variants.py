"""Compiled models and the bounded cache of reshaped variants.

OVMS reloads the whole model, blocking, whenever ``auto`` meets a new shape.
ovtriton keeps each compiled shape in an LRU cache instead, so alternating shapes
pay a compile only the first time.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence

import numpy as np
import openvino as ov

Inputs = Mapping[str, np.ndarray]
Outputs = dict[str, np.ndarray]


class CompiledVariant:
    """One compiled model with reusable infer requests.

    A single run goes through one reused synchronous request (least overhead); several
    runs go through an ``AsyncInferQueue`` of ``nireq`` requests so every OpenVINO
    stream is busy.
    """

    def __init__(self, compiled: ov.CompiledModel, nireq: int | None) -> None:
        self.compiled = compiled
        self.nireq = nireq or int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        self._request = compiled.create_infer_request()
        self._queue: ov.AsyncInferQueue | None = None

    def run(self, runs: Sequence[Inputs], outputs: Sequence[str]) -> list[Outputs]:
        """Infer each run's inputs; return the named outputs of each.

        Inputs are passed with ``share_inputs=True`` (no copy). A single run returns
        views of the request's output memory, valid until the next call; several runs
        return copies, since queued requests are reused within the call.
        """
        if len(runs) == 1:
            self._request.infer(runs[0], share_inputs=True)
            return [{name: self._request.get_tensor(name).data for name in outputs}]
        if self._queue is None:
            self._queue = ov.AsyncInferQueue(self.compiled, self.nireq)
        results: list[Outputs | BaseException] = [RuntimeError("run did not finish")] * len(runs)

        def collect(request: ov.InferRequest, index: int) -> None:
            try:
                results[index] = {name: request.get_tensor(name).data.copy() for name in outputs}
            except BaseException as error:  # surfaced below, on the calling thread
                results[index] = error

        self._queue.set_callback(collect)
        for index, inputs in enumerate(runs):
            self._queue.start_async(inputs, index, share_inputs=True)
        self._queue.wait_all()
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return results  # type: ignore[return-value]


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

    def put(self, key: Hashable, variant: CompiledVariant) -> None:
        self._variants[key] = variant
        self._variants.move_to_end(key)
        while len(self._variants) > self._capacity:
            evicted, _ = self._variants.popitem(last=False)
            self._on_event("evict", evicted, 0.0)

    def get(self, key: Hashable) -> CompiledVariant:
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
