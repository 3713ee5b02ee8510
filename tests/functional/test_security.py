"""Issue 12: secure by default, on the real server.

Every attack a network client could make before (upload and run code through the
repository API, unload models, change logging and tracing, register foreign shared
memory) is refused over HTTP and gRPC without the admin key, and works with it;
inference, metadata and health need nothing. The front door holds against slow and
huge clients; stopping is fast and leaves nothing behind, even after SIGKILL.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tritonclient.utils.shared_memory as shm
from tritonclient.utils import InferenceServerException

import ovtriton_client as ovc
from ovtriton_serve.examples import add_one
from ovtriton_serve.server.stubs import child_processes, is_alive
from tests.functional.clients import PROTOCOLS, client, infer
from tests.functional.serving import Serve, add_model, rss_mb

pytestmark = pytest.mark.functional
REFUSED = {"403", "StatusCode.UNAVAILABLE"}  # Triton's answers to a missing key
X = np.arange(16, dtype=np.float32).reshape(1, 16)


def sleepy_model(seconds: float) -> str:
    return (
        "import time\n"
        "class TritonPythonModel:\n"
        f"    def initialize(self, args):\n        time.sleep({seconds})\n"
        "    def execute(self, requests):\n        return []\n"
    )


def python_model_config() -> dict[str, Any]:
    return {
        "backend": "python",
        "max_batch_size": 0,
        "input": [{"name": "x", "data_type": "TYPE_FP32", "dims": [1]}],
        "output": [{"name": "y", "data_type": "TYPE_FP32", "dims": [1]}],
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    repository = tmp_path_factory.mktemp("security")
    add_model(repository, "add_one", add_one())
    with Serve(repository) as serve:
        assert "server ready" in serve.output, serve.output[-2000:]
        assert serve.admin_key, "ovtriton serve wrote no key file for its local users"
        yield serve


def refused(call: Any, *args: Any, **kwargs: Any) -> str:
    """The status of a call that must be refused for want of the key."""
    with pytest.raises(InferenceServerException) as error:
        call(*args, **kwargs)
    assert "restricted" in str(error.value), error.value
    return str(error.value.status())


# --- the attacks, without and with the key -----------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_uploaded_code_runs_only_with_the_key(server: Serve, protocol: str, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    code = (
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
        "class TritonPythonModel:\n    def execute(self, requests):\n        return []\n"
    )
    files = {"file:1/model.py": code.encode()}
    config = json.dumps(python_model_config())
    name = f"evil_{protocol}"
    anyone = client(protocol, server, admin=False)
    assert refused(anyone.load_model, name, config=config, files=files) in REFUSED
    assert not marker.exists(), "the uploaded code ran"
    admin = client(protocol, server)
    assert name not in json.dumps(admin.get_model_repository_index(**_json(protocol)))
    admin.load_model(name, config=config, files=files)
    try:
        assert marker.read_text() == "ran"  # the operator can, as before
    finally:
        admin.unload_model(name)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_unload_needs_the_key_and_the_model_stays_loaded(server: Serve, protocol: str) -> None:
    anyone = client(protocol, server, admin=False)
    assert refused(anyone.unload_model, "add_one") in REFUSED
    assert refused(anyone.get_model_repository_index) in REFUSED
    assert anyone.is_model_ready("add_one")
    np.testing.assert_array_equal(infer(protocol, server, "add_one", {"x": X})["y"], X + 1)
    admin = client(protocol, server)
    admin.unload_model("add_one")
    try:
        deadline = time.monotonic() + 30
        while anyone.is_model_ready("add_one"):
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        admin.load_model("add_one")
    assert anyone.is_model_ready("add_one")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_logging_trace_and_statistics_need_the_key(
    server: Serve, protocol: str, tmp_path: Path
) -> None:
    anyone = client(protocol, server, admin=False)
    admin = client(protocol, server)
    trace_file = tmp_path / "trace.json"
    assert refused(anyone.update_log_settings, {"log_verbose_level": 1}) in REFUSED
    assert refused(anyone.get_log_settings) in REFUSED
    assert (
        refused(
            anyone.update_trace_settings,
            settings={"trace_file": str(trace_file), "trace_level": ["TIMESTAMPS"]},
        )
        in REFUSED
    )
    assert refused(anyone.get_inference_statistics, "add_one") in REFUSED
    infer(protocol, server, "add_one", {"x": X})
    assert not trace_file.exists()
    # With the key the same calls reach Triton and are Triton's to answer.
    kwargs = _json(protocol)
    assert admin.update_log_settings({"log_verbose_level": 0}, **kwargs) is not None
    settings = admin.update_trace_settings(settings={"trace_rate": "1000"}, **kwargs)
    assert "1000" in json.dumps(settings)
    assert "add_one" in json.dumps(admin.get_inference_statistics("add_one", **kwargs))


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_foreign_shared_memory_is_registered_only_with_the_key(
    server: Serve, protocol: str
) -> None:
    name = f"foreign_{protocol}_{os.getpid()}"
    handle = shm.create_shared_memory_region(name, "/" + name, 64)
    try:
        anyone = client(protocol, server, admin=False)
        admin = client(protocol, server)
        assert refused(anyone.register_system_shared_memory, name, "/" + name, 64) in REFUSED
        assert refused(anyone.get_system_shared_memory_status) in REFUSED
        assert name not in json.dumps(admin.get_system_shared_memory_status(**_json(protocol)))
        admin.register_system_shared_memory(name, "/" + name, 64)
        try:
            assert name in json.dumps(admin.get_system_shared_memory_status(**_json(protocol)))
            assert refused(anyone.unregister_system_shared_memory, name) in REFUSED
        finally:
            admin.unregister_system_shared_memory(name)
    finally:
        shm.destroy_shared_memory_region(handle)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_inference_metadata_and_health_need_nothing(server: Serve, protocol: str) -> None:
    anyone = client(protocol, server, admin=False)
    assert anyone.is_server_live() and anyone.is_server_ready()
    assert anyone.is_model_ready("add_one")
    assert "add_one" in json.dumps(anyone.get_model_metadata("add_one", **_json(protocol)))
    assert "add_one" in json.dumps(anyone.get_model_config("add_one", **_json(protocol)))
    assert anyone.get_server_metadata() is not None
    np.testing.assert_array_equal(infer(protocol, server, "add_one", {"x": X})["y"], X + 1)


def _json(protocol: str) -> dict[str, Any]:
    return {"as_json": True} if protocol == "grpc" else {}


def raw_http(server: Serve, request: bytes) -> bytes:
    host, port = server.http_url.split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(request)
        reply = b""
        while chunk := connection.recv(65536):
            reply += chunk
    return reply


def test_the_front_door_refuses_before_triton_and_by_default(server: Serve) -> None:
    # A wrong key, an unknown path and a path Triton routes to statistics: all
    # refused by the front door itself (default-deny), the body never read.
    for path, headers in (
        ("/v2/repository/index", "ovtriton-admin-key: wrong-wrong-wrong-wrong\r\n"),
        ("/v2/anything/else", ""),
        ("/v2/models/stats", ""),
        ("/v2/models/add_one/trace/setting", ""),
    ):
        reply = raw_http(
            server,
            f"POST {path} HTTP/1.1\r\nHost: x\r\n{headers}Content-Length: 5000000\r\n\r\n".encode(),
        )
        assert reply.startswith(b"HTTP/1.1 403"), (path, reply[:200])
        assert b"ovtriton-admin-key" in reply
    assert "front door refused" in server.output and "/v2/anything/else" in server.output


def test_health_bodies_follow_the_open_inference_protocol(server: Serve) -> None:
    for path, field in (("/v2/health/live", "live"), ("/v2/health/ready", "ready")):
        reply = raw_http(
            server, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
        )
        head, _, body = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        assert json.loads(body) == {field: True}


def test_client_requests_naming_the_front_doors_regions_are_refused(server: Serve) -> None:
    document = {
        "inputs": [
            {
                "name": "x",
                "shape": [1, 16],
                "datatype": "FP32",
                "parameters": {
                    "shared_memory_region": "ovtriton-front_1_0",
                    "shared_memory_byte_size": 64,
                },
            }
        ]
    }
    body = json.dumps(document).encode()
    reply = raw_http(
        server,
        b"POST /v2/models/add_one/infer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body,
    )
    assert reply.startswith(b"HTTP/1.1 400") and b"belong to the server" in reply, reply


# --- the SDK ---------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_sdk_shared_memory_with_and_without_the_key(
    server: Serve, protocol: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = server.http_url if protocol == "http" else f"grpc://{server.grpc_url}"
    # A local user: the key is found in the server's key file, one line as before.
    with ovc.Client(url) as local, local.model("add_one", shared_memory=True) as model:
        np.testing.assert_array_equal(model(X)["y"], X + 1)
        assert model.shared_memory_regions
    with ovc.Client(url, admin_key=server.admin_key) as told:
        assert isinstance(told.shared_memory_status(), list)
    with (
        ovc.Client(url, admin_key="not-the-key-of-this-server") as wrong,
        pytest.raises(ovc.PermissionDeniedError, match="refused the admin_key"),
    ):
        wrong.model("add_one", shared_memory=True)
    # Another user (here: another runtime directory) has no key to find.
    private = tmp_path / "runtime"
    private.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(private))
    with ovc.Client(url) as stranger:
        with pytest.raises(ovc.PermissionDeniedError, match="needs its admin key") as error:
            stranger.model("add_one", shared_memory=True)
        assert "admin_key=" in str(error.value) and "OVTRITON_ADMIN_KEY" in str(error.value)
        np.testing.assert_array_equal(stranger.infer("add_one", X)["y"], X + 1)  # still serves
    assert not [p for p in Path("/dev/shm").iterdir() if f"_{os.getpid()}_" in p.name]


def test_async_client_takes_the_key(server: Serve) -> None:
    import asyncio

    async def status(key: str | None) -> list[ovc.RegionStatus]:
        async with ovc.AsyncClient(server.http_url, admin_key=key) as sdk:
            return await sdk.shared_memory_status()

    assert isinstance(asyncio.run(status(server.admin_key)), list)
    with pytest.raises(ovc.PermissionDeniedError):
        asyncio.run(status("not-the-key-of-this-server"))


# --- the operator's key ----------------------------------------------------------------


def test_operator_key_file(tmp_path: Path) -> None:
    add_model(tmp_path / "repo", "add_one", add_one())
    key_file = tmp_path / "admin.key"
    key_file.write_text("operator-chosen-key-0123456789\n")
    key_file.chmod(0o644)
    loose = Serve(tmp_path / "repo", options=["--admin-key-file", str(key_file)]).start()
    assert loose.wait(30) == 2
    assert "readable or writable by every user" in loose.output and "chmod 600" in loose.output
    key_file.chmod(stat.S_IRUSR | stat.S_IWUSR)
    with Serve(tmp_path / "repo", options=["--admin-key-file", str(key_file)]) as serve:
        assert serve.admin_key == "operator-chosen-key-0123456789"
        assert "operator-chosen-key" not in serve.output  # never printed
        with ovc.Client(serve.http_url, admin_key="operator-chosen-key-0123456789") as sdk:
            assert isinstance(sdk.shared_memory_status(), list)


# --- slow and huge clients -------------------------------------------------------------


def test_slowloris_does_not_hold_the_front_door(server: Serve) -> None:
    host, port = server.http_url.split(":")
    slow = [socket.create_connection((host, int(port)), timeout=5) for _ in range(200)]
    closed: set[int] = set()
    stop = threading.Event()

    def trickle() -> None:
        head = b"GET /v2/health/ready HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000
        sent = 0
        while not stop.is_set() and len(closed) < len(slow):
            for index, connection in enumerate(slow):
                if index in closed:
                    continue
                try:
                    connection.sendall(head[sent % len(head) : sent % len(head) + 1])
                except OSError:
                    closed.add(index)
            sent += 1
            stop.wait(2)

    thread = threading.Thread(target=trickle)
    thread.start()
    good = 0
    try:
        while len(closed) < len(slow):
            # Good requests are answered while every slow connection is held open.
            np.testing.assert_array_equal(infer("http", server, "add_one", {"x": X})["y"], X + 1)
            good += 1
            time.sleep(0.05)
            assert good < 100000
    finally:
        stop.set()
        thread.join(30)
        for connection in slow:
            connection.close()
    assert good > 0
    assert "no complete request head within" in server.output


def test_sixteen_slow_huge_bodies_stay_within_the_budget(tmp_path: Path) -> None:
    add_model(tmp_path, "add_one", add_one())
    size, budget = 200 << 20, 512 << 20
    options = ["--max-body", "256M", "--max-inflight", "512M"]
    with Serve(tmp_path, options=options) as serve:
        assert serve.process is not None
        host, port = serve.http_url.split(":")
        before = rss_mb(serve.process.pid)
        head = (
            f"POST /v2/models/add_one/infer HTTP/1.1\r\nHost: x\r\n"
            f"Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
        ).encode()
        senders = [socket.create_connection((host, int(port)), timeout=60) for _ in range(16)]
        try:
            for connection in senders:
                connection.sendall(head)
            busy, admitted = 0, []
            for connection in senders:
                connection.settimeout(3)  # admitted ones answer only after their body
                try:
                    reply = connection.recv(4096)
                except TimeoutError:
                    admitted.append(connection)
                    continue
                assert reply.startswith(b"HTTP/1.1 503"), reply[:200]
                busy += 1
            assert len(admitted) == budget // size and busy == 16 - len(admitted)
            chunk = b" " * (1 << 20)
            for _ in range(size // len(chunk) - 8):  # all but the last 8 MB, slowly
                for connection in admitted:
                    connection.settimeout(60)
                    connection.sendall(chunk)
            assert rss_mb(serve.process.pid) < before + budget / (1 << 20) + 150
            np.testing.assert_array_equal(infer("http", serve, "add_one", {"x": X})["y"], X + 1)
            assert "too many request bytes in flight" in serve.output
        finally:
            for connection in senders:
                connection.close()
        # Their bytes are given back once they are gone: huge requests are admitted again.
        deadline = time.monotonic() + 30
        while "busy" in (answer := _first_answer(host, int(port), head)):
            assert time.monotonic() < deadline, "the budget was not given back"
            time.sleep(0.2)
        assert answer == "waiting for the body"


def _first_answer(host: str, port: int, head: bytes) -> str:
    with socket.create_connection((host, port), timeout=3) as connection:
        connection.sendall(head)
        try:
            reply = connection.recv(4096)
        except TimeoutError:
            return "waiting for the body"
    return "busy" if reply.startswith(b"HTTP/1.1 503") else reply.decode(errors="replace")


def test_over_max_body_gets_413(server: Serve) -> None:
    reply = raw_http(
        server,
        b"POST /v2/models/add_one/infer HTTP/1.1\r\nHost: x\r\n"
        b"Content-Length: 999999999999\r\n\r\n",
    )
    assert reply.startswith(b"HTTP/1.1 413") and b"over the limit" in reply, reply


# --- stopping --------------------------------------------------------------------------


def family(serve: Serve) -> list[int]:
    triton = serve.tritonserver_pid()
    assert triton is not None
    return [triton, *(pid for pid, _ in child_processes(triton))]


def wait_dead(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while (alive := [pid for pid in pids if is_alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stop_within_5_s_with_idle_and_slow_clients(tmp_path: Path, sig: int) -> None:
    add_model(tmp_path, "add_one", add_one())
    serve = Serve(tmp_path).start()
    try:
        assert serve.ready and serve.process is not None
        processes = family(serve)
        host, port = serve.http_url.split(":")
        idle = socket.create_connection((host, int(port)))
        idle.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while b'{"live": true}' not in answer:  # the whole answer; kept alive, then idle
            answer += idle.recv(4096)
        assert answer.startswith(b"HTTP/1.1 200")
        slow = socket.create_connection((host, int(port)))
        slow.sendall(b"POST /v2/models/add_one/infer HTTP/1.1\r\nContent-Length: 1000\r\n\r\n{")
        grpc_idle = client("grpc", serve, admin=False)
        assert grpc_idle.is_server_live()
        started = time.monotonic()
        serve.process.send_signal(sig)
        serve.process.wait(5)
        took = time.monotonic() - started
        assert took < 5, f"stop took {took:.1f} s"
        assert not wait_dead(processes, 0.5)
        assert idle.recv(4096) == b"" and slow.recv(4096) == b""  # closed, not held
        time.sleep(0.3)
        for bad in ("Task was destroyed", "Traceback", "Exception in callback"):
            assert bad not in serve.output, serve.output[-3000:]
        assert not [p for p in Path("/dev/shm").iterdir() if f"_{serve.process.pid}_" in p.name]
    finally:
        serve.stop(signal.SIGKILL)


def test_kill_9_leaves_no_tritonserver_or_stub(tmp_path: Path) -> None:
    add_model(tmp_path, "add_one", add_one())
    add_model(tmp_path, "other", add_one())
    serve = Serve(tmp_path).start()
    try:
        assert serve.ready and serve.process is not None
        processes = family(serve)
        assert len(processes) >= 3  # tritonserver and two stubs
        os.kill(serve.process.pid, signal.SIGKILL)
        assert not wait_dead(processes, 5), "orphans outlived ovtriton serve by 5 s"
        deadline = time.monotonic() + 5
        while serve.admin_key is not None:  # its key files go with it (the watchdog)
            assert time.monotonic() < deadline, "the key file outlived ovtriton serve"
            time.sleep(0.05)
    finally:
        serve.stop(signal.SIGKILL)


def test_ctrl_c_during_loading_stops_at_once(tmp_path: Path) -> None:
    folder = tmp_path / "sleepy"
    (folder / "1").mkdir(parents=True)
    (folder / "1" / "model.py").write_text(sleepy_model(120))
    (folder / "config.pbtxt").write_text(
        'backend: "python"\nmax_batch_size: 0\n'
        'input [{ name: "x" data_type: TYPE_FP32 dims: [1] }]\n'
        'output [{ name: "y" data_type: TYPE_FP32 dims: [1] }]\n'
    )
    serve = Serve(tmp_path)
    serve.start_background()
    try:
        assert serve.process is not None
        deadline = time.monotonic() + 60
        while not (triton := serve.tritonserver_pid()) or not child_processes(triton):
            assert time.monotonic() < deadline, serve.output[-2000:]
            time.sleep(0.1)  # loading: the sleepy stub is running
        processes = family(serve)
        started = time.monotonic()
        serve.process.send_signal(signal.SIGINT)
        serve.process.wait(5)
        assert time.monotonic() - started < 5
        assert not wait_dead(processes, 0.5)
        assert "server ready" not in serve.output
    finally:
        serve.stop(signal.SIGKILL)
    # --start-timeout bounds loading: a clear failure, nothing left behind.
    bounded = Serve(tmp_path, options=["--start-timeout", "5"])
    bounded.start_background()
    try:
        assert bounded.wait(60) == 1
        assert "not live after 5 s" in bounded.output
    finally:
        bounded.stop(signal.SIGKILL)
