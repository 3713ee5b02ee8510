"""The blocking client and model handles on the real server, over HTTP and gRPC."""

from __future__ import annotations

import re

import numpy as np
import pytest

import ovtriton_client as ovc
from tests.functional.clients import infer
from tests.functional.serving import Serve

pytestmark = pytest.mark.functional
RNG = np.random.default_rng(4)


# Each test runs once per protocol, on the session's example server.


def test_protocol_follows_the_url(client: ovc.Client, protocol: str) -> None:
    assert client.protocol == protocol
    assert client.is_live() and client.is_ready() and client.is_model_ready("add_one")
    client.wait_until_ready(10, models=["add_one", "two_io"])


def test_client_infer_returns_outputs_by_name(client: ovc.Client) -> None:
    a, b = RNG.random((2, 4), np.float32), RNG.random((2, 4), np.float32)
    result = client.infer("two_io", {"a": a, "b": b})
    assert set(result) == {"sum", "product"}
    np.testing.assert_allclose(result["sum"], a + b, rtol=1e-6)
    np.testing.assert_allclose(result["product"], a * b, rtol=1e-6)


def test_model_handle_is_callable_and_reports_its_tensors(client: ovc.Client) -> None:
    model = client.model("add_one")
    assert [str(t) for t in model.inputs] == ["x FP32 [-1,16]"]
    assert [str(t) for t in model.outputs] == ["y FP32 [-1,16]"]
    assert model.spec.max_batch_size == 32
    for batch in (1, 3, 32):
        x = RNG.random((batch, 16), np.float32)
        np.testing.assert_array_equal(model(x)["y"], x + 1)  # one array for one input
    two = client.model("two_io")
    a, b = np.ones((1, 4), np.float32), np.full((1, 4), 2, np.float32)
    np.testing.assert_array_equal(two([a, b])["product"], a * b)  # positional, in input order
    np.testing.assert_array_equal(two.infer({"a": [[1, 2, 3, 4]], "b": b})["sum"], [[3, 4, 5, 6]])


def test_handle_reuses_its_request_objects(
    client: ovc.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    dialect = client._transport.dialect
    made: list[str] = []
    original = dialect.infer_input

    def counting(name: str, shape: list[int], datatype: str) -> object:
        made.append(name)
        return original(name, shape, datatype)

    monkeypatch.setattr(dialect, "infer_input", counting)
    model = client.model("add_one")
    for batch in (1, 4, 2):
        model(np.zeros((batch, 16), np.float32))
    assert made == ["x"]  # made with the handle, then only reshaped and refilled


@pytest.mark.parametrize(
    ("name", "inputs"),
    [
        ("classifier", {"image": (2, 3, 224, 224)}),
        ("resnet50", {"gpu_0/data_0": (1, 3, 224, 224)}),
        ("dynamic_sequence", {"tokens": (2, 7, 8)}),
    ],
)
def test_results_equal_plain_tritonclient(
    client: ovc.Client,
    protocol: str,
    example_server: Serve,
    name: str,
    inputs: dict[str, tuple[int, ...]],
) -> None:
    arrays = {key: RNG.random(shape, np.float32) for key, shape in inputs.items()}
    ours = client.infer(name, arrays)
    theirs = infer(protocol, example_server, name, arrays)
    assert set(ours) == set(theirs)
    for output in theirs:
        np.testing.assert_array_equal(ours[output], theirs[output])


def test_postponed_return_transfers_only_requested_outputs(
    client: ovc.Client, protocol: str
) -> None:
    model = client.model("two_io")
    a, b = RNG.random((2, 4), np.float32), RNG.random((2, 4), np.float32)
    result = model({"a": a, "b": b}, outputs=["product"])
    response = result.raw.get_response()
    sent = (
        [o["name"] for o in response["outputs"]]
        if protocol == "http"
        else [o.name for o in response.outputs]
    )
    assert sent == ["product"] and list(result) == ["product"]
    np.testing.assert_allclose(result["product"], a * b, rtol=1e-6)
    with pytest.raises(ovc.OutputNotFoundError, match="'sum' is not in the response"):
        result["sum"]


def test_share_outputs_gives_views_and_default_gives_owned_copies(client: ovc.Client) -> None:
    model = client.model("add_one")
    x = np.zeros((2, 16), np.float32)
    copied = model(x)["y"]
    assert copied.flags.writeable and copied.flags.owndata
    shared = model(x, share_outputs=True)["y"]
    assert not shared.flags.owndata  # a view of the response buffer
    np.testing.assert_array_equal(shared, copied)


def test_validation_errors_are_raised_before_sending(client: ovc.Client) -> None:
    model = client.model("add_one")
    cases = {
        "has dtype float64; expected FP32": {"x": np.zeros((1, 16))},
        "has shape [1,15]; expected [-1,16]": {"x": np.zeros((1, 15), np.float32)},
        "unknown input 'y'": {"y": np.zeros((1, 16), np.float32)},
        "input 'x' is missing": {},
        "batch size 33 exceeds the model's max_batch_size 32": {
            "x": np.zeros((33, 16), np.float32)
        },
    }
    for message, inputs in cases.items():
        with pytest.raises(ovc.InvalidInputError, match=re.escape(message)) as raised:
            model(inputs)
        assert raised.value.status is None  # no server status: it never left the client
    with pytest.raises(ovc.InvalidInputError, match="unknown output 'z'; the outputs are y"):
        model(np.zeros((1, 16), np.float32), outputs=["z"])


def test_without_validation_the_server_message_comes_through(client: ovc.Client) -> None:
    model = client.model("add_one", validate=False)
    with pytest.raises(ovc.InvalidInputError) as raised:
        model({"x": np.zeros((1, 15), np.float32)})
    assert raised.value.status in ("400", "StatusCode.INVALID_ARGUMENT")
    assert "unexpected shape for input 'x'" in raised.value.message


def test_metadata_is_fetched_once_per_client(
    client: ovc.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.model("two_io")
    fetched: list[str] = []
    original = client._transport.model_spec

    def counting(model: str, version: str = "") -> ovc.ModelSpec:
        fetched.append(model)
        return original(model, version)

    monkeypatch.setattr(client._transport, "model_spec", counting)
    client.model("two_io")
    client.infer("two_io", {"a": np.ones((1, 4), np.float32), "b": np.ones((1, 4), np.float32)})
    assert fetched == []
