"""Shared by the SDK's functional tests: the example server's URL per protocol, and clients.

The fixtures run each test once per protocol against the session's example server.
A test module takes them by assignment (``client = client_helpers.client``): pytest
finds a fixture under any module attribute, and, unlike an imported name, an
assigned one does not read as unused or redefined where tests take it as an argument.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import ovtriton_client as ovc
from tests.functional.clients import PROTOCOLS
from tests.functional.serving import Serve

__all__ = ["client", "protocol", "url", "url_of"]


def url_of(server: Serve, protocol: str) -> str:
    """The URL an SDK client uses for ``server`` over ``protocol`` ("http" or "grpc")."""
    return server.http_url if protocol == "http" else f"grpc://{server.grpc_url}"


@pytest.fixture(params=PROTOCOLS)
def protocol(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def url(protocol: str, example_server: Serve) -> str:
    return url_of(example_server, protocol)


@pytest.fixture
def client(url: str) -> Iterator[ovc.Client]:
    with ovc.Client(url) as client:
        yield client
