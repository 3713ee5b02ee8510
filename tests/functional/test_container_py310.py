"""The container, rebuilt outside Docker, serves, heals and stops.

It has Python 3.10, what docker/Dockerfile installs, its backend COPY layout and
the Deployment's command.

Docker cannot run here, so this sets up what the image holds, read from the
Dockerfile itself (tests/support/dockerfile.py):

- a Python 3.10 venv (the image's Ubuntu 22.04 Python), cached in ``.venv-py310/``;
- only the requirements the Dockerfile's ``pip install`` lines name, and the project
  as a wheel built the way its first stage builds it, installed without dependencies;
- the nvidia-pytriton wheel's tritonserver (Triton 2.51, the image's 24.10) standing
  in for ``/opt/tritonserver``, installed without dependencies, with the Dockerfile's
  COPY lines laid out under its ``backends/ovtriton``;
- the Kubernetes Deployment's ``command`` and ``args`` (the same flags the KServe
  runtime uses, other ports), with ``/models`` mapped to a temporary folder.

Without Python 3.10 the tests are skipped, saying so.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import openvino as ov
import pytest

from ovtriton_serve.examples import two_io
from ovtriton_serve.server.stubs import SHM_DIR, SHM_REGION_MARK, child_processes, is_alive
from tests.functional.clients import infer
from tests.functional.serving import add_model
from tests.support.dockerfile import (
    ROOT,
    final_stage,
    lay_out_backend,
    requirements,
)
from tests.support.manifests import containers, of_kind
from tests.support.serve_process import ServeProcess, free_port

pytestmark = pytest.mark.functional

PYTHON310 = [Path("/root/.pyenv/versions/3.10.13/bin/python"), shutil.which("python3.10")]
VENV = ROOT / ".venv-py310"
# The stand-in for /opt/tritonserver: the Triton build nvidia-pytriton ships.
STAND_IN = "nvidia-pytriton==0.7.0"


def python310() -> Path:
    for candidate in PYTHON310:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    pytest.skip("Python 3.10 (the container's Python) is not installed on this machine")


def pip(*args: str) -> None:
    subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "--quiet", *args], check=True)


def build_wheel(target: Path) -> Path:
    """The project's wheel, built from the files the Dockerfile's first stage copies."""
    source = target / "src"
    source.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for name in ("backend", "serve", "client"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            str(target),
            str(source),
        ],
        check=True,
    )
    (wheel,) = target.glob("ovtriton-*.whl")
    return wheel


def container_venv(wheel: Path) -> Path:
    """``.venv-py310`` with the image's packages; rebuilt only when they change."""
    stage = final_stage()
    wanted = [*requirements(stage), STAND_IN]
    stamp = hashlib.sha256(json.dumps([str(python310()), wanted]).encode()).hexdigest()
    marker = VENV / ".container-packages"
    if not marker.is_file() or marker.read_text() != stamp:
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([str(python310()), "-m", "venv", str(VENV)], check=True)
        pip("install", *requirements(stage))
        pip("install", "--no-deps", STAND_IN)
        marker.write_text(stamp)
    pip("install", "--no-deps", "--force-reinstall", str(wheel))
    return VENV


def stand_in_root(venv: Path) -> Path:
    """The stand-in /opt/tritonserver, with the Dockerfile's backend COPY lines laid out."""
    (root,) = venv.glob("lib/python3.10/site-packages/pytriton/tritonserver")
    backend = root / "backends" / "ovtriton"
    shutil.rmtree(backend, ignore_errors=True)
    lay_out_backend(final_stage(), backend)
    return root


