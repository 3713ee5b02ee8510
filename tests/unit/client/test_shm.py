"""Shared-memory regions and sessions against a fake server: sizing, reuse, cleanup, reclaim."""

from __future__ import annotations

import fcntl
import gc
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from ovtriton_client import InvalidInputError, ServerError, SharedMemoryError
from ovtriton_client._names import RegionNaming
from ovtriton_client._protocol import HTTP, Endpoint, RegionStatus
from ovtriton_client._shm import (
    SHM_ROOT,
    SharedMemorySession,
    _Region,
    _release_all,
    reclaim_stale_regions,
    required_output_size,
)
from tests.unit.client.specs import TWO_IO_SPEC


class FakeTransport:
    """The registration half of a server: a dict of regions."""

    endpoint = Endpoint("http", "fake:0")
    timeout = 1.0
    dialect = HTTP
    closed = False
    admin_key: str | None = None

    def __init__(self) -> None:
        self.registered: dict[str, RegionStatus] = {}
        self.unregistered: list[str] = []

    def regions(self) -> list[RegionStatus]:
        return list(self.registered.values())

    def register_region(self, name: str, byte_size: int) -> None:
        assert os.path.exists(SHM_ROOT / name)  # created before it is registered
        self.registered[name] = RegionStatus(name, "/" + name, byte_size)

    def unregister_region(self, name: str) -> None:
        self.unregistered.append(name)
        self.registered.pop(name, None)


@pytest.fixture
def naming() -> RegionNaming:
    # A prefix of its own, so real ovtriton regions on this machine are never touched.
    return RegionNaming(f"ovtest{uuid.uuid4().hex[:6]}")


@pytest.fixture
def transport() -> Iterator[FakeTransport]:
    fake = FakeTransport()
    yield fake
    for name in fake.registered:
        (SHM_ROOT / name).unlink(missing_ok=True)


def files(prefix: str) -> set[str]:
    return {entry for entry in os.listdir(SHM_ROOT) if entry.startswith(prefix + "_")}


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_required_output_size_parses_tritons_message() -> None:
    message = (
        "shared memory size specified with the request for output 'y' (64 bytes) "
        "should be at least 128 bytes to hold the results"
    )
    assert required_output_size(message) == ("y", 128)
    assert required_output_size("unexpected shape for input 'x'") is None


def test_region_views_stay_valid_after_release(naming: RegionNaming) -> None:
    region = _Region(naming.next_name(), 4096)
    path = SHM_ROOT / region.name
    assert path.exists() and oct(path.stat().st_mode & 0o777) == "0o600"
    view = region.view(np.dtype(np.float32), (2, 4))
    view[:] = 7
    assert region.holds(view) and not region.holds(view[1:])
    region.release()
    assert not path.exists()
    assert view.sum() == 56  # the mapping lives as long as the view does
    del view
    gc.collect()


def test_region_names_are_validated_and_never_reused(naming: RegionNaming) -> None:
    with pytest.raises(InvalidInputError):
        _Region("../escape", 4096)
    name = naming.next_name()
    region = _Region(name, 4096)
    with pytest.raises(SharedMemoryError, match="cannot create"):
        _Region(name, 4096)  # O_EXCL: never adopt an existing object
    region.release()


def test_session_writes_inputs_in_place_and_reuses_regions(
    transport: FakeTransport, naming: RegionNaming
) -> None:
    session = SharedMemorySession(transport, TWO_IO_SPEC, naming)  # type: ignore[arg-type]
    arrays = {"a": np.full((2, 4), 1, np.float32), "b": np.full((2, 4), 2, np.float32)}
    placed = session.place_inputs(arrays)
    assert {p.byte_size for p in placed.values()} == {32}
    names = session.region_names
    assert set(names) == set(transport.registered) == files(naming.prefix)
    read = np.fromfile(SHM_ROOT / placed["b"].region, np.float32, count=8)
    assert (read == 2).all()
    session.place_inputs({"a": np.ones((8, 4), np.float32), "b": np.ones((8, 4), np.float32)})
    assert session.region_names == names  # still fits: no new region, no registration
    buffer = session.input_buffer("a", (2, 4))
    buffer[:] = 5
    assert session.place_inputs({"a": buffer, "b": arrays["b"]})["a"].region == names[0]
    session.close()
    assert transport.registered == {} and files(naming.prefix) == set()


