"""--health-port against the real server.

/livez fails where Triton's own /v2/health/live stays 200: a hung server, and a
dead stub that cannot be reloaded.
"""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from ovtriton_serve.examples import add_one
from tests.functional.serving import Serve, add_model, free_port

pytestmark = pytest.mark.functional


def get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=15) as reply:
            body = reply.read()
            return reply.status, json.loads(body) if body else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_for(condition: Any, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout:.0f} s for {what}"
        time.sleep(0.2)


def serve_with_health(repository: Path, extra: tuple[str, ...] = ()) -> tuple[Serve, str]:
    port = free_port()
    server = Serve(repository, extra=extra, options=["--health-port", str(port)]).start()
    assert server.ready, server.errors()
    health = f"http://127.0.0.1:{port}"
    wait_for(lambda: get(f"{health}/readyz")[0] == 200, "/readyz")
    return server, health


def test_a_hung_server_fails_liveness_and_recovers(tmp_path: Path) -> None:
    add_model(tmp_path, "good", add_one())
    server, health = serve_with_health(tmp_path)
    try:
        assert get(f"{health}/livez") == (200, {"live": True})
        triton = server.tritonserver_pid()
        assert triton is not None
        os.kill(triton, signal.SIGSTOP)
        try:
            status, body = get(f"{health}/livez")
            assert status == 503
            assert body["reasons"] == ["tritonserver did not answer /v2/health/live in time"]
            assert get(f"{health}/readyz")[0] == 503
        finally:
            os.kill(triton, signal.SIGCONT)
        wait_for(lambda: get(f"{health}/livez")[0] == 200, "/livez after SIGCONT")
        assert get(f"{health}/nothing")[0] == 404
    finally:
        server.stop()


def test_a_dead_stub_that_cannot_be_reloaded_fails_liveness(tmp_path: Path) -> None:
    """With model control off, the healer cannot reload: Triton still says live, /livez not."""
    add_model(tmp_path, "good", add_one())
    server, health = serve_with_health(tmp_path, extra=("--model-control-mode=none",))
    try:
        stub = server.stub_pid("good")
        assert stub is not None
        os.kill(stub, signal.SIGKILL)
        wait_for(
            lambda: "good: its Python stub died and could not be reloaded" in server.output,
            "the failed heal",
        )
        status, body = get(f"{health}/livez")
        assert status == 503, body
        assert body["reasons"] == ["model good: its Python stub died and could not be reloaded"]
        assert get(f"{health}/readyz")[0] == 503
        # Triton's own health says all is well: that is why /livez exists.
        assert get(f"http://{server.http_url}/v2/health/live")[0] == 200
        assert get(f"http://{server.http_url}/v2/models/good/ready")[0] == 200
    finally:
        server.stop()
