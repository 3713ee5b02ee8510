"""Choosing the protocol from a URL, and reading each protocol's answers."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ovtriton_client import InvalidInputError, RegionStatus
from ovtriton_client._protocol import GRPC, HTTP, Dialect, Endpoint, parse_url


@pytest.mark.parametrize(
    ("url", "protocol", "expected"),
    [
        ("localhost:8000", None, Endpoint("http", "localhost:8000")),
        ("localhost:8001", "grpc", Endpoint("grpc", "localhost:8001")),
        ("http://h:8000/", None, Endpoint("http", "h:8000")),
        ("https://h:443/base", None, Endpoint("http", "h:443/base", ssl=True)),
        ("grpc://h:8001", None, Endpoint("grpc", "h:8001")),
        ("GRPCS://h:8001", "grpc", Endpoint("grpc", "h:8001", ssl=True)),
    ],
)
def test_parse_url(url: str, protocol: str | None, expected: Endpoint) -> None:
    assert parse_url(url, protocol) == expected


@pytest.mark.parametrize(
    ("url", "protocol", "message"),
    [
        ("ftp://h:1", None, "unsupported URL scheme 'ftp'"),
        ("grpc://h:1", "http", "is grpc, but protocol='http'"),
        ("h:1", "rest", "protocol must be 'http' or 'grpc'"),
        ("http://", None, "has no host:port"),
    ],
)
def test_parse_url_errors(url: str, protocol: str | None, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_url(url, protocol)


def test_endpoint_str() -> None:
    assert str(Endpoint("grpc", "h:1", ssl=True)) == "grpcs://h:1"
    assert str(Endpoint("http", "h:1")) == "http://h:1"


def test_region_status_of_both_protocols() -> None:
    http = [{"name": "r", "key": "/r", "offset": 0, "byte_size": 64}]
    grpc = {"regions": {"r": {"name": "r", "key": "/r", "byte_size": "64"}}}
    assert HTTP.regions(http) == GRPC.regions(grpc) == [RegionStatus("r", "/r", 64)]
    assert GRPC.regions({}) == []


def test_max_batch_size_of_both_protocols() -> None:
    assert HTTP.max_batch_size({"max_batch_size": 8}) == 8
    assert GRPC.max_batch_size({"config": {"max_batch_size": 8}}) == 8
    assert GRPC.max_batch_size({"config": {}}) == 0  # protobuf JSON omits zeros


def test_timeouts_travel_as_arguments_only_over_grpc() -> None:
    assert GRPC.timeout_kwargs(1.5) == {"client_timeout": 1.5}
    assert HTTP.timeout_kwargs(1.5) == {}


def test_output_names_and_shapes_of_both_protocols() -> None:
    http = SimpleNamespace(
        get_response=lambda: {"outputs": [{"name": "y", "shape": [2, 16]}]},
        get_output=lambda name: {"name": name, "shape": [2, 16]},
    )
    message = SimpleNamespace(name="y", shape=[2, 16])
    grpc = SimpleNamespace(
        get_response=lambda: SimpleNamespace(outputs=[message]), get_output=lambda name: message
    )
    assert HTTP.output_names(http) == GRPC.output_names(grpc) == ("y",)
    assert HTTP.output_shape(http, "y") == GRPC.output_shape(grpc, "y") == (2, 16)


@pytest.mark.parametrize("dialect", [HTTP, GRPC], ids=["http", "grpc"])
def test_request_objects_are_the_protocols_own(dialect: Dialect) -> None:
    infer_input = dialect.infer_input("x", [1, 2], "FP32")
    assert type(infer_input).__module__.startswith(f"tritonclient.{dialect.name}")
