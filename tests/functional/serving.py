"""Start ``ovtriton serve`` for functional tests: free ports, 127.0.0.1, clean stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import openvino as ov

READY_LINE = "ovtriton: server"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Serve:
    """``ovtriton serve`` as a child process, as a user would run it."""

    def __init__(
        self, repository: Path, extra: Sequence[str] = (), options: Sequence[str] = ()
    ) -> None:
        self.repository = repository
        self.http_port, self.grpc_port, self.metrics_port = free_port(), free_port(), free_port()
        self.command = [
            sys.executable,
            "-m",
            "ovtriton.cli.main",
            "serve",
            "--model-repository",
            str(repository),
            "--http-port",
            str(self.http_port),
            "--grpc-port",
            str(self.grpc_port),
            "--metrics-port",
            str(self.metrics_port),
            *options,
        ]
        if extra:
            self.command += ["--", *extra]
        self.lines: list[str] = []
        self.process: subprocess.Popen[str] | None = None

    @property
    def http_url(self) -> str:
        return f"127.0.0.1:{self.http_port}"

    @property
    def grpc_url(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def start(self, timeout: float = 240.0) -> Serve:
        self.process = subprocess.Popen(
            self.command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        threading.Thread(target=self._pump, daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(READY_LINE in line for line in self.lines):
                return self
            if self.process.poll() is not None:
                time.sleep(0.3)
                return self
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"ovtriton serve not ready after {timeout} s:\n{self.output[-3000:]}")

    def wait(self, timeout: float = 60.0) -> int:
        assert self.process is not None
        code = self.process.wait(timeout)
        time.sleep(0.2)
        return code

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(sig)
        try:
            return self.process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait()

    def __enter__(self) -> Serve:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _pump(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))


def add_model(
    repository: Path,
    name: str,
    model: ov.Model | Path,
    config: str = "",
    versions: Sequence[int] = (1,),
    filename: str = "model.xml",
) -> Path:
    """Write ``repository/name`` with ``config.pbtxt`` and each version's model file."""
    folder = repository / name
    for version in versions:
        target = folder / str(version) / filename
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(model, Path):
            target.write_bytes(model.read_bytes())
        else:
            ov.save_model(model, target, compress_to_fp16=False)
    (folder / "config.pbtxt").write_text(f'backend: "ovtriton"\n{config}\n')
    return folder


def param(key: str, value: str) -> str:
    """A ``config.pbtxt`` string parameter line, quotes escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'parameters: {{ key: "{key}" value: {{ string_value: "{escaped}" }} }}\n'
