"""Client-side timing: the ovtriton SDK against raw tritonclient, shm against plain.

A *call* is a function that sends one request and returns the outputs as numpy
arrays. :func:`interleave` times several calls in alternating slices, so slow
drifts of a shared machine hit each of them alike.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tritonclient.grpc
import tritonclient.http
from tritonclient.utils import np_to_triton_dtype

Call = Callable[[], Mapping[str, np.ndarray]]


@dataclass
class Timing:
    """Latencies (seconds) of calls made within ``seconds`` of wall time."""

    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def throughput(self) -> float:
        """Requests per second."""
        return len(self.latencies) / self.seconds if self.seconds > 0 else 0.0

    @property
    def median_ms(self) -> float:
        """Median latency in milliseconds."""
        return statistics.median(self.latencies) * 1000 if self.latencies else float("nan")

    def add(self, other: Timing) -> None:
        """Merge another slice's timings into this one."""
        self.latencies += other.latencies
        self.seconds += other.seconds


def time_calls(call: Call, seconds: float, min_calls: int = 3) -> Timing:
    """Call ``call`` back to back for ``seconds`` (at least ``min_calls`` times)."""
    timing = Timing()
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        before = time.perf_counter()
        call()
        after = time.perf_counter()
        timing.latencies.append(after - before)
        if after >= deadline and len(timing.latencies) >= min_calls:
            break
    timing.seconds = time.perf_counter() - started
    return timing


def interleave(calls: Mapping[str, Call], seconds: float, rounds: int = 8) -> dict[str, Timing]:
    """Time each call for ``seconds`` in all, in ``rounds`` alternating slices.

    Each call is made once first, untimed (connections, regions, first compile).
    The order of the slices reverses every round, so neither call always goes first.
    """
    for call in calls.values():
        call()
    timings = {name: Timing() for name in calls}
    names = list(calls)
    for round_ in range(rounds):
        for name in names if round_ % 2 == 0 else reversed(names):
            timings[name].add(time_calls(calls[name], seconds / rounds))
    return timings


def raw_tritonclient_call(
    protocol: str, url: str, model: str, inputs: Mapping[str, np.ndarray], outputs: Sequence[str]
) -> tuple[Call, Callable[[], None]]:
    """A call made the way tritonclient's own examples make it, and its closer.

    ``InferInput`` and ``InferRequestedOutput`` (binary on HTTP) are made once and
    reused, as the SDK's model handle reuses its own; per request:
    ``set_data_from_numpy``, ``infer``, ``as_numpy``.
    """
    module: Any = tritonclient.http if protocol == "http" else tritonclient.grpc
    client = module.InferenceServerClient(url)
    request = [
        module.InferInput(name, list(array.shape), np_to_triton_dtype(array.dtype))
        for name, array in inputs.items()
    ]
    wanted = [module.InferRequestedOutput(name) for name in outputs]

    def call() -> dict[str, np.ndarray]:
        for tensor, array in zip(request, inputs.values(), strict=True):
            tensor.set_data_from_numpy(array)
        result = client.infer(model, request, outputs=wanted)
        return {name: result.as_numpy(name) for name in outputs}

    return call, client.close


def sdk_call(
    protocol: str,
    url: str,
    model: str,
    inputs: Mapping[str, np.ndarray],
    shared_memory: bool = False,
) -> tuple[Call, Callable[[], None]]:
    """A call through the client SDK's model handle (its defaults), and its closer."""
    import ovtriton_client

    client = ovtriton_client.Client(url, protocol=protocol)
    handle = client.model(model, shared_memory=shared_memory)

    def call() -> Mapping[str, np.ndarray]:
        return handle(inputs)

    return call, client.close
