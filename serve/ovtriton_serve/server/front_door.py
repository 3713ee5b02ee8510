"""A thin HTTP/1.1 front in front of Triton's HTTP endpoint.

It forwards every request unchanged except inference requests that
:func:`~ovtriton_serve.server.request_guard.check_infer_request` rejects, which get a 400
without reaching Triton. Bodies are relayed as bytes (JSON and binary tensors alike),
so tritonclient, the SDK and perf_analyzer see the same KServe v2 protocol. gRPC and
metrics go to Triton directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from dataclasses import dataclass
from typing import Any

from ovtriton.rules.lexing import is_digits
from ovtriton_serve.server.request_guard import (
    GuardError,
    check_infer_request,
    decode_body,
    is_infer_path,
)
from ovtriton_serve.server.shm_inputs import (
    Region,
    RegionPool,
    plan_moves,
    pointing_to,
    region_size,
)

MAX_HEAD = 64 * 1024
# Binary request bodies from this size on reach Triton through shared memory.
SHM_MIN_BODY = 64 * 1024
_HEADER_LENGTH = "inference-header-content-length"
_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]
DEFAULT_MAX_BODY = 1 << 30


@dataclass
class _Message:
    """One HTTP request or response: its head (start line + headers) and body."""

    start: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    def write_to(self, writer: asyncio.StreamWriter) -> None:
        """Queue the message on ``writer``: head and body apart, so that a large body
        is handed to the socket as it is, never copied into one joined buffer.
        """
        writer.write(self.head())
        if self.body:
            writer.write(self.body)

    def head(self) -> bytes:
        # Bodies always travel with Content-Length (chunked input is re-framed).
        lines = [self.start]
        lines += [
            f"{k}: {v}"
            for k, v in self.headers
            if k.lower() not in ("content-length", "transfer-encoding", "expect")
        ]
        if self.body or not self.start.startswith(("GET", "HEAD")):
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    @property
    def status(self) -> int:
        """A response's status code (its start line is ``HTTP/1.1 200 OK``)."""
        return int(self.start.split(" ", 2)[1])

    @property
    def closes(self) -> bool:
        return (self.header("connection") or "").lower() == "close"


class BadMessage(Exception):
    """The peer sent something that is not HTTP/1.1 we can relay."""


