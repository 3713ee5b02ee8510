"""The HTTP front door: a validating, bounded relay in front of Triton's HTTP endpoint.

Requests are parsed with httptools (llhttp, Node's HTTP parser) and relayed to
Triton with an aiohttp client session; no HTTP framing is written here. On the way:

- **Admin key.** Administrative APIs (see :mod:`ovtriton_serve.server.admin`) need
  the ``ovtriton-admin-key`` header; without it the request gets 403 before its body
  is read. The header reaches Triton only on a restricted request that carries it
  right, and Triton re-checks it there.
- **Inference checks.** :func:`~ovtriton_serve.server.request_guard.check_infer_request`
  rejects malformed requests with 400 before Triton parses them; large JSON is
  parsed on a worker thread, not on the event loop.
- **Bounds.** A body over ``max_body`` gets 413; when the bodies (and responses)
  held at once would pass ``budget``, a new request gets 503 instead of memory
  growing. A head must arrive within ``header_timeout``, a body must not stall for
  ``body_timeout``, and an idle keep-alive connection is closed after
  ``idle_timeout``. Every refusal is logged, one line each, rate-limited.
- **Shared-memory hand-off.** Large binary inputs reach Triton through system
  shared memory (:mod:`ovtriton_serve.server.shm_inputs`).
- **Health bodies.** ``/v2/health/live`` and ``/ready`` answer ``{"live": true}`` /
  ``{"ready": true}`` (Open Inference Protocol) where Triton sends an empty body.

gRPC and metrics go to Triton directly (Triton enforces the key on gRPC itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TextIO, cast

import aiohttp
import httptools

from ovtriton_serve.server.admin import HEADER, AdminKey, category
from ovtriton_serve.server.request_guard import (
    GuardError,
    check_infer_request,
    decode_body,
    is_infer_path,
)
from ovtriton_serve.server.shm_inputs import (
    PREFIX,
    Region,
    RegionPool,
    plan_moves,
    pointing_to,
    region_size,
)

MiB = 1 << 20
DEFAULT_MAX_BODY = 64 * MiB
DEFAULT_BUDGET = 512 * MiB
MAX_HEAD = 64 * 1024
# Binary request bodies from this size on reach Triton through shared memory.
SHM_MIN_BODY = 64 * 1024
# JSON from this size on is parsed on a worker thread.
THREAD_JSON_FROM = 256 * 1024
_HEADER_LENGTH = "inference-header-content-length"
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "content-length",
        "expect",
        "te",
        "trailer",
        "upgrade",
        "host",
    }
)
# aiohttp adds these unless told not to; Triton must see only what the client sent
# (an added Accept-Encoding would have it compress responses nobody asked for).
_SKIP_AUTO = frozenset({"Accept", "Accept-Encoding", "User-Agent", "Content-Type"})
_HEALTH = {"/v2/health/live": "live", "/v2/health/ready": "ready"}
_REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    408: "Request Timeout",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
}
RESTRICTED_MESSAGE = f"This API is restricted, expecting header '{HEADER}'"


@dataclass(frozen=True)
class Limits:
    """The front door's bounds (see the module docstring); sizes in bytes, times in s."""

    max_body: int = DEFAULT_MAX_BODY
    budget: int = DEFAULT_BUDGET
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    idle_timeout: float = 60.0
    max_head: int = MAX_HEAD


class ByteBudget:
    """Bytes of request and response bodies held at once, under a fixed limit.

    Used from the event loop only, so it needs no lock.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def reserve(self, size: int) -> bool:
        """Take ``size`` bytes if they fit; False (nothing taken) if they do not."""
        if self.used + size > self.limit:
            return False
        self.used += size
        return True

    def force(self, size: int) -> None:
        """Take ``size`` bytes even over the limit (a response already in memory)."""
        self.used += size

    def release(self, size: int) -> None:
        """Give back ``size`` bytes once a request and its response are done."""
        self.used -= size


class RejectionLog:
    """One line per refused request, at most ``rate`` a second (bursts of ``burst``).

    Beyond that, lines are counted and the count is reported with the next line
    written, so a flood cannot fill the disk or drown the supervisor's messages.
    """

    def __init__(
        self,
        stream: TextIO,
        rate: float = 5.0,
        burst: int = 20,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream, self._rate, self._burst, self._clock = stream, rate, burst, clock
        self._tokens = float(burst)
        self._last = clock()
        self.suppressed = 0

    def refused(self, peer: str, reason: str) -> bool:
        """Log that ``peer``'s request was refused for ``reason``; False if rate-limited."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens < 1:
            self.suppressed += 1
            return False
        self._tokens -= 1
        more = f" ({self.suppressed} more refusals not logged)" if self.suppressed else ""
        self.suppressed = 0
        with contextlib.suppress(OSError, ValueError):
            self._stream.write(f"ovtriton: front door refused {peer}: {reason}{more}\n")
            self._stream.flush()
        return True