def test_session_grows_regions_and_releases_the_old_ones(
    transport: FakeTransport, naming: RegionNaming
) -> None:
    session = SharedMemorySession(transport, TWO_IO_SPEC, naming)  # type: ignore[arg-type]
    small = {"a": np.ones((1, 4), np.float32), "b": np.ones((1, 4), np.float32)}
    placed = session.place_outputs(["sum"], small)
    first = placed["sum"].region
    too_small = ServerError(
        f"shared memory size specified with the request for output 'sum' "
        f"({placed['sum'].byte_size} bytes) should be at least 10000 bytes to hold the results"
    )
    assert session.grow_output(too_small)
    (grown,) = [n for n in session.region_names if n != placed["sum"].region]
    assert first in transport.unregistered and first not in files(naming.prefix)
    assert transport.registered[grown].byte_size >= 10000
    assert not session.grow_output(ServerError("some other failure"))
    session.close()
    assert files(naming.prefix) == set()


def test_garbage_collection_cleans_up(transport: FakeTransport, naming: RegionNaming) -> None:
    session = SharedMemorySession(transport, TWO_IO_SPEC, naming)  # type: ignore[arg-type]
    session.place_inputs({"a": np.ones((1, 4), np.float32), "b": np.ones((1, 4), np.float32)})
    assert len(transport.registered) == 2
    del session
    gc.collect()
    assert transport.registered == {} and files(naming.prefix) == set()


def test_reclaim_only_touches_dead_owners_of_this_scheme(
    transport: FakeTransport, naming: RegionNaming
) -> None:
    dead, alive = dead_pid(), os.getppid()

    def region(pid: int, n: int, register: bool = True, key: str | None = None) -> str:
        name = f"{naming.prefix}_{pid}_0123abcd_{n}"
        if key is None:
            (SHM_ROOT / name).write_bytes(b"\0" * 64)
        if register:
            transport.registered[name] = RegionStatus(name, key or "/" + name, 64)
        return name

    stale = region(dead, 0)
    orphan_file = region(dead, 1, register=False)
    other_key = region(dead, 2, key="/somewhere_else")  # our pattern, not our key: not ours
    live = region(alive, 3)
    own = region(os.getpid(), 4)
    locked = region(dead, 5)
    foreign = f"other_{dead}_0123abcd_6"
    transport.registered[foreign] = RegionStatus(foreign, "/" + foreign, 64)
    holder = os.open(SHM_ROOT / locked, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_SH)  # a live owner in another pid namespace
    try:
        reclaimed = reclaim_stale_regions(transport, naming)  # type: ignore[arg-type]
    finally:
        os.close(holder)
    assert sorted(reclaimed) == sorted([stale, orphan_file])
    assert transport.unregistered == [stale]
    assert set(transport.registered) == {other_key, live, own, locked, foreign}
    assert files(naming.prefix) == {live, own, locked}
    for name in (live, own, locked):
        (SHM_ROOT / name).unlink()


def test_closed_transport_still_gets_regions_unregistered(
    transport: FakeTransport, naming: RegionNaming, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = SharedMemorySession(transport, TWO_IO_SPEC, naming)  # type: ignore[arg-type]
    session.place_inputs({"a": np.ones((1, 4), np.float32), "b": np.ones((1, 4), np.float32)})
    transport.closed = True
    transport.admin_key = "the-admin-key-of-the-server"
    opened: list[Any] = []

    def reopen(endpoint: Endpoint, timeout: float | None, admin_key: str | None) -> FakeTransport:
        assert admin_key == transport.admin_key  # the short-lived one needs the key too
        control = FakeTransport()
        control.registered = transport.registered
        control.close = lambda: opened.append(control)  # type: ignore[attr-defined]
        return control

    monkeypatch.setattr("ovtriton_client._shm.open_transport", reopen)
    session.close()
    assert transport.registered == {} and len(opened) == 1


def test_a_forked_child_leaves_its_parents_regions_alone(
    transport: FakeTransport, naming: RegionNaming
) -> None:
    region = _Region(naming.next_name(), 4096)
    transport.register_region(region.name, region.byte_size)
    regions = {("input", "a"): region}
    _release_all(transport, regions, owner=os.getpid() + 1)  # type: ignore[arg-type]  # as in a forked child
    assert region.name in transport.registered and files(naming.prefix) == {region.name}
    _release_all(transport, regions, owner=os.getpid())  # type: ignore[arg-type]
    assert transport.registered == {} and files(naming.prefix) == set()
