"""Hiding latency with asyncio and with start_async, over HTTP and gRPC."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import numpy as np
import pytest

import ovtriton_client as ovc
from ovtriton_client._runner import Runner

pytestmark = pytest.mark.functional
REQUESTS = 100


# Each test runs once per protocol, on the session's example server.


def distinct_inputs(count: int, batch: int = 1) -> list[np.ndarray]:
    """Inputs that differ in every element, so a swapped result cannot go unnoticed."""
    rng = np.random.default_rng(count)
    return [rng.random((batch, 16), np.float32) + i for i in range(count)]


class PeakCounter:
    """Wraps a function, counting how many calls run at once."""

    def __init__(self) -> None:
        self.now = self.peak = 0
        self._lock = threading.Lock()

    def enter(self) -> None:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        with self._lock:
            self.now -= 1


def test_asyncio_concurrent_requests_match_their_inputs(url: str) -> None:
    inputs = distinct_inputs(REQUESTS)

    async def scenario() -> list[ovc.InferResult]:
        async with ovc.AsyncClient(url) as client:
            await client.wait_until_ready(10, models=["add_one"])
            model = await client.model("add_one")
            return await asyncio.gather(*(model({"x": x}) for x in inputs))

    results = asyncio.run(scenario())
    for x, result in zip(inputs, results, strict=True):
        np.testing.assert_array_equal(result["y"], x + 1)


def test_asyncio_bounds_in_flight_requests_and_selects_outputs(url: str) -> None:
    counter = PeakCounter()

    async def scenario() -> list[ovc.InferResult]:
        async with ovc.AsyncClient(url) as client:
            model = await client.model("two_io", max_in_flight=3)
            transport = model._transport
            infer = transport.infer

            async def counted(*args: Any) -> Any:
                counter.enter()
                try:
                    return await infer(*args)
                finally:
                    counter.leave()

            transport.infer = counted  # type: ignore[method-assign, assignment]
            calls = [
                model(
                    {"a": np.full((1, 4), i, np.float32), "b": np.ones((1, 4), np.float32)},
                    outputs=["sum"],
                )
                for i in range(30)
            ]
            return await asyncio.gather(*calls)

    results = asyncio.run(scenario())
    assert 1 < counter.peak <= 3
    for i, result in enumerate(results):
        assert list(result) == ["sum"]
        np.testing.assert_array_equal(result["sum"], np.full((1, 4), i + 1, np.float32))


def test_start_async_results_match_their_inputs(client: ovc.Client) -> None:
    model = client.model("add_one", max_in_flight=8)
    inputs = distinct_inputs(REQUESTS, batch=2)
    futures = [model.start_async({"x": x}) for x in inputs]
    for x, future in zip(inputs, futures, strict=True):
        np.testing.assert_array_equal(future.result(30)["y"], x + 1)


def test_start_async_hides_latency_and_bounds_in_flight(
    client: ovc.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = PeakCounter()
    infer = client._transport.infer

    def counted(*args: Any, **kwargs: Any) -> Any:
        counter.enter()
        try:
            return infer(*args, **kwargs)
        finally:
            counter.leave()

    model = client.model("resnet50", max_in_flight=2)
    image = np.random.default_rng(0).random((1, 3, 224, 224), np.float32)
    expected = model(image)["gpu_0/softmax_1"]
    monkeypatch.setattr(client._transport, "infer", counted)
    first = model.start_async(image)
    assert not first.done()  # control is back while the server computes
    futures = [first] + [model.start_async(image, share_inputs=True) for _ in range(5)]
    model.wait_all(60)
    assert all(f.done() for f in futures)
    assert 1 <= counter.peak <= 2
    for future in futures:
        np.testing.assert_allclose(future.result()["gpu_0/softmax_1"], expected, rtol=1e-5)


def test_start_async_copies_inputs_unless_shared(
    client: ovc.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    received: list[np.ndarray] = []
    run = Runner.run

    def spy(self: Runner, arrays: dict[str, np.ndarray], *args: Any, **kwargs: Any) -> Any:
        received.append(arrays["x"])
        return run(self, arrays, *args, **kwargs)

    monkeypatch.setattr(Runner, "run", spy)
    model = client.model("add_one")
    x = np.full((1, 16), 5, np.float32)
    futures = [model.start_async(x), model.start_async(x, share_inputs=True)]
    for future in futures:
        np.testing.assert_array_equal(future.result(30)["y"], 6)
    # The default hands the worker a private copy (the caller may refill x at once);
    # share_inputs hands over x itself.
    assert sorted(array is x for array in received) == [False, True]
    assert sum(np.shares_memory(array, x) for array in received) == 1


def test_start_async_errors(client: ovc.Client) -> None:
    model = client.model("add_one")
    with pytest.raises(ovc.InvalidInputError):  # raised at once, not inside the future
        model.start_async(np.zeros((1, 3), np.float32))
    # A tiny model can answer before a 1 us gRPC deadline fires on a loaded machine;
    # a batch of 8 on ResNet-50 takes far longer than 1 ms, so the timeout is certain.
    slow = client.model("resnet50")
    future = slow.start_async(np.zeros((8, 3, 224, 224), np.float32), timeout=0.001)
    with pytest.raises(ovc.RequestTimeoutError):
        future.result(60)
    slow.close()
    model.close()
    with pytest.raises(ovc.OvTritonError, match="closed"):
        model.start_async(np.zeros((1, 16), np.float32))