@dataclass
class _Request:
    """One request as parsed: head, body, and what the front door decided early."""

    url: bytearray = field(default_factory=bytearray)
    headers: list[tuple[str, str]] = field(default_factory=list)
    method: str = ""
    body: bytearray = field(default_factory=bytearray)
    filled: int = 0
    chunked: bool = False
    reserved: int = 0
    keep_alive: bool = True
    admin: bool = False  # restricted, and carrying the right key
    error: tuple[int, str] | None = None  # answer this and close

    @property
    def path(self) -> str:
        return self.url.decode("latin-1")

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name), None)


@dataclass
class _Response:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes


class _Refused(Exception):
    """Raised from a parser callback to stop parsing after queueing an error answer."""


def _error(status: int, message: str, **extra: Any) -> _Response:
    body = json.dumps({**extra, "error": message}).encode()
    return _Response(
        status, _REASONS.get(status, "Error"), [("Content-Type", "application/json")], body
    )


def _unknown_region(response: _Response, region: Region) -> bool:
    """Triton refused a request because it does not know ``region`` (it restarted)."""
    return response.status in (400, 404) and region.name.encode() in response.body


def _names_own_region(parsed: dict[str, Any]) -> str | None:
    """The tensor of a client request that names one of the front door's regions."""
    for kind in ("inputs", "outputs"):
        for tensor in parsed.get(kind) or []:
            parameters = tensor.get("parameters") if isinstance(tensor, dict) else None
            if not isinstance(parameters, dict):
                continue
            region = parameters.get("shared_memory_region")
            if isinstance(region, str) and region.startswith(PREFIX):
                return f"{kind[:-1]} '{tensor.get('name')}'"
    return None


