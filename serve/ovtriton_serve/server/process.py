"""One tritonserver process: start, wait until ready, stop, leave nothing behind.

Ownership is exact: the Python stubs are the server's child processes, and each
stub's command line names its ``/dev/shm`` region, so stopping removes those regions
and no one else's.
"""

from __future__ import annotations

import collections
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ovtriton_serve.server.admin import HEADER, triton_arguments
from ovtriton_serve.server.installation import TritonInstallation
from ovtriton_serve.server.stubs import StubRegistry
from ovtriton_serve.server.watchdog import Watchdog

_PR_SET_PDEATHSIG = 1
# Seconds a stopping tritonserver gets before SIGKILL, and its stubs after it: the
# whole stop stays within 5 s whatever clients do (Triton would wait 30 s for them).
STOP_TIMEOUT = 2.5
STUB_GRACE = 0.5


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Have the kernel SIGKILL this child when the thread that started it dies.

    That thread is the supervisor's (the main thread of ``ovtriton serve``), so
    tritonserver cannot outlive ``ovtriton serve`` even when it is SIGKILLed.
    """
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that was free a moment ago (for Triton's private HTTP port)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class ServerStartError(RuntimeError):
    """tritonserver exited or did not become live; carries Triton's own error lines."""


@dataclass(frozen=True)
class ServerAddress:
    """Where the server listens."""

    host: str = "127.0.0.1"
    http_port: int = 8000
    grpc_port: int = 8001
    metrics_port: int = 8002
    # Where Triton's own HTTP listens when a front door sits on ``http_port``.
    http_host: str | None = None

    @property
    def http(self) -> str:
        """``host:port`` of Triton's own HTTP endpoint."""
        return f"{self.http_host or self.host}:{self.http_port}"

    @property
    def grpc(self) -> str:
        """``host:port`` of the gRPC endpoint."""
        return f"{self.host}:{self.grpc_port}"

    @property
    def metrics(self) -> str:
        """URL of the Prometheus metrics."""
        return f"http://{self.host}:{self.metrics_port}/metrics"


