"""The Python-backend stub processes of one tritonserver, and what they own.

Each stub is a child of tritonserver whose command line names its model file
(``<repo>/<model>/<version>/model.py``), its ``/dev/shm`` region and its instance
(``<model>_0``). Recording them while the server lives is what lets ovtriton clean
up exactly what was the server's after it dies, and notice a stub that died alone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

SHM_DIR = Path("/dev/shm")
STUB_PROCESS = "triton_python_backend_stub"
# Stubs name their region triton_<backend>_backend_shm_region_<uuid>.
SHM_REGION_MARK = "_backend_shm_region_"


@dataclass(frozen=True)
class Stub:
    """One Python stub process, read from its command line."""

    pid: int
    model: str
    instance: str
    regions: tuple[str, ...]

    @property
    def serves_requests(self) -> bool:
        """Whether this stub serves requests (and should be healed when it dies).

        Instance stubs (``<model>_0``) serve; the model-level stub Triton starts for
        ``auto_complete_config`` is named after the model and ends by design.
        """
        return self.instance != self.model


def parse_stub(pid: int, argv: list[str]) -> Stub | None:
    """A stub from its command line, or None for another process."""
    if not argv or not argv[0].endswith(STUB_PROCESS) or len(argv) < 2:
        return None
    model = Path(argv[1]).parent.parent.name
    instance = argv[8] if len(argv) > 8 else model
    regions = tuple(a for a in argv[1:] if SHM_REGION_MARK in a)
    return Stub(pid, model, instance, regions)


class StubRegistry:
    """Stubs seen under one tritonserver, alive or dead."""

    def __init__(self) -> None:
        self._stubs: dict[int, Stub] = {}
        self._regions: set[str] = set()

    def refresh(self, server_pid: int) -> None:
        """Record the server's current stubs (call while it lives)."""
        for pid, argv in child_processes(server_pid):
            stub = parse_stub(pid, argv)
            if stub is not None:
                self._stubs[pid] = stub
                self._regions.update(stub.regions)

    def alive(self) -> list[Stub]:
        """The registered stubs whose process still runs."""
        return [s for s in self._stubs.values() if is_alive(s.pid)]

    def pop_dead(self) -> list[Stub]:
        """Stubs that died since they were recorded; forgotten once returned."""
        dead = [s for s in self._stubs.values() if not is_alive(s.pid)]
        for stub in dead:
            del self._stubs[stub.pid]
        return dead

    def reap(self, grace: float) -> None:
        """Wait up to ``grace`` seconds for the stubs to exit, then kill the rest."""
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and self.alive():
            time.sleep(0.1)
        for stub in self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(stub.pid, signal.SIGKILL)

    def remove_regions(self) -> None:
        """Unlink the shared-memory regions these stubs named, and no others."""
        for region in self._regions:
            (SHM_DIR / region).unlink(missing_ok=True)


def child_processes(parent: int) -> list[tuple[int, list[str]]]:
    """``(pid, argv)`` of each child of ``parent``, read from /proc."""
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
    """True for a running process (a zombie counts as dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
