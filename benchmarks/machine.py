"""The machine a run measured: CPU, versions, and how busy other processes kept it.

Benchmarks on a shared 2-core machine are only as good as its quiet: a test
suite running beside them steals cores from every measurement. :class:`CpuShare`
tells how much CPU time processes *outside* this run used while it ran, so a
table says how far to trust it.
"""

from __future__ import annotations

import importlib.metadata
import os
from dataclasses import dataclass
from pathlib import Path

PROC_STAT = Path("/proc/stat")


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo``."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def describe() -> str:
    """``"2 cores, AMD EPYC"``."""
    return f"{os.cpu_count()} cores, {cpu_model()}"


def version(package: str) -> str:
    """An installed package's version, or "not installed"."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def busy_seconds(stat_text: str, ticks_per_second: float) -> float:
    """CPU seconds spent busy (all but idle and iowait) by all cores, from ``/proc/stat``."""
    for line in stat_text.splitlines():
        fields = line.split()
        if fields and fields[0] == "cpu":
            values = [int(v) for v in fields[1:]]
            idle = values[3] + (values[4] if len(values) > 4 else 0)
            # guest time is already counted in user / nice
            return (sum(values[:8]) - idle) / ticks_per_second
    raise ValueError("no aggregate 'cpu' line in /proc/stat")


def own_seconds() -> float:
    """CPU seconds used by this process and its reaped children (server, stubs, perf_analyzer)."""
    return self_seconds() + reaped_children_seconds()


@dataclass
class CpuShare:
    """CPU used by other processes between :meth:`start` and :meth:`stop`.

    Children count as ours once reaped: stop the server before :meth:`stop`.
    """

    busy: float = 0.0
    own: float = 0.0
    wall: float = 0.0

    def start(self) -> CpuShare:
        """Begin measuring; returns self."""
        self.busy, self.own, self.wall = self._busy(), own_seconds(), _uptime()
        return self

    def stop(self) -> float:
        """Other processes' CPU time as a fraction of all cores over the interval."""
        busy, own, wall = self._busy() - self.busy, own_seconds() - self.own, _uptime() - self.wall
        capacity = wall * (os.cpu_count() or 1)
        return max(0.0, busy - own) / capacity if capacity > 0 else 0.0

    @staticmethod
    def _busy() -> float:
        try:
            return busy_seconds(PROC_STAT.read_text(), os.sysconf("SC_CLK_TCK"))
        except (OSError, ValueError):
            return 0.0


def process_seconds(pid: int) -> float:
    """CPU seconds (user + system, every thread) a live process has used; 0 once it is gone."""
    try:
        # Fields after the ")" that ends the command name start at field 3 (state);
        # utime and stime are fields 14 and 15.
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def reaped_children_seconds() -> float:
    """CPU seconds of this process's children that have ended (perf_analyzer runs)."""
    times = os.times()
    return times.children_user + times.children_system


def self_seconds() -> float:
    """CPU seconds of this process, every thread (raw OpenVINO's inference threads)."""
    times = os.times()
    return times.user + times.system


@dataclass(frozen=True)
class CpuSplit:
    """CPU seconds used so far by each party of a served inference.

    The parties: the load generator, ``ovtriton serve`` (its HTTP front door),
    tritonserver and the Python stubs.
    """

    client: float
    front: float
    triton: float
    stubs: float

    def __sub__(self, other: CpuSplit) -> CpuSplit:
        return CpuSplit(
            self.client - other.client,
            self.front - other.front,
            self.triton - other.triton,
            self.stubs - other.stubs,
        )

    def per_inference_ms(self, inferences: int) -> str:
        """``"CPU ms/infer: client 0.90, front 0.02, triton 0.80, stub 4.50"``."""
        parts = (
            ("client", self.client),
            ("front", self.front),
            ("triton", self.triton),
            ("stub", self.stubs),
        )
        return "CPU ms/infer: " + ", ".join(
            f"{name} {seconds * 1e3 / inferences:.2f}" for name, seconds in parts
        )


def _uptime() -> float:
    try:
        return float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0


def rss_mb(pid: int) -> float | None:
    """Resident memory of process ``pid`` in MB (2**20 bytes); None if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def precision_properties() -> dict[str, str]:
    """OpenVINO properties that make a side compute at the peer's precision, f32.

    The peer is built for f32 (see :mod:`benchmarks.peer`); on a CPU with native bf16,
    OpenVINO's default there is bf16, so every other side (ovtriton, the naive
    model.py, raw OpenVINO) is given f32 too. Empty elsewhere: f32 is the default.
    """
    return {"INFERENCE_PRECISION_HINT": "f32"} if native_bf16() else {}


def native_bf16() -> bool:
    """The CPU computes bf16 natively (OpenVINO's CPU default precision is bf16 there)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags
