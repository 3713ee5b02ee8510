"""System shared memory: regions sized from metadata, registered once, reused.

A :class:`SharedMemorySession` belongs to one model handle. Per input and per
output it keeps one POSIX shared-memory object (``/dev/shm/<name>``), mapped here
with :mod:`mmap` and registered with the server under the same name. Each call
writes inputs into their regions (one ``memcpy``, no serialisation) and reads
outputs from theirs; a region is replaced by a larger one only when a call needs
more room, so the common case costs no registration at all.

Lifetime. Regions are unregistered and unlinked on ``close()``, when the session
is garbage-collected and at interpreter exit (one :func:`weakref.finalize`). A
process killed with SIGKILL cannot clean up; the next session on the same server
does it, for regions of this naming scheme whose owner is gone (see
:func:`reclaim_stale_regions`).

Memory safety. Output views handed out with ``share_outputs`` keep their mapping
alive: ``mmap.close()`` refuses while views exist, and the mapping then lives
until the last view is collected. Their *content* is the region's, so it changes
on the handle's next call, as with OpenVINO's ``share_outputs``.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import re
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ovtriton_client._datatypes import DATATYPES
from ovtriton_client._errors import (
    OvTritonError,
    PermissionDeniedError,
    RequestTimeoutError,
    ServerUnreachableError,
    SharedMemoryError,
)
from ovtriton_client._local import SHM_ROOT, create_shm_file, is_stale_shm
from ovtriton_client._metadata import ModelSpec, byte_size
from ovtriton_client._names import RegionNaming, key_for, validate_region_name
from ovtriton_client._request import Placement
from ovtriton_client._transport import Transport, open_transport

__all__ = ["SHM_ROOT", "SharedMemorySession", "reclaim_stale_regions", "required_output_size"]

_TOO_SMALL = re.compile(
    r"output '(?P<name>[^']+)' \((?P<given>\d+) bytes\) should be at least (?P<needed>\d+) bytes"
)


def required_output_size(message: str) -> tuple[str, int] | None:
    """``(output, bytes)`` from Triton's "region too small for output" message, else None."""
    match = _TOO_SMALL.search(message)
    return (match["name"], int(match["needed"])) if match else None


class _Region:
    """One POSIX shared-memory object, mapped into this process.

    The file descriptor stays open holding a shared ``flock``: it tells other
    processes' :func:`reclaim_stale_regions` that the owner is alive, even where
    pids cannot be compared (another pid namespace).
    """

    def __init__(self, name: str, size: int) -> None:
        self.name = validate_region_name(name)
        self.byte_size = size
        path = SHM_ROOT / name
        try:
            # Exclusive, no-follow, locked: the rules shared with the front door.
            fd = create_shm_file(path, size)
        except FileExistsError as error:
            raise SharedMemoryError(f"cannot create {path}: {error.strerror}") from error
        except OSError as error:
            raise SharedMemoryError(
                f"cannot allocate {size} bytes in {path}: {error.strerror}"
            ) from error
        try:
            self._map = mmap.mmap(fd, size)
        except OSError as error:
            os.close(fd)
            _unlink(name)
            raise SharedMemoryError(f"cannot map {path}: {error.strerror}") from error
        self._fd: int | None = fd
        self.address = np.frombuffer(self._map, np.uint8, count=1).ctypes.data

    def view(self, dtype: np.dtype[Any], shape: Sequence[int]) -> np.ndarray:
        """An array of ``dtype`` and ``shape`` over the start of the region."""
        count = int(np.prod(shape, dtype=np.int64))
        return np.frombuffer(self._map, dtype=dtype, count=count).reshape(shape)

    def holds(self, array: np.ndarray) -> bool:
        """True when ``array`` already is this region's data (written in place)."""
        return bool(array.flags.c_contiguous) and array.ctypes.data == self.address

    def release(self) -> None:
        """Unlink and unmap; a mapping still viewed by arrays is left to their lifetime."""
        _unlink(self.name)
        if self._fd is not None:
            os.close(self._fd)  # also drops the flock
            self._fd = None
        with contextlib.suppress(BufferError):
            self._map.close()


