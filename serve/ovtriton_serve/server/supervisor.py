"""Keeping tritonserver up: restart it when it dies, within a bounded budget.

Triton 2.51 can die on hostile input (a huge declared shape ends in
``std::bad_alloc``). The supervisor logs why it died, lets
:meth:`TritonProcess.stop` reap its stubs and shared memory, and starts it again with
backoff; too many deaths in a window end in a clear non-zero exit, not a loop.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from ovtriton_serve.server.process import ServerStartError, TritonProcess

# Seconds between looks for dead stubs (a /proc scan, ~10 ms).
HEAL_INTERVAL = 1.0


@dataclass
class RestartBudget:
    """At most ``max_restarts`` restarts within ``window`` seconds, with backoff.

    Pure bookkeeping (the clock is passed in), so it is unit-testable.
    """

    max_restarts: int = 5
    window: float = 300.0
    first_delay: float = 0.5
    max_delay: float = 10.0
    _restarts: deque[float] = field(default_factory=deque)

    def next_delay(self, now: float) -> float | None:
        """Seconds to wait before the next restart, or None when the budget is spent."""
        while self._restarts and now - self._restarts[0] > self.window:
            self._restarts.popleft()
        if len(self._restarts) >= self.max_restarts:
            return None
        delay = min(self.first_delay * 2 ** len(self._restarts), self.max_delay)
        self._restarts.append(now)
        return delay


def describe_exit(code: int | None) -> str:
    """A process exit status in words: "killed by SIGKILL", "exited with code 1"."""
    if code is not None and code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exited with code {code}"


class Supervisor:
    """Runs tritonserver until ``stop`` is set, restarting it when it dies.

    Args:
        start_process: Builds a fresh, not yet started :class:`TritonProcess`.
        budget: How many restarts are allowed, and how fast.
        log: Where the supervisor reports.
        on_ready: Called with the process each time it is live (first start and
            every restart).
        on_stop: Called once ``stop`` is set, before tritonserver is stopped (the
            front door closes its connections first, so none holds Triton's exit).
        start_timeout: Seconds a start (model loading) may take.
    """

    def __init__(
        self,
        start_process: Callable[[], TritonProcess],
        budget: RestartBudget,
        log: TextIO,
        on_ready: Callable[[TritonProcess], None] = lambda _: None,
        on_stop: Callable[[], None] = lambda: None,
        start_timeout: float = 300.0,
    ) -> None:
        self._start_process = start_process
        self._budget = budget
        self._log = log
        self._on_ready = on_ready
        self._on_stop = on_stop
        self._start_timeout = start_timeout
        self.restarts = 0

    def run(self, stop: threading.Event) -> int:
        """Serve until ``stop``; return the exit code for the command.

        The first start must succeed (a broken repository is the user's to fix);
        later starts count against the budget.
        """
        process = self._start_process()
        try:
            process.start(self._start_timeout, stop)
        except ServerStartError as error:
            self._say(str(error))
            return 1
        if stop.is_set():  # interrupted while loading: already stopped
            self._on_stop()
            process.stop()
            return 0
        self._on_ready(process)
        while True:
            self._watch(process, stop)
            if stop.is_set():
                self._on_stop()
                process.stop()
                return 0
            code = process.poll()
            self._say(f"tritonserver {describe_exit(code)}; its last lines:")
            for line in process.last_lines():
                self._say(f"  {line}")
            process.stop()  # reaps its stubs and removes its shared memory
            restarted = self._restart(stop)
            if restarted is None:
                return 0 if stop.is_set() else 1
            process = restarted

    def _watch(self, process: TritonProcess, stop: threading.Event) -> None:
        """Return when ``stop`` is set or tritonserver exits; heal dead stubs meanwhile."""
        next_heal = time.monotonic() + HEAL_INTERVAL
        while not stop.wait(0.2):
            if process.poll() is not None:
                return
            if time.monotonic() >= next_heal:
                for model in process.heal_stubs():
                    self._say(f"model {model}: its Python stub died; reloaded it")
                next_heal = time.monotonic() + HEAL_INTERVAL

    def _restart(self, stop: threading.Event) -> TritonProcess | None:
        while not stop.is_set():
            delay = self._budget.next_delay(time.monotonic())
            if delay is None:
                self._say(
                    f"tritonserver died {self._budget.max_restarts} times within "
                    f"{self._budget.window:.0f} s; giving up"
                )
                return None
            if stop.wait(delay):
                return None
            process = self._start_process()
            try:
                process.start(self._start_timeout, stop)
            except ServerStartError as error:
                self._say(f"restart failed: {error}")
                continue
            if stop.is_set():
                process.stop()
                return None
            self.restarts += 1
            self._say(f"tritonserver restarted ({self.restarts} so far)")
            self._on_ready(process)
            return process
        return None

    def _say(self, message: str) -> None:
        self._log.write(f"ovtriton: {message}\n")
        self._log.flush()
