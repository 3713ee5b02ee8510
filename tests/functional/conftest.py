"""Fixtures that run the real Triton server through ``ovtriton serve``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import ovtriton_client as ovc
from ovtriton_serve.examples import write_example_models
from tests.functional.clients import PROTOCOLS, url_of
from tests.functional.serving import Serve

EXAMPLES = Path(__file__).resolve().parents[2] / "model_repository"


@pytest.fixture(scope="session")
def example_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of ``model_repository/`` with its generated model files."""
    import shutil

    repository = tmp_path_factory.mktemp("examples")
    for config in EXAMPLES.glob("*/config.pbtxt"):
        (repository / config.parent.name).mkdir()
        shutil.copy(config, repository / config.parent.name / "config.pbtxt")
    write_example_models(repository)
    return repository


@pytest.fixture(scope="session")
def example_server(example_repository: Path) -> Iterator[Serve]:
    """One server on the example repository, shared by the tests that only read."""
    with Serve(example_repository) as server:
        assert "ovtriton: server ready" in server.output, server.output[-3000:]
        yield server


@pytest.fixture(params=PROTOCOLS)
def protocol(request: pytest.FixtureRequest) -> str:
    """Each test that takes it runs once over HTTP and once over gRPC."""
    return str(request.param)


@pytest.fixture
def url(protocol: str, example_server: Serve) -> str:
    """The example server's URL for an SDK client over ``protocol``."""
    return url_of(example_server, protocol)


@pytest.fixture
def client(url: str) -> Iterator[ovc.Client]:
    """An SDK client on the example server, closed after the test."""
    with ovc.Client(url) as client:
        yield client
