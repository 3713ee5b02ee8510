"""Large binary HTTP inputs handed to Triton through system shared memory.

Relaying a request body to Triton over loopback TCP costs a second trip through
the kernel's TCP stack for every tensor byte: about 0.6 ms of CPU for a 600 KB
image, which on a 2-core machine is throughput taken from OpenVINO. The front
door has read the body anyway; copying its tensor bytes into a shared-memory
region that Triton has registered, and sending Triton only the JSON header that
points at them, costs one memcpy instead. The client sees the same KServe v2
exchange: its request is rewritten only on the way from the front door to Triton.

:func:`plan_moves` and :func:`pointing_to` are pure logic; :class:`RegionPool` owns the regions
(files under ``/dev/shm``, mapped into this process, reused across requests).

Hygiene follows the SDK's rules, from the one module both use
(:mod:`ovtriton_client._local`): files are created exclusively and without following
links, locked while this process lives, and reclaimed only when provably dead (even
across PID namespaces). Region names carry a random token: any inference request may
name a registered region, and the shared-memory status that lists names needs the
admin key, so a client cannot learn, nor guess, the name of a region holding another
client's tensors.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ovtriton_client._local import create_shm_file, is_stale_shm

SHM_DIR = Path("/dev/shm")
PREFIX = "ovtriton-front"
# <prefix>_<pid>_<token>_<serial>; names without the token are an older release's.
_OWN_NAME = re.compile(rf"{re.escape(PREFIX)}_(\d+)_(?:[0-9a-f]{{32}}_)?\d+")
MIN_REGION = 1 << 20
ALIGNMENT = 64
MAX_REGIONS = 32  # one per request in flight; beyond this, bodies are relayed as they are


@dataclass(frozen=True)
class Move:
    """Input ``index``'s ``size`` bytes at ``start`` in the body go to ``offset`` in a region."""

    index: int
    start: int
    size: int
    offset: int


def plan_moves(
    request: Mapping[str, Any], header_length: int, body_length: int
) -> list[Move] | None:
    """Where each binary input's bytes are in the body, and where they go in a region.

    Args:
        request: The parsed JSON header of a binary-tensor request (already checked).
        header_length: Its ``Inference-Header-Content-Length``: binary data starts there.
        body_length: The whole body's length.

    Returns:
        None when nothing should move: no binary input, an input already in shared
            memory, or binary sizes that do not add up to the body exactly (Triton then
            answers the request as sent, with its own message).
    """
    moves: list[Move] = []
    start, offset = header_length, 0
    for index, tensor in enumerate(request.get("inputs", [])):
        parameters = tensor.get("parameters") or {}
        if "shared_memory_region" in parameters:
            return None
        if "binary_data_size" in parameters:
            size = parameters["binary_data_size"]
            moves.append(Move(index, start, size, offset))
            start += size
            offset += -(-size // ALIGNMENT) * ALIGNMENT
    if not moves or start != body_length:
        return None
    return moves


def region_size(moves: list[Move]) -> int:
    """Bytes a region needs to hold every move."""
    return moves[-1].offset + moves[-1].size


def pointing_to(request: Mapping[str, Any], moves: list[Move], region: str) -> dict[str, Any]:
    """``request`` with each moved input read from ``region`` instead of the body."""
    inputs = list(request["inputs"])
    for move in moves:
        tensor = inputs[move.index]
        parameters = {k: v for k, v in tensor["parameters"].items() if k != "binary_data_size"}
        parameters.update(
            shared_memory_region=region,
            shared_memory_byte_size=move.size,
            shared_memory_offset=move.offset,
        )
        inputs[move.index] = {**tensor, "parameters": parameters}
    return {**request, "inputs": inputs}


@dataclass
class Region:
    """One region: a ``/dev/shm`` file mapped here, registered with Triton or not yet."""

    name: str
    size: int
    memory: mmap.mmap
    registered: bool = False
    fd: int = -1  # held open: its lock says the region is alive

    @property
    def key(self) -> str:
        """The ``/dev/shm`` key Triton opens the region by."""
        return "/" + self.name

    def fill(self, body: bytes, moves: list[Move]) -> None:
        """Copy each move's bytes from ``body`` into the region (one memcpy each)."""
        view = memoryview(body)
        for move in moves:
            self.memory[move.offset : move.offset + move.size] = view[
                move.start : move.start + move.size
            ]

    def register_body(self) -> bytes:
        """The JSON body of Triton's ``/v2/systemsharedmemory/region/<name>/register``."""
        return f'{{"key": "{self.key}", "offset": 0, "byte_size": {self.size}}}'.encode()


class RegionPool:
    """Regions reused across requests: one is lent to a request until its response.

    Args:
        directory: Where the region files live (``/dev/shm``).
    """

    def __init__(self, directory: Path = SHM_DIR) -> None:
        self._directory = directory
        self._free: list[Region] = []
        self._count = 0
        self._serial = 0
        self._token = secrets.token_hex(16)
        self._closed = False
        reclaim_stale_regions(directory)

    def acquire(self, size: int) -> Region | None:
        """A free region of at least ``size`` bytes, made if needed; None at the limit."""
        fitting = [r for r in self._free if r.size >= size]
        if fitting:
            region = min(fitting, key=lambda r: r.size)
            self._free.remove(region)
            return region
        if self._closed or self._count >= MAX_REGIONS:
            return None
        self._count += 1
        try:
            return self._create(max(MIN_REGION, 1 << (size - 1).bit_length()))
        except OSError:  # /dev/shm is full (a container's default is 64 MB): relay instead
            self._count -= 1
            return None

    def release(self, region: Region) -> None:
        """Give ``region`` back for the next request (removed if the pool is closed)."""
        if self._closed:
            self._remove(region)
            return
        self._free.append(region)

    def close(self) -> None:
        """Remove every free region (lent ones go as they are released)."""
        self._closed = True
        for region in self._free:
            self._remove(region)
        self._free = []

    def _create(self, size: int) -> Region:
        self._serial += 1  # names never repeat, even after a failed or removed region
        name = f"{PREFIX}_{os.getpid()}_{self._token}_{self._serial}"
        path = self._directory / name
        # Exclusive and no-follow; the pages reserved now, so that a full tmpfs fails
        # here with ENOSPC rather than killing this process with SIGBUS on a write.
        fd = create_shm_file(path, size)
        try:
            memory = mmap.mmap(fd, size)
        except OSError:
            os.close(fd)
            path.unlink(missing_ok=True)
            raise
        return Region(name, size, memory, fd=fd)

    def _remove(self, region: Region) -> None:
        self._count -= 1
        with contextlib.suppress(BufferError, ValueError):
            region.memory.close()
        (self._directory / region.name).unlink(missing_ok=True)
        if region.fd >= 0:
            os.close(region.fd)
            region.fd = -1


def reclaim_stale_regions(directory: Path = SHM_DIR) -> list[str]:
    """Remove regions of this naming scheme that are provably dead; return their names.

    Dead means: the pid in the name is not running here and no process holds the
    file's lock (so a live owner in another PID namespace keeps its regions).
    """
    removed = []
    for path in directory.glob(f"{PREFIX}_*"):
        match = _OWN_NAME.fullmatch(path.name)
        if match is None or not is_stale_shm(path, int(match.group(1))):
            continue
        path.unlink(missing_ok=True)
        removed.append(path.name)
    return removed
