"""Reading Python-backend stub command lines."""

from __future__ import annotations

import subprocess
import sys

from ovtriton_serve.server.stubs import child_processes, is_alive, parse_stub

ARGV = [
    "/tmp/b/python/triton_python_backend_stub",
    "/repo/add_one/1/model.py",
    "triton_ovtriton_backend_shm_region_1234",
    "1048576",
    "1048576",
    "4749",
    "/tmp/b/python",
    "336",
    "add_one_0",
    "/tmp/b/ovtriton",
]


def test_instance_stub() -> None:
    stub = parse_stub(7, ARGV)
    assert stub is not None
    assert (stub.model, stub.instance, stub.regions) == (
        "add_one",
        "add_one_0",
        ("triton_ovtriton_backend_shm_region_1234",),
    )
    assert stub.serves_requests


def test_model_level_stub_does_not_serve() -> None:
    stub = parse_stub(7, [*ARGV[:8], "add_one", ARGV[9]])
    assert stub is not None and not stub.serves_requests


def test_other_processes_are_not_stubs() -> None:
    assert parse_stub(7, ["/usr/bin/python3", "x.py"]) is None
    assert parse_stub(7, []) is None


def test_children_and_liveness() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        import os

        assert child.pid in [pid for pid, _ in child_processes(os.getpid())]
        assert is_alive(child.pid)
    finally:
        child.kill()
        child.wait()
    assert not is_alive(child.pid)