class SharedMemorySession:
    """The shared-memory regions of one model handle.

    Not thread-safe: the owning handle serialises its calls.

    Args:
        transport: Registers and unregisters regions.
        spec: Datatypes and shapes that size the regions.
        naming: The naming scheme (default prefix ``"ovtriton"``).

    Raises:
        SharedMemoryError: If this system has no ``/dev/shm``.
    """

    def __init__(
        self, transport: Transport, spec: ModelSpec, naming: RegionNaming | None = None
    ) -> None:
        if not SHM_ROOT.is_dir():
            raise SharedMemoryError(f"system shared memory needs {SHM_ROOT}, which is missing")
        self._transport = transport
        self._spec = spec
        self._naming = naming or RegionNaming()
        self._regions: dict[tuple[str, str], _Region] = {}
        # Outputs that could not get a large enough region: the response carries them.
        self._fallback: set[str] = set()
        reclaim_stale_regions(transport, self._naming)
        # Holds only what cleanup needs (never self), so the session can be collected.
        self._finalizer = weakref.finalize(
            self, _release_all, transport, self._regions, os.getpid()
        )

    @property
    def region_names(self) -> list[str]:
        """Names of the regions this session has registered."""
        return [region.name for region in self._regions.values()]

    def supports(self, datatype: str) -> bool:
        """Whether tensors of ``datatype`` can travel through shared memory."""
        return datatype in DATATYPES and DATATYPES[datatype].raw

    def place_inputs(self, arrays: Mapping[str, np.ndarray]) -> dict[str, Placement]:
        """Write inputs into their regions (growing them if needed).

        Inputs of datatypes without a raw layout (``BYTES``, ``BF16``) are not
        placed; they travel in the request as usual.
        """
        placed = {}
        for name, array in arrays.items():
            tensor = self._spec.input(name)
            if not self.supports(tensor.datatype):
                continue
            region = self._ensure("input", name, array.nbytes)
            if not region.holds(array):
                np.copyto(region.view(array.dtype, array.shape), array)
            placed[name] = Placement(region.name, array.nbytes)
        return placed

    def input_buffer(self, name: str, shape: Sequence[int]) -> np.ndarray:
        """A writable array in input ``name``'s region, to fill before the call.

        Passing it back as that input sends it without any copy. It stays valid
        until the region has to grow (a larger shape).
        """
        tensor = self._spec.input(name)
        if not self.supports(tensor.datatype):
            raise SharedMemoryError(f"model '{self._spec.name}' has no raw-typed input '{name}'")
        needed = byte_size(tensor.datatype, shape) or 0
        return self._ensure("input", name, needed).view(tensor.dtype, shape)

    def place_outputs(
        self, names: Iterable[str], arrays: Mapping[str, np.ndarray]
    ) -> dict[str, Placement]:
        """Regions for the outputs whose size can be estimated; the rest are not placed."""
        placed = {}
        for name in names:
            tensor = self._spec.output(name)
            shape = self._spec.estimate_output_shape(name, arrays)
            if shape is None or name in self._fallback or not self.supports(tensor.datatype):
                continue  # unknown size: the response carries it instead
            region = self._ensure("output", name, byte_size(tensor.datatype, shape) or 0)
            placed[name] = Placement(region.name, region.byte_size)
        return placed

    def grow_output(self, error: OvTritonError) -> bool:
        """Enlarge the output region that ``error`` says was too small.

        Returns:
            True when the request can be retried: the region was enlarged or, if
                that failed, the output will come back in the response instead.
        """
        found = required_output_size(error.message)
        if found is None or ("output", found[0]) not in self._regions or found[0] in self._fallback:
            return False
        try:
            self._ensure("output", found[0], found[1])
        except SharedMemoryError:
            self._fallback.add(found[0])
        return True

    def read_outputs(
        self, raw: Any, placed: Mapping[str, Placement], copy: bool
    ) -> dict[str, np.ndarray]:
        """The placed outputs of response ``raw``: views of their regions, or copies."""
        arrays = {}
        for name in placed:
            view = self._regions["output", name].view(
                self._spec.output(name).dtype, self._transport.dialect.output_shape(raw, name)
            )
            if copy:
                arrays[name] = view.copy()
            else:
                view.flags.writeable = False  # the server owns this memory until next call
                arrays[name] = view
        return arrays

    def close(self) -> None:
        """Unregister and unlink every region of this session (idempotent)."""
        self._finalizer()

    def _ensure(self, kind: str, tensor: str, needed: int) -> _Region:
        """The region for ``tensor`` with at least ``needed`` bytes, created on demand."""
        current = self._regions.get((kind, tensor))
        if current is not None and current.byte_size >= needed:
            return current
        # Sized for this call (not max_batch_size, which could overflow a small
        # /dev/shm); doubling when growing keeps re-registrations logarithmic.
        size = max(needed, 2 * current.byte_size if current else 0, 1)
        size = -(-size // mmap.PAGESIZE) * mmap.PAGESIZE
        region = _Region(self._naming.next_name(), size)
        try:
            self._transport.register_region(region.name, region.byte_size)
        except (ServerUnreachableError, RequestTimeoutError, PermissionDeniedError):
            region.release()
            raise
        except OvTritonError as error:
            region.release()
            raise SharedMemoryError(
                f"the server at {self._transport.endpoint} cannot register shared memory "
                f"(it must run on this host, as this user): {error.message}",
                status=error.status,
                model=self._spec.name,
            ) from error
        if current is not None:
            _release_one(self._transport, current)
        self._regions[kind, tensor] = region
        return region


def _release_one(transport: Transport, region: _Region) -> None:
    with contextlib.suppress(OvTritonError):
        transport.unregister_region(region.name)
    region.release()


def _release_all(transport: Transport, regions: dict[tuple[str, str], _Region], owner: int) -> None:
    """Unregister and unlink ``regions``; the finalizer of a session."""
    # A forked child inherits this finalizer, but the regions remain its parent's.
    if not regions or os.getpid() != owner:
        return
    # A client closed before this session cannot unregister: use a short-lived one.
    control = (
        open_transport(transport.endpoint, transport.timeout, transport.admin_key)
        if transport.closed
        else transport
    )
    try:
        while regions:
            _release_one(control, regions.popitem()[1])
    finally:
        if control is not transport:
            control.close()


def reclaim_stale_regions(transport: Transport, naming: RegionNaming) -> list[str]:
    """Unregister and unlink regions of ``naming``'s scheme whose owner has died.

    A region is stale only if its name follows the scheme, its key is ``"/" + name``,
    the pid in its name is not this process and is not running, and no process
    holds its lock. Regions of live processes and of other schemes are never touched.

    Returns:
        Names of the reclaimed regions.
    """
    reclaimed = []
    for status in transport.regions():
        pid = naming.owner(status.name)
        if pid is None or status.key != key_for(status.name) or not _is_stale(status.name, pid):
            continue
        with contextlib.suppress(OvTritonError):
            transport.unregister_region(status.name)
        _unlink(status.name)
        reclaimed.append(status.name)
    # Files never registered or already unregistered (killed between the two steps).
    with contextlib.suppress(OSError):
        for entry in os.listdir(SHM_ROOT):
            pid = naming.owner(entry)
            if pid is not None and entry not in reclaimed and _is_stale(entry, pid):
                _unlink(entry)
                reclaimed.append(entry)
    return reclaimed


def _is_stale(name: str, pid: int) -> bool:
    return is_stale_shm(SHM_ROOT / validate_region_name(name), pid)


def _unlink(name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(SHM_ROOT / validate_region_name(name))