class TritonProcess:
    """A running tritonserver with the ovtriton backend.

    Args:
        installation: Which Triton to run.
        model_repository: The Triton model repository.
        address: Host and ports.
        extra_args: More tritonserver arguments, passed through unchanged.
        log: Where Triton's output is copied (default: this process's stderr).
        admin_key: Restrict the administrative APIs to this key (see
            :mod:`ovtriton_serve.server.admin`); the healer's own calls carry it.
        watchdog: Kills the server's process group if ``ovtriton serve`` dies.
    """

    def __init__(
        self,
        installation: TritonInstallation,
        model_repository: Path,
        address: ServerAddress,
        extra_args: tuple[str, ...] = (),
        log: IO[str] | None = None,
        admin_key: str | None = None,
        watchdog: Watchdog | None = None,
    ) -> None:
        self.installation = installation
        self.model_repository = Path(model_repository).resolve()
        self.address = address
        self.extra_args = extra_args
        self._log = log if log is not None else sys.stderr
        self._workdir = tempfile.TemporaryDirectory(prefix="ovtriton-")
        self._process: subprocess.Popen[str] | None = None
        self._tail: collections.deque[str] = collections.deque(maxlen=200)
        self.stubs = StubRegistry()
        self._admin_key = admin_key
        self._watchdog = watchdog

    @property
    def pid(self) -> int | None:
        """Tritonserver's pid, or None before it starts."""
        return self._process.pid if self._process else None

    def command(self, backend_dir: Path) -> list[str]:
        """The tritonserver command line for a backend directory."""
        host = self.address.host
        return [
            str(self.installation.server),
            f"--model-repository={self.model_repository}",
            f"--backend-directory={backend_dir}",
            f"--http-address={self.address.http_host or host}",
            f"--grpc-address={host}",
            f"--metrics-address={host}",
            f"--http-port={self.address.http_port}",
            f"--grpc-port={self.address.grpc_port}",
            f"--metrics-port={self.address.metrics_port}",
            *(triton_arguments(self._admin_key) if self._admin_key else ()),
            *self.extra_args,
        ]

    def start(self, timeout: float = 300.0, stop: threading.Event | None = None) -> None:
        """Start tritonserver and wait until it is live (models loaded or failed).

        Args:
            timeout: Seconds loading may take.
            stop: When set while loading, the server is killed at once (Triton
                ignores SIGTERM until its models are loaded) and this returns.

        Raises:
            ServerStartError: The server exited (a model failed to load with
                ``--exit-on-error``, a port was taken, ...) or timed out.
        """
        backend_dir = self.installation.backend_directory(Path(self._workdir.name) / "backends")
        self._process = subprocess.Popen(
            self.command(backend_dir),
            env=self.installation.environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,  # our signal handler decides how it stops
            preexec_fn=_die_with_parent,
        )
        if self._watchdog is not None:
            self._watchdog.watch(self._process.pid)  # its own process group, stubs included
        threading.Thread(target=self._pump, daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if stop is not None and stop.is_set():
                self.stop(timeout=0.5)
                return
            self._remember_stubs()
            if self._process.poll() is not None:
                time.sleep(0.2)  # let the log pump drain Triton's last lines
                self.stop()
                raise ServerStartError(self._failure_text())
            if self._http_status("/v2/health/live") == 200:
                return
            time.sleep(0.2)
        self.stop()
        raise ServerStartError(f"tritonserver was not live after {timeout:.0f} s")

    def is_ready(self) -> bool:
        """Whether Triton says it is ready (every model loaded)."""
        return self._http_status("/v2/health/ready") == 200

    def poll(self) -> int | None:
        """Exit code once tritonserver has exited, else None."""
        return self._process.poll() if self._process else None

    def heal_stubs(self) -> list[str]:
        """Reload each model whose Python stub died while the server lives.

        Triton 2.51 keeps such a model READY but answers every request with "Stub
        process is not healthy" and never restarts the stub. An unload + load through
        the repository API (explicit model control) starts a new one. A stub that
        exited because its model was unloaded, or was replaced, is left alone.

        Returns:
            The models reloaded.
        """
        self._remember_stubs()
        healed = []
        alive = {stub.instance for stub in self.stubs.alive()}
        for stub in self.stubs.pop_dead():
            if not stub.serves_requests or stub.instance in alive:
                continue
            if self._model_state(stub.model) != "READY":
                continue
            model = urllib.parse.quote(stub.model, safe="")
            if self._post(f"/v2/repository/models/{model}/unload") == 200 and (
                self._post(f"/v2/repository/models/{model}/load") == 200
            ):
                healed.append(stub.model)
        self._remember_stubs()
        return healed

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """Stop tritonserver and its stubs; remove the shared memory they owned.

        SIGTERM, then SIGKILL after ``timeout`` seconds: clients still connected
        get their connections closed rather than holding the stop.
        """
        if self._process is None:
            return None
        self._remember_stubs()
        # Stubs of a server that died linger on their own; only a clean stop waits.
        grace = 0.0 if self._process.poll() is not None else STUB_GRACE
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self.stubs.reap(grace)
        self.stubs.remove_regions()
        self._workdir.cleanup()
        if self._watchdog is not None:
            self._watchdog.forget(self._process.pid)
        return self._process.returncode

    def error_lines(self) -> list[str]:
        """Triton's error lines (``E...``) and other last output, newest last."""
        return [line for line in self._tail if line[:1] == "E" or "error" in line.lower()]

    def _failure_text(self) -> str:
        code = self._process.returncode if self._process else None
        lines = self.error_lines() or list(self._tail)[-15:]
        return f"tritonserver exited with code {code}:\n" + "\n".join(lines)

    def _pump(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            self._tail.append(line.rstrip("\n"))
            self._log.write(line)
            self._log.flush()

    def _headers(self) -> dict[str, str]:
        return {HEADER: self._admin_key} if self._admin_key else {}

    def _http_status(self, path: str, method: str = "GET") -> int | None:
        request = urllib.request.Request(
            f"http://{self.address.http}{path}",
            data=b"" if method == "POST" else None,
            method=method,
            headers=self._headers(),
        )
        try:
            with urllib.request.urlopen(request, timeout=30 if method == "POST" else 2) as reply:
                return int(reply.status)
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return None

    def _remember_stubs(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self.stubs.refresh(self._process.pid)

    def _post(self, path: str) -> int | None:
        return self._http_status(path, method="POST")

    def _model_state(self, model: str) -> str | None:
        request = urllib.request.Request(
            f"http://{self.address.http}/v2/repository/index",
            data=b"{}",
            method="POST",
            headers=self._headers(),
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                index = json.loads(reply.read())
        except (OSError, ValueError):
            return None
        states = [m.get("state") for m in index if m.get("name") == model]
        return "READY" if "READY" in states else (states[0] if states else None)

    def last_lines(self, count: int = 15) -> list[str]:
        """The last ``count`` lines Triton printed (for error messages)."""
        return list(self._tail)[-count:]