async def _read_message(
    reader: asyncio.StreamReader,
    max_body: int,
    writer: asyncio.StreamWriter | None = None,
    head_only: bool = False,
) -> _Message | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        if error.partial.strip():
            raise BadMessage("incomplete HTTP head") from None
        return None  # the peer closed between messages
    except asyncio.LimitOverrunError:
        raise BadMessage("HTTP head too large") from None
    lines = head.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        if line:
            key, _, value = line.partition(":")
            headers.append((key.strip(), value.strip()))
    message = _Message(lines[0], headers, b"")
    if head_only:
        return message
    if writer is not None and (message.header("expect") or "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # curl waits for this
    if (message.header("transfer-encoding") or "").lower() == "chunked":
        message.body = await _read_chunked(reader, max_body)
    else:
        length = _content_length(message.header("content-length"))
        if length > max_body:
            raise BadMessage(f"body of {length} bytes is over the limit of {max_body}")
        message.body = await reader.readexactly(length)
    return message


def _content_length(value: str | None) -> int:
    if value is None:
        return 0
    value = value.strip()
    # ASCII digits only ("²" is a digit to str.isdigit), and short enough for int().
    if not (is_digits(value) and len(value) <= 19):
        raise BadMessage(f"Content-Length {value!r} is not a non-negative integer")
    return int(value)


async def _read_chunked(reader: asyncio.StreamReader, max_body: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        line = (await reader.readuntil(b"\r\n")).split(b";")[0].strip()
        try:
            size = int(line, 16)
        except ValueError:
            raise BadMessage(f"chunk size {line!r} is not hexadecimal") from None
        if size < 0:
            raise BadMessage(f"chunk size {line!r} is negative")
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(chunks)
        total += size
        if total > max_body:
            raise BadMessage(f"body over the limit of {max_body} bytes")
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)


def _unknown_region(response: _Message, region: Region) -> bool:
    """Triton refused a request because it does not know ``region`` (it restarted)."""
    return response.status in (400, 404) and region.name.encode() in response.body


def _error_response(status: int, reason: str, message: str) -> bytes:
    body = json.dumps({"error": message}).encode()
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


UNAVAILABLE = _error_response(503, "Service Unavailable", "the server is restarting")


class FrontDoor:
    """Listens on ``host:port`` and relays to Triton's HTTP at ``upstream``.

    Args:
        host: Address to listen on.
        port: Public HTTP port.
        upstream_port: Triton's own HTTP port (on 127.0.0.1).
        max_body: Largest request body accepted.
        shared_memory: Hand large binary inputs to Triton through shared memory
            (see :mod:`ovtriton_serve.server.shm_inputs`) instead of relaying their bytes.
    """

    def __init__(
        self,
        host: str,
        port: int,
        upstream_port: int,
        max_body: int = DEFAULT_MAX_BODY,
        shared_memory: bool = True,
    ):
        self.host, self.port, self.upstream_port, self.max_body = (
            host,
            port,
            upstream_port,
            max_body,
        )
        self._regions = RegionPool() if shared_memory else None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    def start(self) -> None:
        """Bind and serve in a background thread. Raises OSError if the port is taken."""
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        future.result(timeout=10)

    def stop(self) -> None:
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if self._regions is not None:
            self._regions.close()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._serve_client, self.host, self.port, limit=MAX_HEAD, reuse_address=True
        )

    async def _serve_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        upstream: _Connection | None = None
        try:
            while True:
                try:
                    request = await _read_message(reader, self.max_body, writer)
                except BadMessage as error:
                    writer.write(_error_response(400, "Bad Request", str(error)))
                    break
                if request is None:
                    break
                rejection, parsed = self._check(request)
                if rejection is not None:
                    writer.write(_error_response(400, "Bad Request", rejection))
                else:
                    response, upstream = await self._forward_infer(request, parsed, upstream)
                    if response is None:
                        writer.write(UNAVAILABLE)
                        break
                    response.write_to(writer)
                    if response.closes:
                        break
                await writer.drain()
                if request.closes:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            with contextlib.suppress(Exception):
                await writer.drain()
            writer.close()
            if upstream is not None:
                upstream[1].close()

    def _check(self, request: _Message) -> tuple[str | None, dict[str, Any] | None]:
        """Why an inference request is refused (None: it is not), and its parsed JSON."""
        method, _, rest = request.start.partition(" ")
        path = rest.rsplit(" ", 1)[0]
        if method != "POST" or not is_infer_path(path):
            return None, None
        length = request.header(_HEADER_LENGTH)
        try:
            body = decode_body(request.body, request.header("content-encoding"), self.max_body)
            return None, check_infer_request(body, int(length) if length is not None else None)
        except (GuardError, ValueError) as error:
            return str(error), None

    async def _forward_infer(
        self, request: _Message, parsed: dict[str, Any] | None, upstream: _Connection | None
    ) -> tuple[_Message | None, _Connection | None]:
        """Relay, handing a large binary request's tensors over in shared memory."""
        length = request.header(_HEADER_LENGTH)
        if (
            self._regions is None
            or parsed is None
            or length is None
            or len(request.body) < SHM_MIN_BODY
            or request.header("content-encoding") not in (None, "identity")
        ):
            return await self._forward(request, upstream)
        moves = plan_moves(parsed, int(length), len(request.body))
        region = None if moves is None else self._regions.acquire(region_size(moves))
        if moves is None or region is None:
            return await self._forward(request, upstream)
        try:
            region.fill(request.body, moves)
            headers = [(k, v) for k, v in request.headers if k.lower() != _HEADER_LENGTH]
            body = json.dumps(pointing_to(parsed, moves, region.name)).encode()
            shared = _Message(request.start, headers, body)
            # A region Triton does not know (first use, or Triton restarted) is
            # registered, once, then the request sent again.
            for attempt in range(2):
                if not region.registered:
                    registered, upstream = await self._register(region, upstream)
                    if not registered:
                        return await self._forward(request, upstream)
                response, upstream = await self._forward(shared, upstream)
                if attempt == 0 and response is not None and _unknown_region(response, region):
                    region.registered = False
                    continue
                return response, upstream
            return response, upstream
        finally:
            self._regions.release(region)

    async def _register(
        self, region: Region, upstream: _Connection | None
    ) -> tuple[bool, _Connection | None]:
        path = f"/v2/systemsharedmemory/region/{region.name}/register"
        request = _Message(
            f"POST {path} HTTP/1.1",
            [("Host", "127.0.0.1"), ("Content-Type", "application/json")],
            region.register_body(),
        )
        response, upstream = await self._forward(request, upstream)
        region.registered = response is not None and response.status == 200
        return region.registered, upstream

    async def _forward(
        self, request: _Message, upstream: _Connection | None
    ) -> tuple[_Message | None, _Connection | None]:
        """Relay to Triton; a kept-alive connection that went stale (Triton restarted)
        is replaced once, since nothing was processed on it.
        """
        for fresh in (upstream is None, True):
            if fresh:
                upstream = await self._connect()
                if upstream is None:
                    return None, None
            assert upstream is not None
            response = await self._relay(request, *upstream)
            if response is not None:
                return response, upstream
            upstream[1].close()
            if fresh:
                break
        return None, None

    async def _connect(self) -> _Connection | None:
        try:
            return await asyncio.open_connection("127.0.0.1", self.upstream_port, limit=MAX_HEAD)
        except OSError:
            return None

    async def _relay(
        self, request: _Message, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> _Message | None:
        try:
            request.write_to(writer)
            await writer.drain()
            response = await _read_message(reader, 1 << 62, head_only=True)
            if response is None:
                return None
            status = response.status
            if request.start.startswith("HEAD") or status in (204, 304) or 100 <= status < 200:
                return response
            if (response.header("transfer-encoding") or "").lower() == "chunked":
                response.body = await _read_chunked(reader, 1 << 62)
            else:
                response.body = await reader.readexactly(
                    int(response.header("content-length") or 0)
                )
            return response
        except (ConnectionError, asyncio.IncompleteReadError, BadMessage):
            writer.close()
            return None
