"""One tritonserver process: start, wait until ready, stop, leave nothing behind.

Ownership is exact: the Python stubs are the server's child processes, and each
stub's command line names its ``/dev/shm`` region, so stopping removes those regions
and no one else's.
"""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ovtriton.server.installation import TritonInstallation

SHM_DIR = Path("/dev/shm")
STUB_PROCESS = "triton_python_backend_stub"
# Stubs name their region triton_<backend>_backend_shm_region_<uuid>.
SHM_REGION_MARK = "_backend_shm_region_"


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
        return f"{self.http_host or self.host}:{self.http_port}"

    @property
    def grpc(self) -> str:
        return f"{self.host}:{self.grpc_port}"

    @property
    def metrics(self) -> str:
        return f"http://{self.host}:{self.metrics_port}/metrics"


class TritonProcess:
    """A running tritonserver with the ovtriton backend.

    Args:
        installation: Which Triton to run.
        model_repository: The Triton model repository.
        address: Host and ports.
        extra_args: More tritonserver arguments, passed through unchanged.
        log: Where Triton's output is copied (default: this process's stderr).
    """

    def __init__(
        self,
        installation: TritonInstallation,
        model_repository: Path,
        address: ServerAddress,
        extra_args: tuple[str, ...] = (),
        log: IO[str] | None = None,
    ) -> None:
        self.installation = installation
        self.model_repository = Path(model_repository).resolve()
        self.address = address
        self.extra_args = extra_args
        self._log = log if log is not None else sys.stderr
        self._workdir = tempfile.TemporaryDirectory(prefix="ovtriton-")
        self._process: subprocess.Popen[str] | None = None
        self._tail: collections.deque[str] = collections.deque(maxlen=200)
        self._regions: set[str] = set()
        self._stubs: set[int] = set()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def command(self, backend_dir: Path) -> list[str]:
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
            *self.extra_args,
        ]

    def start(self, timeout: float = 300.0) -> None:
        """Start tritonserver and wait until it is live (models loaded or failed).

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
        )
        threading.Thread(target=self._pump, daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
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
        return self._http_status("/v2/health/ready") == 200

    def poll(self) -> int | None:
        """Exit code once tritonserver has exited, else None."""
        self._remember_stubs()
        return self._process.poll() if self._process else None

    def stop(self, timeout: float = 30.0) -> int | None:
        """Stop tritonserver and its stubs; remove the shared memory they owned."""
        if self._process is None:
            return None
        self._remember_stubs()
        # Stubs of a server that died linger on their own; only a clean stop waits.
        grace = 0.0 if self._process.poll() is not None else 10.0
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._reap_stubs(grace)
        for region in self._regions:
            (SHM_DIR / region).unlink(missing_ok=True)
        self._workdir.cleanup()
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

    def _http_status(self, path: str) -> int | None:
        try:
            with urllib.request.urlopen(f"http://{self.address.http}{path}", timeout=2) as reply:
                return int(reply.status)
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return None

    def _remember_stubs(self) -> None:
        """Record the stub processes of this server and the shm regions they name."""
        if self._process is None:
            return
        for pid, argv in child_processes(self._process.pid):
            if argv and argv[0].endswith(STUB_PROCESS):
                self._stubs.add(pid)
                self._regions.update(a for a in argv[1:] if SHM_REGION_MARK in a)

    def last_lines(self, count: int = 15) -> list[str]:
        return list(self._tail)[-count:]

    def _reap_stubs(self, grace: float) -> None:
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(is_alive(pid) for pid in self._stubs):
            time.sleep(0.1)
        for pid in self._stubs:
            if is_alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def child_processes(parent: int) -> list[tuple[int, list[str]]]:
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == parent:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
                children.append((int(entry.name), [a.decode(errors="replace") for a in argv if a]))
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
    return children


def is_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
