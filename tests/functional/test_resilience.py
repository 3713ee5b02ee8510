"""The guarded front door and the self-healing supervisor, on the real server."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import openvino as ov
import pytest

from ovtriton_serve.examples import add_one, classifier
from ovtriton_serve.server.shm_inputs import PREFIX
from ovtriton_serve.server.stubs import SHM_DIR, SHM_REGION_MARK, child_processes, is_alive
from tests.functional.clients import infer
from tests.functional.serving import Serve, add_model, rss_mb
from tests.support.waiting import wait_until

pytestmark = pytest.mark.functional


def tritonserver_pid(server: Serve) -> int:
    pid = server.tritonserver_pid()
    assert pid is not None
    return pid


def post_json(server: Serve, model: str, document: object) -> tuple[int, str]:
    request = urllib.request.Request(
        f"http://{server.http_url}/v2/models/{model}/infer",
        data=json.dumps(document).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def tensor(shape: list[int], data: list[object], datatype: str = "FP32") -> dict[str, object]:
    return {"inputs": [{"name": "x", "shape": shape, "datatype": datatype, "data": data}]}


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    repository = tmp_path_factory.mktemp("guarded")
    add_model(repository, "add_one", add_one())
    with Serve(repository) as server:
        assert "(guarded)" in server.output
        yield server


def test_huge_declared_shape_gets_400_and_memory_stays_bounded(guarded: Serve) -> None:
    pid = tritonserver_pid(guarded)
    assert guarded.process is not None
    front = guarded.process.pid  # ovtriton serve, where the front door reads the body
    before, front_before = rss_mb(pid), rss_mb(front)
    status, text = post_json(guarded, "add_one", tensor([1000000000, 3], [1, 2, 3]))
    assert status == 400
    assert "3000000000 elements" in text and "'x'" in text
    assert rss_mb(pid) < before + 100
    assert rss_mb(front) < front_before + 100
    good = infer("http", guarded, "add_one", {"x": np.zeros((1, 16), np.float32)})
    np.testing.assert_array_equal(good["y"], np.ones((1, 16), np.float32))
    assert tritonserver_pid(guarded) == pid  # never restarted


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        (tensor([1, 16], list(range(15))), "holds 15 values, not 16"),
        (tensor([1, 16], ["a"] * 16), "expected FP32 values"),
        (tensor([1, -16], [1.0] * 16), "non-negative integers"),
        (tensor([1, 16], [1.0] * 16, datatype="FP33"), "unknown datatype"),
    ],
)
def test_malformed_json_gets_400_not_500(guarded: Serve, document: object, fragment: str) -> None:
    status, text = post_json(guarded, "add_one", document)
    assert status == 400, text
    assert fragment in text


def test_good_json_passes_the_guard(guarded: Serve) -> None:
    status, text = post_json(guarded, "add_one", tensor([1, 16], [float(i) for i in range(16)]))
    assert status == 200, text
    assert json.loads(text)["outputs"][0]["data"] == [float(i + 1) for i in range(16)]
    # Triton's own HTTP sits on another, private loopback port (the benchmarks use it).
    behind = guarded.triton_http_url()
    assert behind is not None and behind != guarded.http_url


@pytest.mark.parametrize("algorithm", ["gzip", "deflate"])
def test_compressed_requests_pass_the_guard(guarded: Serve, algorithm: str) -> None:
    import tritonclient.http as httpclient

    x = np.arange(16, dtype=np.float32).reshape(1, 16)
    request = httpclient.InferInput("x", [1, 16], "FP32")
    request.set_data_from_numpy(x, binary_data=True)
    with httpclient.InferenceServerClient(guarded.http_url) as client:
        result = client.infer("add_one", [request], request_compression_algorithm=algorithm)
    np.testing.assert_array_equal(result.as_numpy("y"), x + 1)


@pytest.mark.parametrize("length", ["12abc", "-5"])
def test_a_bad_content_length_gets_400(guarded: Serve, length: str) -> None:
    host, port = guarded.http_url.split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(
            f"POST /v2/models/add_one/infer HTTP/1.1\r\nHost: x\r\n"
            f"Content-Length: {length}\r\n\r\n{{}}".encode()
        )
        reply = connection.recv(4096).decode()
    assert reply.startswith("HTTP/1.1 400"), reply
    assert "Content-Length" in reply


class Load:
    """add_one requests in a background thread while a test breaks something.

    Every outcome is timed; an answer with wrong values is recorded as such, never
    counted as a clean failure.
    """

    X = np.arange(16, dtype=np.float32).reshape(1, 16)

    def __init__(self, server: Serve, protocol: str) -> None:
        self.server, self.protocol = server, protocol
        self.outcomes: list[tuple[float, bool]] = []
        self.failures: list[str] = []
        self.wrong: list[str] = []
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._run)

    def __enter__(self) -> Load:
        self._worker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._worker.join(60)
        assert not self._worker.is_alive(), "a request hung instead of failing"

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                y = infer(self.protocol, self.server, "add_one", {"x": self.X})["y"]
            except Exception as error:
                self.failures.append(str(error)[:200])
                self.outcomes.append((time.monotonic(), False))
                time.sleep(0.05)
                continue
            if not np.array_equal(y, self.X + 1):
                self.wrong.append(repr(y))
            self.outcomes.append((time.monotonic(), True))

    def successes_since(self, since: float) -> int:
        """How many requests succeeded after ``since`` (a ``time.monotonic()``)."""
        return sum(1 for t, ok in list(self.outcomes) if ok and t > since)

    def wait_for_successes(self, count: int, since: float = 0.0, timeout: float = 90) -> None:
        """Block until ``count`` requests have succeeded after ``since``."""
        wait_until(
            lambda: self.successes_since(since) >= count, timeout, f"{count} good answers"
        )

    def check_recovered(self, since: float) -> None:
        """No wrong answer ever; some successes before; nothing but successes after ``since``."""
        assert not self.wrong, f"wrong answers: {self.wrong[:3]}"
        assert any(ok for t, ok in self.outcomes if t < since), "no request succeeded before"
        after = [ok for t, ok in self.outcomes if t > since]
        assert after and all(after), f"errors after recovery: {self.failures[-5:]}"


def test_large_http_inputs_reach_triton_through_shared_memory(tmp_path: Path) -> None:
    import tritonclient.http as httpclient

    add_model(tmp_path, "classifier", classifier())
    images = np.random.default_rng(5).random((2, 3, 224, 224), dtype=np.float32)
    compiled = ov.Core().compile_model(classifier(), "CPU")
    expected = np.concatenate([compiled(images[i : i + 1])[0] for i in range(2)])
    with Serve(tmp_path) as server:
        assert server.process is not None
        own = f"{PREFIX}_{server.process.pid}_*"
        served = infer("http", server, "classifier", {"image": images})["probabilities"]
        np.testing.assert_allclose(served, expected, rtol=1e-5, atol=1e-6)
        upstream = server.triton_http_url()
        assert upstream is not None
        regions = httpclient.InferenceServerClient(upstream).get_system_shared_memory_status(
            headers=server.admin_headers()
        )
        assert [r["name"] for r in regions if r["name"].startswith(PREFIX)], regions
        assert list(SHM_DIR.glob(own))
        # Triton forgets registrations when it restarts: the region is registered anew.
        os.kill(tritonserver_pid(server), signal.SIGKILL)
        wait_until(lambda: "tritonserver restarted" in server.output, 90, "the restart")
        served = infer("http", server, "classifier", {"image": images})["probabilities"]
        np.testing.assert_allclose(served, expected, rtol=1e-5, atol=1e-6)
    assert not list(SHM_DIR.glob(own)), "the front door's regions outlived the server"


def test_tritonserver_killed_under_load_is_restarted_cleanly(tmp_path: Path) -> None:
    add_model(tmp_path, "add_one", add_one())
    with Serve(tmp_path) as server:
        old_pid = tritonserver_pid(server)
        family = child_processes(old_pid)
        stubs = [pid for pid, argv in family if argv[0].endswith("triton_python_backend_stub")]
        regions = [a for _, argv in family for a in argv if SHM_REGION_MARK in a]
        assert stubs and regions
        with Load(server, "http") as load:
            load.wait_for_successes(20)
            os.kill(old_pid, signal.SIGKILL)
            wait_until(lambda: "tritonserver restarted" in server.output, 90, "the restart")
            restarted_at = time.monotonic()
            load.wait_for_successes(20, since=restarted_at + 0.5)
        assert "killed by SIGKILL" in server.output
        assert "tritonserver restarted" in server.output
        load.check_recovered(restarted_at + 0.5)
        assert not [pid for pid in stubs if is_alive(pid)], "orphan stub"
        assert not [r for r in regions if (SHM_DIR / r).exists()], "stale shared memory"
        assert tritonserver_pid(server) != old_pid


def test_crash_loop_ends_in_a_clear_non_zero_exit(tmp_path: Path) -> None:
    folder = add_model(tmp_path, "add_one", add_one())
    server = Serve(tmp_path, options=["--max-restarts", "2"]).start()
    try:
        assert "server ready" in server.output
        # From now on every start fails: the model file is corrupt.
        (folder / "1" / "model.xml").write_text("<net><broken")
        os.kill(tritonserver_pid(server), signal.SIGKILL)
        code = server.wait(timeout=240)
    finally:
        server.stop()
    assert code != 0
    assert "restart failed" in server.output
    assert "tritonserver died 2 times" in server.output and "giving up" in server.output


def test_no_guard_serves_tritons_port_directly(tmp_path: Path) -> None:
    add_model(tmp_path, "add_one", add_one())
    with Serve(tmp_path, options=["--no-guard"]) as server:
        assert "(guarded)" not in server.output
        good = infer("grpc", server, "add_one", {"x": np.zeros((1, 16), np.float32)})
        np.testing.assert_array_equal(good["y"], np.ones((1, 16), np.float32))
        assert server.triton_http_url() == server.http_url  # no relay in between


def test_a_dead_stub_is_replaced_and_its_model_serves_again(tmp_path: Path) -> None:
    add_model(tmp_path, "add_one", add_one())
    add_model(tmp_path, "other", add_one())
    with Serve(tmp_path) as server:
        x = np.zeros((1, 16), np.float32)
        [stub] = [
            pid
            for pid, argv in child_processes(tritonserver_pid(server))
            if argv[0].endswith("triton_python_backend_stub") and "/add_one/" in argv[1]
        ]
        # Killed mid-load: requests in flight and during the reload fail cleanly.
        with Load(server, "grpc") as load:
            load.wait_for_successes(20)
            os.kill(stub, signal.SIGKILL)
            reloaded = "model add_one: its Python stub died; reloaded it"
            wait_until(lambda: reloaded in server.output, 60, "the stub to be reloaded")
            reloaded_at = time.monotonic()
            load.wait_for_successes(20, since=reloaded_at + 0.5)
        load.check_recovered(reloaded_at + 0.5)
        assert load.failures, "killing the stub under load failed no request"
        for protocol in ("http", "grpc"):
            np.testing.assert_array_equal(infer(protocol, server, "add_one", {"x": x})["y"], x + 1)
            np.testing.assert_array_equal(infer(protocol, server, "other", {"x": x})["y"], x + 1)
