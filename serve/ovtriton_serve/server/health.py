"""Health of the whole ``ovtriton serve``: ``/livez`` and ``/readyz`` on ``--health-port``.

Triton's own ``/v2/health/live`` stays 200 when a model's Python stub is dead (the
model stays READY and answers every request with an error) and says nothing about
the front door or the supervisor. An orchestrator's liveness probe needs a check
that fails in exactly the cases a restart of the container fixes:

- tritonserver does not answer ``/v2/health/live`` on the public HTTP port in time
  (a hung server, or a hung front door, which that request passes through);
- a model's stub died and the supervisor could not reload it;
- the supervisor itself has stopped running.

While the supervisor starts or restarts tritonserver, liveness holds (the restart
budget and the start timeout bound that), and readiness does not.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# The supervisor loop wakes every 0.2 s; a heal can block on Triton for up to ~40 s.
STALL_AFTER = 90.0
PROBE_TIMEOUT = 2.0
PHASES = ("starting", "serving", "restarting", "stopping")


@dataclass(frozen=True)
class Observation:
    """What the health endpoints judge, gathered at one moment.

    Attributes:
        phase: The supervisor's phase, one of :data:`PHASES`.
        heartbeat_age: Seconds since the supervisor loop last ran.
        triton_live: ``/v2/health/live`` on the public port answered 200 (False:
            another status; None: no answer within the probe timeout).
        triton_ready: The same for ``/v2/health/ready``.
        unhealed: Models whose Python stub died and could not be reloaded.
    """

    phase: str
    heartbeat_age: float
    triton_live: bool | None
    triton_ready: bool | None
    unhealed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """Whether the server is live and ready, and why not."""

    not_live: tuple[str, ...]
    not_ready: tuple[str, ...]

    @property
    def live(self) -> bool:
        """No reason to restart the server."""
        return not self.not_live

    @property
    def ready(self) -> bool:
        """Fit to receive traffic."""
        return not self.not_ready


def judge(observation: Observation, stall_after: float = STALL_AFTER) -> Verdict:
    """Liveness and readiness from one observation, with the reasons for any failure."""
    if observation.phase not in PHASES:
        raise ValueError(f"unknown phase {observation.phase!r}; expected one of {PHASES}")
    dead: list[str] = []
    if observation.heartbeat_age > stall_after:
        dead.append(f"the supervisor has not run for {observation.heartbeat_age:.0f} s")
    if observation.phase == "serving":
        if observation.triton_live is None:
            dead.append("tritonserver did not answer /v2/health/live in time")
        elif not observation.triton_live:
            dead.append("tritonserver answered /v2/health/live with an error")
        dead += [
            f"model {model}: its Python stub died and could not be reloaded"
            for model in observation.unhealed
        ]
    unready = list(dead)
    if observation.phase != "serving":
        unready.append(f"tritonserver is {observation.phase}")
    elif observation.triton_ready is not True and not dead:
        unready.append("tritonserver is not ready (/v2/health/ready)")
    return Verdict(not_live=tuple(dead), not_ready=tuple(unready))


def probe_status(url: str, timeout: float = PROBE_TIMEOUT) -> bool | None:
    """True for 200, False for another status, None when nothing answered in time."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return int(reply.status) == 200
    except urllib.error.HTTPError:
        return False
    except OSError:
        return None


class HealthMonitor:
    """Collects observations: the supervisor's state plus two probes of the public port.

    Args:
        http: ``host:port`` of the public HTTP endpoint (the front door when guarded).
        state: Returns the supervisor's ``(phase, heartbeat, unhealed models)``, the
            heartbeat on the ``time.monotonic`` clock.
    """

    def __init__(self, http: str, state: Callable[[], tuple[str, float, tuple[str, ...]]]):
        self.http = http
        self._state = state

    def observe(self) -> Observation:
        """The supervisor's state now, and (while serving) what the public port answers."""
        phase, heartbeat, unhealed = self._state()
        serving = phase == "serving"
        live = probe_status(f"http://{self.http}/v2/health/live") if serving else None
        ready = probe_status(f"http://{self.http}/v2/health/ready") if live else None
        return Observation(phase, time.monotonic() - heartbeat, live, ready, unhealed)


class HealthServer:
    """``GET /livez`` and ``GET /readyz``: 200 or 503, with a JSON body saying why."""

    def __init__(self, host: str, port: int, monitor: HealthMonitor) -> None:
        self.monitor = monitor
        handler = type("Handler", (_Handler,), {"health": self})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        """The port bound (useful when 0 was asked for)."""
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    health: HealthServer

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path not in ("/livez", "/readyz"):
            self._reply(404, {"error": f"unknown path {path}; use /livez or /readyz"})
            return
        verdict = judge(self.health.monitor.observe())
        live = path == "/livez"
        key, reasons = ("live", verdict.not_live) if live else ("ready", verdict.not_ready)
        body: dict[str, object] = {key: not reasons}
        if reasons:
            body["reasons"] = list(reasons)
        self._reply(503 if reasons else 200, body)

    def _reply(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Probes come every few seconds: logging each would drown the real events."""