class _Connection(asyncio.Protocol):
    """One client connection: httptools parses, a task answers requests in order."""

    def __init__(self, door: FrontDoor) -> None:
        self.door = door
        self.limits = door.limits
        self.loop = door.loop
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.peer = "?"
        self.current: _Request | None = None
        self.queue: deque[_Request] = deque()
        self.worker: asyncio.Task[None] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.timer_kind = ""
        self.head_size = 0
        self.last_data = 0.0
        self.broken = False
        self.writable = asyncio.Event()
        self.writable.set()

    # -- asyncio.Protocol ----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.door.connections.add(self)
        # A new connection must send its request head promptly.
        self._arm("header", self.limits.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self.broken = True
        self.door.connections.discard(self)
        self._disarm()
        self.writable.set()
        if self.current is not None:
            self.door.budget.release(self.current.reserved)
            self.current.reserved = 0
        if self.worker is None or self.worker.done():
            self._drop_queue()
        else:
            self.worker.cancel()

    def data_received(self, data: bytes) -> None:
        if self.broken:
            return
        self.last_data = self.loop.time()
        try:
            self.parser.feed_data(data)
        except _Refused:
            self._stop_reading()
        except httptools.HttpParserUpgrade:
            self._refuse(400, "protocol upgrades are not supported")
            self._stop_reading()
        except httptools.HttpParserError as error:
            reason = str(error) or type(error).__name__
            self._refuse(400, f"malformed HTTP request: {reason}")
            self._stop_reading()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    # -- httptools callbacks -------------------------------------------------------

    def on_message_begin(self) -> None:
        self.current = _Request()
        self.head_size = 0
        self._arm("header", self.limits.header_timeout)

    def on_url(self, url: bytes) -> None:
        assert self.current is not None
        self._count_head(len(url))
        self.current.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        assert self.current is not None
        self._count_head(len(name) + len(value) + 4)
        self.current.headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        request = self.current
        assert request is not None
        request.method = self.parser.get_method().decode("latin-1")
        request.keep_alive = self.parser.should_keep_alive()
        key = self.door.admin_key
        if category(request.path) == "restricted":
            if key is not None and not key.matches(request.header(HEADER)):
                self._refuse(403, RESTRICTED_MESSAGE, log=f"{request.method} {request.path}")
                raise _Refused
            request.admin = key is not None
        request.chunked = "chunked" in (request.header("transfer-encoding") or "").lower()
        declared = request.header("content-length")
        length = int(declared) if declared and not request.chunked else 0  # llhttp checked it
        if length > self.limits.max_body:
            self._refuse(
                413, f"body of {length} bytes is over the limit of {self.limits.max_body} bytes"
            )
            raise _Refused
        if not self.door.budget.reserve(length):
            self._refuse(503, "the server is busy: too many request bytes in flight")
            raise _Refused
        request.reserved = length
        if length:
            request.body = bytearray(length)  # untouched pages cost no memory yet
        if (request.header("expect") or "").lower() == "100-continue" and self.transport:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # curl waits for this
        if length or request.chunked:
            self._arm("body", self.limits.body_timeout)
        else:
            self._disarm()

    def on_body(self, chunk: bytes) -> None:
        request = self.current
        assert request is not None
        end = request.filled + len(chunk)
        if request.chunked:
            if end > self.limits.max_body:
                self._refuse(413, f"body over the limit of {self.limits.max_body} bytes")
                raise _Refused
            if not self.door.budget.reserve(len(chunk)):
                self._refuse(503, "the server is busy: too many request bytes in flight")
                raise _Refused
            request.reserved += len(chunk)
            request.body += chunk
        else:
            request.body[request.filled : end] = chunk
        request.filled = end

    def on_message_complete(self) -> None:
        request = self.current
        assert request is not None
        self.current = None
        self._disarm()
        self.queue.append(request)
        self._stop_reading()
        self._work()

    # -- answering -----------------------------------------------------------------

    def _work(self) -> None:
        if self.worker is None or self.worker.done():
            self.worker = self.loop.create_task(self._answer_queue())

    async def _answer_queue(self) -> None:
        try:
            while self.queue and not self.broken:
                request = self.queue.popleft()
                try:
                    if request.error is not None:
                        await self._send(_error(*request.error), keep_alive=False)
                        self._close()
                        return
                    response = await self.door.answer(request, self.peer)
                    await self._send(response, request.keep_alive)
                finally:
                    self.door.budget.release(request.reserved)
                    request.reserved = 0
                if not request.keep_alive:
                    self._close()
                    return
            if not self.broken and self.transport is not None:
                self._arm("idle", self.limits.idle_timeout)
                self.transport.resume_reading()
        except asyncio.CancelledError:
            self._drop_queue()
            raise
        except Exception as error:  # a bug must cost one connection, never the loop
            self.door.log.refused(self.peer, f"internal error: {error!r}")
            self._abort()

    async def _send(self, response: _Response, keep_alive: bool) -> None:
        if self.transport is None or self.broken:
            return
        lines = [f"HTTP/1.1 {response.status} {response.reason}"]
        lines += [f"{k}: {v}" for k, v in response.headers]
        if response.status >= 200 and response.status not in (204, 304):
            lines.append(f"Content-Length: {len(response.body)}")
        if not keep_alive:
            lines.append("Connection: close")
        self.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        if response.body:
            self.door.budget.force(len(response.body))
            try:
                self.transport.write(response.body)
                await self._drained()
            finally:
                self.door.budget.release(len(response.body))

    async def _drained(self) -> None:
        """Wait until the client has taken the response.

        Bounded: a reader that stalls for ``body_timeout`` loses its connection.
        """
        if self.writable.is_set():
            return
        try:
            await asyncio.wait_for(self.writable.wait(), self.limits.body_timeout)
        except TimeoutError:
            self.door.log.refused(self.peer, "stopped reading its response")
            self._abort()

    # -- errors, timers, closing -----------------------------------------------------

    def _refuse(self, status: int, message: str, log: str = "") -> None:
        """Queue an error answer after the answers already due, then close."""
        self.door.log.refused(self.peer, f"{status} {message}" + (f" ({log})" if log else ""))
        request = self.current or _Request()
        self.current = None
        self.door.budget.release(request.reserved)
        request.reserved = 0
        request.error = (status, message)
        self.queue.append(request)
        self._work()

    def _count_head(self, size: int) -> None:
        self.head_size += size
        if self.head_size > self.limits.max_head:
            self._refuse(431, f"request head over {self.limits.max_head} bytes")
            raise _Refused

    def _stop_reading(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()

    def _arm(self, kind: str, seconds: float) -> None:
        self._disarm()
        self.timer_kind = kind
        self.timer = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _expired(self) -> None:
        self.timer = None
        if self.timer_kind == "body":
            # Re-armed lazily: one timer per stall rather than one per chunk.
            quiet = self.loop.time() - self.last_data
            if quiet < self.limits.body_timeout:
                self._arm("body", self.limits.body_timeout - quiet)
                return
            self.door.log.refused(self.peer, f"body stalled for {self.limits.body_timeout:g} s")
        elif self.timer_kind == "header":
            self.door.log.refused(
                self.peer, f"no complete request head within {self.limits.header_timeout:g} s"
            )
        self._abort()

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _abort(self) -> None:
        self.broken = True
        if self.transport is not None:
            self.transport.abort()

    def _drop_queue(self) -> None:
        while self.queue:
            self.door.budget.release(self.queue.popleft().reserved)


class FrontDoor:
    """Listens on ``host:port`` and relays to Triton's HTTP on 127.0.0.1:``upstream_port``.

    Args:
        host: Address to listen on.
        port: Public HTTP port.
        upstream_port: Triton's own HTTP port (on 127.0.0.1).
        admin_key: The key administrative APIs need (None: Triton restricts nothing,
            and neither does the front door).
        limits: Sizes and timeouts.
        shared_memory: Hand large binary inputs to Triton through shared memory
            (see :mod:`ovtriton_serve.server.shm_inputs`) instead of relaying their bytes.
        log: Where refusals are logged.
    """

    def __init__(
        self,
        host: str,
        port: int,
        upstream_port: int,
        admin_key: AdminKey | None = None,
        limits: Limits | None = None,
        shared_memory: bool = True,
        log: TextIO | None = None,
    ) -> None:
        self.host, self.port, self.upstream_port = host, port, upstream_port
        self.admin_key = admin_key
        self.limits = limits or Limits()
        self.budget = ByteBudget(self.limits.budget)
        self.log = RejectionLog(log if log is not None else sys.stderr)
        self.connections: set[_Connection] = set()
        self.loop = asyncio.new_event_loop()
        self._regions = RegionPool() if shared_memory else None
        self._thread = threading.Thread(target=self._run, name="front-door", daemon=True)
        self._server: asyncio.Server | None = None
        self._session: aiohttp.ClientSession | None = None
        self._parsing = ThreadPoolExecutor(2, thread_name_prefix="front-door-json")
        self._stopped = False

    # -- lifetime ------------------------------------------------------------------

    def start(self) -> None:
        """Bind and serve in a background thread. Raises OSError if the port is taken."""
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), self.loop)
        try:
            future.result(timeout=10)
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = 1.0) -> None:
        """Close every connection (answered or not) and stop, within about ``timeout`` s."""
        if self._stopped:
            return
        self._stopped = True
        if self._thread.is_alive():
            future = asyncio.run_coroutine_threadsafe(self._shutdown(timeout / 2), self.loop)
            with contextlib.suppress(Exception):
                future.result(timeout)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)
        self._parsing.shutdown(wait=False, cancel_futures=True)
        if self._regions is not None:
            self._regions.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            self.loop.close()

    async def _listen(self) -> None:
        # Closed connections are reused at once; no pooling limit: the budget bounds memory.
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, force_close=False),
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=5),
            skip_auto_headers=_SKIP_AUTO,
            # One session serves every client: it must never carry state between them.
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        self._server = await self.loop.create_server(
            lambda: _Connection(self), self.host, self.port, reuse_address=True
        )

    async def _shutdown(self, grace: float) -> None:
        if self._server is not None:
            self._server.close()
        for connection in list(self.connections):
            connection._abort()
        current = asyncio.current_task()
        tasks = [task for task in asyncio.all_tasks() if task is not current]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=grace)
        if self._session is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._session.close(), grace)

    # -- answering one request -----------------------------------------------------

    async def answer(self, request: _Request, peer: str) -> _Response:
        """The response to one complete request: refused here, or Triton's."""
        path = request.path
        if request.method == "POST" and is_infer_path(path):
            rejection, parsed = await self._check(request)
            if rejection is not None:
                self.log.refused(peer, f"400 {rejection} ({request.method} {path})")
                return _error(400, rejection)
            return await self._forward_infer(request, parsed)
        response = await self._forward(request)
        if response is None:
            return _error(503, "the server is restarting")
        health = _HEALTH.get(path.split("?", 1)[0])
        if health and request.method == "GET" and not response.body:
            response.body = json.dumps({health: response.status == 200}).encode()
            response.headers = [
                (k, v) for k, v in response.headers if k.lower() != "content-type"
            ] + [("Content-Type", "application/json")]
        return response

    async def _check(self, request: _Request) -> tuple[str | None, dict[str, Any] | None]:
        """Why an inference request is refused (None: it is not), and its parsed JSON."""
        length = request.header(_HEADER_LENGTH)
        json_size = request.filled
        if length is not None and length.isdigit():
            json_size = min(json_size, int(length))
        if json_size < THREAD_JSON_FROM and request.header("content-encoding") is None:
            return self._check_now(request)
        return await self.loop.run_in_executor(self._parsing, self._check_now, request)

    def _check_now(self, request: _Request) -> tuple[str | None, dict[str, Any] | None]:
        length = request.header(_HEADER_LENGTH)
        try:
            # The guard reads bytes; a bytearray behaves the same (slices, json.loads,
            # zlib) and copying a large body just to change its type would double it.
            raw = cast(bytes, request.body)
            body = decode_body(raw, request.header("content-encoding"), self.limits.max_body)
            parsed = check_infer_request(body, int(length) if length is not None else None)
        except (GuardError, ValueError) as error:
            return str(error), None
        own = _names_own_region(parsed)
        if own is not None:
            return f"{own}: shared-memory regions named {PREFIX}_* belong to the server", None
        return None, parsed

    async def _forward_infer(self, request: _Request, parsed: dict[str, Any] | None) -> _Response:
        """Relay, handing a large binary request's tensors over in shared memory."""
        length = request.header(_HEADER_LENGTH)
        moves = None
        if (
            self._regions is not None
            and parsed is not None
            and length is not None
            and request.filled >= SHM_MIN_BODY
            and request.header("content-encoding") in (None, "identity")
        ):
            moves = plan_moves(parsed, int(length), request.filled)
        region = (
            None
            if moves is None or self._regions is None
            else self._regions.acquire(region_size(moves))
        )
        if moves is None or region is None:
            return await self._forward(request) or _error(503, "the server is restarting")
        assert self._regions is not None and parsed is not None
        try:
            region.fill(cast(bytes, request.body), moves)
            headers = [(k, v) for k, v in request.headers if k != _HEADER_LENGTH]
            body = json.dumps(pointing_to(parsed, moves, region.name)).encode()
            shared = _Request(
                url=request.url, headers=headers, method=request.method, body=bytearray(body)
            )
            shared.filled = len(body)
            # A region Triton does not know (first use, or Triton restarted) is
            # registered, once, then the request sent again.
            response: _Response | None = None
            for attempt in range(2):
                if not region.registered and not await self._register(region):
                    response = await self._forward(request)
                    break
                response = await self._forward(shared)
                if attempt == 0 and response is not None and _unknown_region(response, region):
                    region.registered = False
                    continue
                break
            return response or _error(503, "the server is restarting")
        finally:
            self._regions.release(region)

    async def _register(self, region: Region) -> bool:
        body = region.register_body()
        request = _Request(
            url=bytearray(f"/v2/systemsharedmemory/region/{region.name}/register".encode()),
            headers=[("content-type", "application/json")],
            method="POST",
            body=bytearray(body),
            admin=True,  # the front door's own registration: it holds the key
        )
        request.filled = len(body)
        response = await self._forward(request)
        region.registered = response is not None and response.status == 200
        return region.registered

    async def _forward(self, request: _Request) -> _Response | None:
        """Triton's response to ``request``, or None when Triton cannot be reached.

        A pooled connection that went stale (Triton restarted) fails before anything
        was processed on it: the request is sent once more, on a fresh connection.
        """
        assert self._session is not None
        headers = [(k, v) for k, v in request.headers if k not in _HOP_BY_HOP and k != HEADER]
        if request.admin and self.admin_key is not None:
            headers.append((HEADER, self.admin_key.value))
        url = f"http://127.0.0.1:{self.upstream_port}{request.path}"
        body = memoryview(request.body)[: request.filled] if request.filled else None
        for attempt in range(2):
            try:
                async with self._session.request(
                    request.method,
                    url,
                    headers=headers,
                    data=body,
                    allow_redirects=False,
                ) as reply:
                    data = await reply.read()
                    kept = [
                        (k.decode("latin-1"), v.decode("latin-1"))
                        for k, v in reply.raw_headers
                        if k.decode("latin-1").lower() not in _HOP_BY_HOP
                    ]
                    return _Response(reply.status, reply.reason or "", kept, data)
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
                if attempt == 1:
                    return None
            except (aiohttp.ClientError, OSError):
                return None
        return None
