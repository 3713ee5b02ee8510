"""``ovtriton serve`` as a child process: for tests, benchmarks and users' own harnesses.

It runs the command exactly as a user would (``python -m ovtriton_serve.cli.main serve``)
on 127.0.0.1 with free ports, keeps its output (and optionally writes it to a log
file), and stops it with a signal, as a terminal or an orchestrator would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ovtriton_client._local import ADMIN_GRPC_HEADER, ADMIN_HEADER, read_local_key
from ovtriton_serve.server.process import free_port
from ovtriton_serve.server.stubs import child_processes, parse_stub

STARTED_LINE = "ovtriton: server"  # "... ready" or "... live, but some models failed"


class ServeProcess:
    """``ovtriton serve --model-repository REPOSITORY`` on free ports.

    Args:
        repository: The model repository.
        extra: tritonserver arguments (after ``--``).
        options: More ``ovtriton serve`` options (``--no-guard``, ...).
        log_path: Also write the server's output to this file.
    """

    def __init__(
        self,
        repository: Path,
        extra: Sequence[str] = (),
        options: Sequence[str] = (),
        log_path: Path | None = None,
    ) -> None:
        self.repository = repository
        self.log_path = log_path
        # Clients kept open across calls (see tests/functional/clients.py), closed
        # before the stop: Triton waits for open HTTP connections when it exits.
        self.clients: list[Any] = []
        self.http_port, self.grpc_port, self.metrics_port = free_port(), free_port(), free_port()
        self.command = [
            sys.executable, "-m", "ovtriton_serve.cli.main", "serve",
            "--model-repository", str(repository),
            "--http-port", str(self.http_port),
            "--grpc-port", str(self.grpc_port),
            "--metrics-port", str(self.metrics_port),
            *options,
        ]  # fmt: skip
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

    def url(self, protocol: str) -> str:
        return self.http_url if protocol == "http" else self.grpc_url

    @property
    def admin_key(self) -> str | None:
        """The server's admin key, as its local users read it (its 0600 key file)."""
        return read_local_key(self.http_port)

    def admin_headers(self, protocol: str = "http") -> dict[str, str]:
        """Headers that grant the administrative APIs (empty without a key)."""
        key = self.admin_key
        header = ADMIN_HEADER if protocol == "http" else ADMIN_GRPC_HEADER
        return {header: key} if key else {}

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    @property
    def ready(self) -> bool:
        return f"{STARTED_LINE} ready" in self.output

    def errors(self, last: int = 20) -> str:
        """The last error lines of the output (or its last lines if none)."""
        wanted = [line for line in self.lines if line[:1] == "E" or "error" in line.lower()]
        return "\n".join((wanted or self.lines)[-last:])

    def start(self, timeout: float = 240.0) -> ServeProcess:
        """Start; return once the server is live or the command has exited.

        Raises:
            TimeoutError: Neither happened within ``timeout`` seconds.
        """
        self.start_background()
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(STARTED_LINE in line for line in self.lines):
                return self
            if self.process.poll() is not None:
                time.sleep(0.3)  # let the pump drain the last lines
                return self
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"ovtriton serve not live after {timeout} s:\n{self.errors()}")

    def start_background(self) -> ServeProcess:
        """Start and return at once (the server is loading)."""
        self.process = subprocess.Popen(
            self.command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,  # signals reach it only from us
        )
        threading.Thread(target=self._pump, daemon=True).start()
        return self

    def wait(self, timeout: float = 60.0) -> int:
        """Wait for the command to exit by itself; return its exit code."""
        assert self.process is not None
        code = self.process.wait(timeout)
        time.sleep(0.2)
        return code

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        """Send ``sig`` and wait; SIGKILL the whole group if it does not stop in 60 s."""
        for client in self.clients:
            client.close()
        self.clients.clear()
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(sig)
        try:
            return self.process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait()

    def tritonserver_pid(self) -> int | None:
        server = self._tritonserver()
        return None if server is None else server[0]

    def _tritonserver(self) -> tuple[int, list[str]] | None:
        """The running tritonserver child: its pid and command line."""
        assert self.process is not None
        servers = [
            (p, a) for p, a in child_processes(self.process.pid) if a[0].endswith("tritonserver")
        ]
        return servers[0] if servers else None

    def triton_http_url(self) -> str | None:
        """Where Triton's own HTTP listens: behind the front door, or the public port.

        Read from tritonserver's command line, so it follows a restart. None while no
        tritonserver runs.
        """
        server = self._tritonserver()
        if server is None:
            return None
        ports = [a.removeprefix("--http-port=") for a in server[1] if a.startswith("--http-port=")]
        return f"127.0.0.1:{ports[-1]}" if ports else None

    def stub_pid(self, model: str) -> int | None:
        """The pid of the Python stub serving ``model``'s first instance."""
        server = self.tritonserver_pid()
        for pid, argv in child_processes(server) if server else []:
            stub = parse_stub(pid, argv)
            if stub is not None and stub.model == model and stub.serves_requests:
                return pid
        return None

    def __enter__(self) -> ServeProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _pump(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        log = self.log_path.open("w") if self.log_path else None
        try:
            for line in self.process.stdout:
                self.lines.append(line.rstrip("\n"))
                if log:
                    log.write(line)
                    log.flush()
        finally:
            if log:
                log.close()