class Container(ServeProcess):
    """The Deployment's command, run in the rebuilt container on free ports."""

    def __init__(self, venv: Path, triton_root: Path, models: Path) -> None:
        super().__init__(models)
        self.health_port = free_port()
        # The Kubernetes Secret's file: a key only this user can read.
        self.admin_key_file = models.parent / f"{models.name}-admin-key"
        self.admin_key_file.write_text("container-test-admin-key\n")
        self.admin_key_file.chmod(0o600)
        (deployment,) = of_kind("Deployment")
        (container,) = containers(deployment)
        mapped = {
            "--model-repository": str(models),
            "--tritonserver": str(triton_root / "bin" / "tritonserver"),
            "--http-port": str(self.http_port),
            "--grpc-port": str(self.grpc_port),
            "--metrics-port": str(self.metrics_port),
            "--health-port": str(self.health_port),
            "--admin-key-file": str(self.admin_key_file),
        }
        args = []
        for arg in container["args"]:
            flag, _, value = arg.partition("=")
            args.append(f"{flag}={mapped.get(flag, value)}")
        assert container["command"][0] == "ovtriton"
        self.command = [str(venv / "bin" / "ovtriton"), *container["command"][1:], *args]

    def health(self, path: str) -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.health_port}{path}", timeout=10
            ) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())


def wait_for(condition: Any, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout:.0f} s for {what}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    python310()
    venv = container_venv(build_wheel(tmp_path_factory.mktemp("wheel")))
    yield venv, stand_in_root(venv)


def test_the_rebuilt_container_is_python_310_without_the_dev_packages(rebuilt: Any) -> None:
    venv, _ = rebuilt
    python = str(venv / "bin" / "python")
    version = subprocess.run(
        [python, "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.strip() == "(3, 10)"
    # Not editable: the package lives in the venv, not in this repository.
    where = subprocess.run(
        [python, "-c", "import ovtriton_serve; print(ovtriton_serve.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert str(venv) in where.stdout and str(ROOT / "serve") not in where.stdout
    for absent in ("onnx", "pytest", "hypothesis"):
        probe = subprocess.run([python, "-c", f"import {absent}"], capture_output=True)
        assert probe.returncode != 0, f"{absent} is installed, the image has no such package"


def test_serve_infer_heal_and_stop_in_the_rebuilt_container(rebuilt: Any, tmp_path: Path) -> None:
    venv, triton_root = rebuilt
    model = two_io()
    add_model(tmp_path, "two_io", model)
    compiled = ov.Core().compile_model(model, "CPU")
    rng = np.random.default_rng(14)
    server = Container(venv, triton_root, tmp_path)
    server.start()
    try:
        assert server.ready, server.errors()
        wait_for(lambda: server.health("/readyz")[0] == 200, "/readyz")
        assert server.health("/livez") == (200, {"live": True})

        def check() -> None:
            a, b = (rng.standard_normal((3, 4)).astype(np.float32) for _ in range(2))
            served = infer("http", server, "two_io", {"a": a, "b": b})
            expected = compiled({"a": a, "b": b})
            for name in ("sum", "product"):
                np.testing.assert_allclose(served[name], expected[name], rtol=1e-6)

        check()
        metrics = urllib.request.urlopen(server.metrics_url, timeout=10).read().decode()
        for family in ("nv_inference_queue_duration_us", "nv_inference_request_success"):
            assert f'{family}{{model="two_io"' in metrics  # what the HPA's rule reads

        stub = server.stub_pid("two_io")
        assert stub is not None
        os.kill(stub, signal.SIGKILL)
        wait_for(lambda: "two_io: its Python stub died; reloaded it" in server.output, "the heal")
        wait_for(lambda: server.health("/readyz")[0] == 200, "/readyz after the heal")
        assert server.stub_pid("two_io") not in (None, stub)
        check()
        assert server.health("/livez")[0] == 200

        assert server.process is not None
        tree = child_processes(server.process.pid)
        tree += [c for p, _ in tree for c in child_processes(p)]
        regions = [a for _, argv in tree for a in argv if SHM_REGION_MARK in a]
        assert server.stop(signal.SIGTERM) == 0
        assert not [pid for pid, _ in tree if is_alive(pid)]
        assert not [r for r in regions if (SHM_DIR / r).exists()]
    finally:
        server.stop()
    # --log-format json: one event per line, the ready banner included.
    plain = [line for line in server.lines if not line.startswith("{")]
    assert not plain, plain
    events = [json.loads(line) for line in server.lines]
    assert {e["source"] for e in events} == {"ovtriton", "tritonserver"}
    assert any(e["message"].startswith("ovtriton: server ready") for e in events)
