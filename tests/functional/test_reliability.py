"""Hostile configs and requests, load and faults, on the real server."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import openvino as ov
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
import tritonclient.utils.shared_memory as shm
from tritonclient.utils import InferenceServerException

from ovtriton_serve.examples import add_one, classifier, two_io
from tests.functional.clients import PROTOCOLS, client, infer, run_clients
from tests.functional.serving import Serve, add_model, param
from tests.support.models import scaled
from tests.support.waiting import wait_until

pytestmark = pytest.mark.functional
INVALID = {"400", "StatusCode.INVALID_ARGUMENT"}
REJECTED = INVALID | {"404", "StatusCode.NOT_FOUND"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    repository = tmp_path_factory.mktemp("reliability")
    add_model(repository, "add_one", add_one())
    add_model(repository, "ranged", scaled([1, 3]), param("shape", "(1:4,3)"))
    add_model(repository, "batch_auto", scaled([2, 3]), param("batch_size", "auto"))
    add_model(repository, "shape_auto", scaled([1, 3]), param("shape", "auto"))
    add_model(
        repository, "two_io", two_io(), "dynamic_batching { max_queue_delay_microseconds: 2000 }"
    )
    with Serve(repository) as serve:
        assert "server ready" in serve.output, serve.output[-2000:]
        yield serve


# --- hostile configs -------------------------------------------------------------------

BROKEN_CONFIGS: dict[str, tuple[Callable[[], ov.Model], str, str]] = {
    # name: (model, config text, fragment the load error must contain)
    "grammar_batch": (add_one, param("batch_size", "9:"), "'batch_size'"),
    "grammar_shape": (add_one, param("shape", "(--30)"), "'shape'"),
    "grammar_layout": (add_one, param("layout", "N...C...H"), "wrong format"),
    "name_not_in_model": (two_io, param("shape", '{"c": "(1,4)"}'), "no input of that name"),
    "layout_name_not_in_model": (two_io, param("layout", '{"z": "NC"}'), "no input or output"),
    "rank_mismatch": (add_one, param("layout", "NCHW"), "layout incompatible with shape"),
    "scalar_with_batch": (lambda: scaled([]), param("batch_size", "4"), "scalar"),
    "unknown_device": (add_one, param("target_device", "NPU"), "NPU"),
    "unknown_parameter": (add_one, param("sahpe", "(1,16)"), "known parameters are"),
    "bad_nireq": (add_one, param("nireq", "0"), "'nireq'"),
    "unreshapable": (classifier, param("shape", "(1,3)"), "could not be reshaped"),
    "escaping_filename": (
        add_one,
        'default_model_filename: "../../x.xml"',
        "default_model_filename",
    ),
}


def test_a_dozen_broken_configs_fail_alone_and_say_why(tmp_path: Path) -> None:
    add_model(tmp_path, "good", add_one())
    add_model(tmp_path, "good_too", scaled([-1, 3]))
    for name, (build, config, _) in BROKEN_CONFIGS.items():
        add_model(tmp_path, name, build(), config)
    (tmp_path / "missing_file" / "1").mkdir(parents=True)
    (tmp_path / "missing_file" / "config.pbtxt").write_text('backend: "ovtriton"\n')
    corrupt = add_model(tmp_path, "corrupt_bin", classifier())
    (corrupt / "1" / "model.bin").write_bytes(b"\0" * 100)
    expected = {name: fragment for name, (_, _, fragment) in BROKEN_CONFIGS.items()}
    expected |= {"missing_file": "no model file", "corrupt_bin": "could not read"}
    with Serve(tmp_path, ["--exit-on-error=false"]) as serve:
        index = {m["name"]: m for m in client("http", serve).get_model_repository_index()}
        for name, fragment in expected.items():
            assert index[name]["state"] == "UNAVAILABLE", name
            assert fragment in index[name]["reason"], (name, index[name]["reason"])
        for good in ("good", "good_too"):
            assert index[good]["state"] == "READY"
            x = np.zeros((1, 16 if good == "good" else 3), np.float32)
            assert infer("grpc", serve, good, {"x": x})["y"].shape == x.shape


# --- hostile requests ------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    model: str
    inputs: dict[str, np.ndarray]
    outputs: tuple[str, ...] = ()
    expected: dict[str, np.ndarray] | None = None  # None: must be rejected
    fragment: str = ""
    # The shape the request declares for its one input, when it lies about the data.
    declared: tuple[int, ...] | None = None


def f32(*shape: int, value: float = 1.0) -> np.ndarray:
    return np.full(shape, value, np.float32)


CASES = [
    Case("add_one", {"x": f32(2, 16)}, expected={"y": f32(2, 16, value=2.0)}),
    Case("ranged", {"x": f32(3, 3)}, expected={"y": f32(3, 3, value=2.0)}),
    Case("batch_auto", {"x": f32(5, 3)}, expected={"y": f32(5, 3, value=2.0)}),
    Case("shape_auto", {"x": f32(2, 7)}, expected={"y": f32(2, 7, value=2.0)}),
    Case(
        "two_io",
        {"a": f32(1, 4), "b": f32(1, 4, value=3)},
        ("product",),
        expected={"product": f32(1, 4, value=3.0)},
    ),
    Case("add_one", {"x": np.ones((1, 16), np.int32)}, fragment="INT32"),
    Case("add_one", {"x": f32(1, 16, 1)}, fragment="unexpected shape"),
    Case("add_one", {"x": f32(1, 15)}, fragment="unexpected shape"),
    Case(
        "ranged", {"x": f32(5, 3)}, fragment="Invalid input batch size - Expected: [1~4]; Actual: 5"
    ),
    Case("two_io", {"a": f32(1, 4)}, fragment="missing required input"),
    Case("add_one", {"x": f32(1, 16), "z": f32(1, 16)}, fragment="expected 1 inputs but got 2"),
    Case("add_one", {"x": f32(1, 16)}, ("nope",), fragment="nope"),
    Case("add_one", {"x": f32(0, 16)}, fragment="'x'"),
    Case("add_one", {"x": np.array([[b"1"] * 16], dtype=object)}, fragment="BYTES"),
    Case("no_such_model", {"x": f32(1, 16)}, fragment="no_such_model"),
    Case("ranged", {"x": f32(2, 0)}, fragment="unexpected shape"),
    Case("add_one", {"x": f32(1, 8)}, declared=(1, 16), fragment="x"),
    Case("add_one", {"x": f32(1, 16)}, declared=(4, 16), fragment="x"),
]


def infer_declaring(protocol: str, serve: Serve, case: Case) -> None:
    """Send ``case``'s one input under its ``declared`` shape, whatever the data holds.

    tritonclient refuses to build such a request, so its raw bytes are set directly.
    """
    [(name, array)] = case.inputs.items()
    assert case.declared is not None
    module: Any = httpclient if protocol == "http" else grpcclient
    tensor = module.InferInput(name, list(case.declared), "FP32")
    tensor.set_data_from_numpy(np.zeros(case.declared, np.float32))
    if protocol == "http":
        tensor._raw_data = array.tobytes()
        tensor._parameters["binary_data_size"] = array.nbytes
    else:
        tensor._raw_content = array.tobytes()
    client(protocol, serve).infer(case.model, [tensor])


def run_case(protocol: str, serve: Serve, case: Case) -> str | None:
    """None when the case behaved; otherwise what went wrong."""
    try:
        if case.declared is not None:
            infer_declaring(protocol, serve, case)
            return "a request declaring a shape its data does not fill succeeded"
        served = infer(protocol, serve, case.model, case.inputs, case.outputs)
    except InferenceServerException as error:
        if case.expected is not None:
            return f"good request failed: {error}"
        if str(error.status()) not in REJECTED or case.fragment not in str(error):
            return f"{case.model}: got {error.status()} {error}, wanted 4xx with {case.fragment!r}"
        return None
    if case.expected is None:
        return f"bad request to {case.model} succeeded"
    for name, value in case.expected.items():
        if name not in served or not np.array_equal(served[name], value):
            return f"wrong answer from {case.model}"
    return None


def stub_rss_mb(serve: Serve, model: str) -> float:
    stub = serve.stub_pid(model)
    assert stub is not None
    status = Path(f"/proc/{stub}/status").read_text()
    return (
        int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1])
        / 1024
    )


REQUESTS_PER_PROTOCOL = 1500


def test_thousands_of_hostile_requests_mixed_with_good_ones(server: Serve) -> None:
    for protocol in PROTOCOLS:  # warm every model and variant first
        assert [run_case(protocol, server, case) for case in CASES] == [None] * len(CASES)
    before = stub_rss_mb(server, "add_one")
    problems: list[str] = []
    jobs = [
        (protocol, case)
        for protocol in PROTOCOLS
        for case in itertools.islice(itertools.cycle(CASES), REQUESTS_PER_PROTOCOL)
    ]
    with ThreadPoolExecutor(4) as pool:
        for problem in pool.map(lambda job: run_case(job[0], server, job[1]), jobs):
            if problem:
                problems.append(problem)
    assert not problems, problems[:5]
    assert client("http", server).is_server_ready()
    assert run_case("grpc", server, CASES[0]) is None
    assert stub_rss_mb(server, "add_one") < before + 50


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_unregistered_and_too_small_shared_memory_regions(server: Serve, protocol: str) -> None:
    module = httpclient if protocol == "http" else grpcclient
    triton = client(protocol, server)
    name, key = f"rel_small_{protocol}_{os.getpid()}", f"/rel_small_{protocol}_{os.getpid()}"
    handle = shm.create_shared_memory_region(name, key, 16)
    try:
        triton.register_system_shared_memory(name, key, 16)
        for region, fragment in ((f"never_registered_{os.getpid()}", "Unable to find"), (name, "")):
            tensor = module.InferInput("x", [1, 16], "FP32")
            tensor.set_shared_memory(region, 64)
            with pytest.raises(InferenceServerException) as error:
                triton.infer("add_one", [tensor])
            assert str(error.value.status()) in REJECTED, error.value
            assert fragment in str(error.value)
        assert run_case(protocol, server, CASES[0]) is None
    finally:
        triton.unregister_system_shared_memory(name)
        shm.destroy_shared_memory_region(handle)


# --- load ------------------------------------------------------------------------------


def test_concurrent_mixed_shapes_get_openvino_exact_results(server: Serve) -> None:
    reference = ov.Core().compile_model(scaled([-1, -1]), "CPU")
    stop_at = time.monotonic() + 8
    problems: list[str] = []
    count = [0]

    def client_loop(seed: int) -> None:
        rng = np.random.default_rng(seed)
        protocol = PROTOCOLS[seed % 2]
        request = reference.create_infer_request()  # one per thread: requests are not shared
        while time.monotonic() < stop_at:
            model = ("batch_auto", "shape_auto", "ranged")[int(rng.integers(3))]
            width = 3 if model != "shape_auto" else int(rng.integers(1, 6))
            batch = int(rng.integers(1, 5))
            x = rng.random((batch, width), dtype=np.float32)
            try:
                y = infer(protocol, server, model, {"x": x})["y"]
            except InferenceServerException as error:
                problems.append(f"{model} {x.shape}: {error}")
                continue
            if not np.array_equal(y, request.infer({0: x})[0]):
                problems.append(f"{model} {x.shape}: wrong or swapped result")
            count[0] += 1

    run_clients(client_loop, 4, timeout=60)
    assert not problems, problems[:5]
    assert count[0] > 100


# --- faults ----------------------------------------------------------------------------


def test_unload_and_reload_while_clients_send(server: Serve) -> None:
    x = f32(1, 16, value=5.0)
    outcomes: list[str] = []
    stop = threading.Event()

    def sender() -> None:
        while not stop.is_set():
            try:
                y = infer("http", server, "add_one", {"x": x})["y"]
                outcomes.append("ok" if np.array_equal(y, x + 1) else "WRONG")
            except InferenceServerException as error:
                outcomes.append(
                    "rejected" if str(error.status()) in REJECTED | {"503"} else f"{error}"
                )
            time.sleep(0.01)

    def answered(outcome: str, after: int = 0) -> bool:
        return outcome in outcomes[after:]

    thread = threading.Thread(target=sender)
    thread.start()
    try:
        wait_until(lambda: answered("ok"), 60, "a good answer before the unload")
        triton = client("http", server)
        triton.unload_model("add_one")
        assert not triton.is_model_ready("add_one")
        wait_until(lambda: answered("rejected"), 60, "a rejection while unloaded")
        triton.load_model("add_one")
        assert triton.is_model_ready("add_one")
        reloaded = len(outcomes)
        wait_until(lambda: answered("ok", reloaded), 60, "a good answer after the reload")
    finally:
        stop.set()
        thread.join(30)
    assert "WRONG" not in outcomes
    assert set(outcomes) <= {"ok", "rejected"}, set(outcomes)
    assert "rejected" in outcomes and outcomes[-1] == "ok"


HOLDER = """
import sys, time, numpy as np
import tritonclient.http as httpclient, tritonclient.utils.shared_memory as shm
url, name, key = sys.argv[1], sys.argv[2], {"ovtriton-admin-key": sys.argv[3]}
handle = shm.create_shared_memory_region(name, "/" + name, 64)
shm.set_shared_memory_region(handle, [np.ones((1, 16), np.float32)])
client = httpclient.InferenceServerClient(url)
client.register_system_shared_memory(name, "/" + name, 64, headers=key)
tensor = httpclient.InferInput("x", [1, 16], "FP32")
tensor.set_shared_memory(name, 64)
client.infer("add_one", [tensor])
print("holding", flush=True)
time.sleep(600)
"""


def test_client_killed_holding_shared_memory_leaves_the_server_serving(server: Serve) -> None:
    name = f"rel_holder_{os.getpid()}"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, server.http_url, name, str(server.admin_key)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    for protocol in PROTOCOLS:
        assert run_case(protocol, server, CASES[0]) is None
    status = client("http", server).get_system_shared_memory_status()
    assert name in json.dumps(status)  # still registered: the server does not guess
    client("http", server).unregister_system_shared_memory(name)
    with open(f"/dev/shm/{name}", "rb"):
        pass
    os.unlink(f"/dev/shm/{name}")


LOOPBACK = {"0100007F", "0000000000000000FFFF00000100007F"}  # 127.0.0.1, ::ffff:127.0.0.1


def test_server_binds_loopback_by_default(server: Serve) -> None:
    listening: dict[int, set[str]] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if state == "0A":  # LISTEN
                address, hex_port = local.split(":")
                listening.setdefault(int(hex_port, 16), set()).add(address)
    for port in (server.http_port, server.grpc_port, server.metrics_port):
        assert listening.get(port) and listening[port] <= LOOPBACK, (port, listening.get(port))
