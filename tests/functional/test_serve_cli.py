"""`ovtriton serve` as a command: failures, ports, clean stops."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import numpy as np
import pytest

from ovtriton_serve.examples import add_one
from ovtriton_serve.server.stubs import SHM_DIR, SHM_REGION_MARK, is_alive
from tests.functional.clients import infer
from tests.functional.serving import Serve, add_model, descendants

pytestmark = pytest.mark.functional


def test_failed_model_exits_non_zero_with_tritons_message(tmp_path: Path) -> None:
    add_model(
        tmp_path,
        "bad",
        add_one(),
        'parameters: { key: "layout" value: { string_value: "nc::nc" } }',
    )
    server = Serve(tmp_path).start()
    assert server.wait() != 0
    assert "failed to load 'bad'" in server.output
    assert "The provided layout is in wrong format" in server.output


@pytest.mark.parametrize("port", ["http_port", "grpc_port"])
def test_taken_port_exits_non_zero(tmp_path: Path, port: str) -> None:
    add_model(tmp_path, "good", add_one())
    server = Serve(tmp_path)
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", getattr(server, port)))
        blocker.listen()
        server.start()
        assert server.wait() != 0
    assert "address already in use" in server.output.lower(), server.output[-2000:]
    assert "server ready" not in server.output


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stop_leaves_no_process_and_no_shared_memory(tmp_path: Path, sig: int) -> None:
    add_model(tmp_path, "good", add_one())
    add_model(tmp_path, "other", add_one())
    server = Serve(tmp_path).start()
    assert server.process is not None
    served = infer("http", server, "good", {"x": np.zeros((1, 16), np.float32)})
    np.testing.assert_array_equal(served["y"], np.ones((1, 16), np.float32))
    family = descendants(server.process.pid)
    stubs = [pid for pid, argv in family if argv and argv[0].endswith("triton_python_backend_stub")]
    regions = [a for _, argv in family for a in argv if SHM_REGION_MARK in a]
    assert len(stubs) == 2 and regions
    # A region named like Triton's that belongs to no stub of this server (another
    # server's, say) must survive: only the stubs' own regions are removed.
    foreign = SHM_DIR / f"{regions[0].split(SHM_REGION_MARK)[0]}{SHM_REGION_MARK}foreign-{sig}"
    foreign.write_bytes(b"not ours")
    try:
        assert server.stop(sig) == 0
        assert not [pid for pid, _ in family if is_alive(pid)]
        assert not [region for region in regions if (SHM_DIR / region).exists()]
        assert foreign.exists()
    finally:
        foreign.unlink(missing_ok=True)
    assert "server ready" in server.output
