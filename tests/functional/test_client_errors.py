"""Typed errors carrying the server's message, timeouts, wait_until_ready."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import numpy as np
import openvino as ov
import pytest
from openvino import opset13 as ops

import ovtriton_client as ovc
from ovtriton_serve.examples import add_one
from tests.functional.clients import client, url_of
from tests.functional.serving import Serve, add_model, free_port

pytestmark = pytest.mark.functional
BATCH = np.zeros((8, 3, 224, 224), np.float32)  # slow enough on resnet50 to time out


def strict_reshape() -> ov.Model:
    """Accepts any length at the served shape, fails inside OpenVINO unless it is 4."""
    x = ops.parameter([1, -1], ov.Type.f32, name="x")
    x.output(0).get_tensor().set_names({"x"})
    y = ops.reshape(x, ops.constant(np.array([2, 2], np.int64)), False)
    y.output(0).get_tensor().set_names({"y"})
    return ov.Model([y.output(0)], [x], "strict_reshape")


@pytest.fixture(scope="module")
def explicit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    """Models loaded on demand: ``later`` is in the repository but not loaded."""
    repository = tmp_path_factory.mktemp("client_errors")
    add_model(repository, "add_one", add_one())
    add_model(repository, "later", add_one())
    add_model(repository, "strict_reshape", strict_reshape(), "max_batch_size: 0")
    extra = ["--model-control-mode=explicit", "--load-model=add_one", "--load-model=strict_reshape"]
    with Serve(repository, extra) as server:
        assert "ovtriton: server ready" in server.output, server.output[-3000:]
        yield server


# Each test taking it runs once per protocol.


def test_unreachable_server(protocol: str) -> None:
    nowhere = ovc.Client(f"{'grpc://' if protocol == 'grpc' else ''}127.0.0.1:{free_port()}")
    with pytest.raises(ovc.ServerUnreachableError) as raised:
        nowhere.is_live()
    assert isinstance(raised.value, ConnectionError)
    with pytest.raises(ovc.ServerUnreachableError):
        nowhere.model("add_one")
    with pytest.raises(ovc.RequestTimeoutError, match=r"not ready after 0\.5 s: .*(reach|connect)"):
        nowhere.wait_until_ready(0.5, interval=0.1)


def test_unknown_and_unloaded_models_are_not_ready(explicit_server: Serve, protocol: str) -> None:
    with ovc.Client(url_of(explicit_server, protocol)) as sdk:
        with pytest.raises(ovc.ModelNotReadyError, match="unknown model: 'nope'") as raised:
            sdk.model("nope")
        assert raised.value.model == "nope"
        with pytest.raises(ovc.ModelNotReadyError, match="'later'"):
            sdk.model("later")
        assert not sdk.is_model_ready("later")
        with pytest.raises(ovc.RequestTimeoutError, match="model 'later' is not ready"):
            sdk.wait_until_ready(0.3, models=["later"], interval=0.1)


def test_wait_until_ready_returns_once_the_model_loads(explicit_server: Serve) -> None:
    raw = client("http", explicit_server)
    with ovc.Client(explicit_server.http_url) as sdk:
        raw.load_model("later")
        try:
            sdk.wait_until_ready(30, models=["later"])
            model = sdk.model("later")
            np.testing.assert_array_equal(model(np.zeros((1, 16), np.float32))["y"], 1)
            raw.unload_model("later")
            with pytest.raises(ovc.ModelNotReadyError, match="'later'"):
                model(np.zeros((1, 16), np.float32))  # unloaded under a live handle
        finally:
            raw.unload_model("later")


def test_server_failure_is_a_server_error_with_its_message(
    explicit_server: Serve, protocol: str
) -> None:
    with ovc.Client(url_of(explicit_server, protocol)) as sdk:
        model = sdk.model("strict_reshape")
        with pytest.raises(ovc.ServerError, match="reshape") as raised:
            model(np.ones((1, 3), np.float32))
        assert raised.value.status in ("500", "StatusCode.INTERNAL")


def test_per_call_and_per_client_timeouts(example_server: Serve, protocol: str) -> None:
    url = url_of(example_server, protocol)
    with ovc.Client(url) as sdk:
        model = sdk.model("resnet50")
        with pytest.raises(ovc.RequestTimeoutError, match=r"timed out after 0\.001 s"):
            model(BATCH, timeout=0.001)
        # The client recovers from an interrupted call, and a call may be given longer.
        assert model(BATCH[:1], timeout=60)["gpu_0/softmax_1"].shape == (1, 1000)
    with ovc.Client(url, timeout=0.001) as hasty, pytest.raises(ovc.RequestTimeoutError):
        hasty.infer("resnet50", BATCH)


def test_async_errors_have_the_same_types(example_server: Serve, protocol: str) -> None:
    async def scenario() -> None:
        async with ovc.AsyncClient(url_of(example_server, protocol)) as sdk:
            with pytest.raises(ovc.ModelNotReadyError):
                await sdk.model("nope")
            model = await sdk.model("resnet50")
            with pytest.raises(ovc.RequestTimeoutError):
                await model(BATCH, timeout=0.001)
            with pytest.raises(ovc.InvalidInputError, match="expected FP32"):
                await model(BATCH.astype(np.float64))
        nowhere = f"{'grpc://' if protocol == 'grpc' else ''}127.0.0.1:{free_port()}"
        async with ovc.AsyncClient(nowhere) as sdk:
            with pytest.raises(ovc.ServerUnreachableError):
                await sdk.is_live()
            with pytest.raises(ovc.RequestTimeoutError, match="not ready after"):
                await sdk.wait_until_ready(0.3, interval=0.1)

    asyncio.run(scenario())


def test_closed_client_refuses_calls(example_server: Serve) -> None:
    sdk = ovc.Client(example_server.http_url)
    model = sdk.model("add_one")
    sdk.close()
    with pytest.raises(ovc.OvTritonError, match="closed"):
        model(np.zeros((1, 16), np.float32))
    with pytest.raises(ovc.OvTritonError, match="closed"):
        sdk.is_live()
