"""perf_analyzer: find it, give it its libraries, run it, read its CSV.

The ``tritonclient==2.51.0`` wheel ships a working ``perf_analyzer``. It links
``libb64.so.0d`` and ``libcudart.so.12``, which the ``nvidia-pytriton`` wheel
carries under hashed names (``libb64-98cb6333.so.0d``); :class:`PerfAnalyzer`
links them under their plain names in a private folder put on
``LD_LIBRARY_PATH``.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# Plain name the binary asks for -> glob of the hashed file in nvidia_pytriton.libs.
REQUIRED_LIBRARIES = {
    "libb64.so.0d": "libb64-*.so.0d*",
    "libcudart.so.12": "libcudart-*.so.12*",
}


class PerfAnalyzerError(RuntimeError):
    """perf_analyzer is missing, failed, or wrote no measurement."""


@dataclass(frozen=True)
class Measurement:
    """One row of perf_analyzer's CSV (latencies in microseconds)."""

    concurrency: int
    throughput: float
    p50_us: float
    p99_us: float
    columns: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class PerfRun:
    """What to measure: one model, protocol, concurrency and transport.

    Attributes:
        model: The model's name on the server.
        url: ``host:port`` of the HTTP or gRPC endpoint (matching ``protocol``).
        protocol: ``"http"`` or ``"grpc"``.
        concurrency: Requests kept in flight.
        shared_memory: Send inputs and receive outputs through system shared memory.
        output_shm_bytes: Size of each output's region with ``shared_memory``.
        shapes: ``{input: shape}`` for inputs with dynamic dimensions (no batch).
        interval_ms: Length of one measurement window.
        stability: Allowed spread (percent) between the windows perf_analyzer keeps.
        max_trials: Windows perf_analyzer may try before it gives up.
        headers: Sent with every call (``-H``): the server's admin key, which
            perf_analyzer's statistics and shared-memory calls need.
    """

    model: str
    url: str
    protocol: str
    concurrency: int
    shared_memory: bool = False
    output_shm_bytes: int = 1 << 20
    shapes: Mapping[str, Sequence[int]] = field(default_factory=dict)
    interval_ms: int = 2000
    stability: int = 50
    max_trials: int = 6
    headers: Mapping[str, str] = field(default_factory=dict)

    def arguments(self, csv_path: Path) -> list[str]:
        """perf_analyzer's arguments for this run, writing its CSV to ``csv_path``."""
        args = [
            "-m",
            self.model,
            "-u",
            self.url,
            "-i",
            self.protocol,
            "--concurrency-range",
            str(self.concurrency),
            "--measurement-mode",
            "time_windows",
            "--measurement-interval",
            str(self.interval_ms),
            "--stability-percentage",
            str(self.stability),
            "--max-trials",
            str(self.max_trials),
            "-f",
            str(csv_path),
        ]
        for header, value in self.headers.items():
            args += ["-H", f"{header}:{value}"]
        for name, shape in self.shapes.items():
            args += ["--shape", f"{name}:{','.join(str(d) for d in shape)}"]
        if self.shared_memory:
            args += [
                "--shared-memory",
                "system",
                "--output-shared-memory-size",
                str(self.output_shm_bytes),
            ]
        return args


def parse_csv(text: str) -> list[Measurement]:
    """The measurements in perf_analyzer's ``-f`` CSV, one per concurrency.

    The header names the columns (``Concurrency``, ``Inferences/Second``,
    ``p50 latency``, ...); every other numeric column is kept in ``columns``.

    Raises:
        PerfAnalyzerError: The CSV has no header or lacks the columns needed.
    """
    rows = [row for row in csv.reader(io.StringIO(text)) if row and any(c.strip() for c in row)]
    if not rows:
        raise PerfAnalyzerError("perf_analyzer wrote an empty CSV")
    header = [c.strip() for c in rows[0]]
    needed = ("Concurrency", "Inferences/Second", "p50 latency", "p99 latency")
    missing = [n for n in needed if n not in header]
    if missing:
        raise PerfAnalyzerError(f"perf_analyzer's CSV lacks columns {missing}: {header}")
    measurements = []
    for row in rows[1:]:
        columns = {}
        for name, cell in zip(header, row, strict=False):
            try:
                columns[name] = float(cell)
            except ValueError:
                continue
        if not all(n in columns for n in needed):
            continue
        measurements.append(
            Measurement(
                concurrency=int(columns["Concurrency"]),
                throughput=columns["Inferences/Second"],
                p50_us=columns["p50 latency"],
                p99_us=columns["p99 latency"],
                columns=columns,
            )
        )
    return measurements


def find_binary() -> Path:
    """The ``perf_analyzer`` of this environment (tritonclient's wheel puts it in ``bin``).

    Raises:
        PerfAnalyzerError: No binary was found.
    """
    candidates = [Path(sys.executable).parent / "perf_analyzer"]
    on_path = shutil.which("perf_analyzer")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise PerfAnalyzerError(
        "perf_analyzer not found: install tritonclient[all]==2.51.0 (pip install -e .)"
    )


def find_wheel_libraries() -> Path:
    """``site-packages/nvidia_pytriton.libs``, where the hashed libraries are."""
    try:
        import pytriton
    except ImportError as error:
        raise PerfAnalyzerError("nvidia-pytriton is not installed (pip install -e .)") from error
    libs = Path(pytriton.__file__).resolve().parent.parent / "nvidia_pytriton.libs"
    if not libs.is_dir():
        raise PerfAnalyzerError(f"{libs} not found: reinstall nvidia-pytriton")
    return libs


def link_libraries(source: Path, target: Path) -> Path:
    """Link each required library from ``source`` into ``target`` under its plain name."""
    target.mkdir(parents=True, exist_ok=True)
    for plain, pattern in REQUIRED_LIBRARIES.items():
        matches = sorted(source.glob(pattern))
        if not matches:
            raise PerfAnalyzerError(f"{pattern} not found in {source}")
        link = target / plain
        link.unlink(missing_ok=True)
        link.symlink_to(matches[0])
    return target


class PerfAnalyzer:
    """Runs perf_analyzer with its libraries in a private folder.

    Args:
        workdir: Where the library links and CSVs go.
        binary: The perf_analyzer binary (default: :func:`find_binary`).
        timeout: Seconds one run may take before it is stopped.
    """

    def __init__(self, workdir: Path, binary: Path | None = None, timeout: float = 120.0) -> None:
        self.binary = binary or find_binary()
        self.workdir = workdir
        self.timeout = timeout
        self._libs = link_libraries(find_wheel_libraries(), workdir / "perf_analyzer_libs")
        self._runs = 0

    def environment(self) -> dict[str, str]:
        """The environment perf_analyzer runs in."""
        env = dict(os.environ)
        paths = [str(self._libs), env.get("LD_LIBRARY_PATH", "")]
        env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in paths if p)
        return env

    def measure(self, run: PerfRun) -> Measurement:
        """Run perf_analyzer once and return its measurement.

        Raises:
            PerfAnalyzerError: It failed, timed out or wrote no row; the message
                carries the end of its output.
        """
        self._runs += 1
        csv_path = Path(tempfile.mkstemp(suffix=".csv", dir=self.workdir)[1])
        command = [str(self.binary), *run.arguments(csv_path)]
        try:
            done = subprocess.run(
                command,
                env=self.environment(),
                capture_output=True,
                text=True,
                errors="replace",
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise PerfAnalyzerError(
                f"perf_analyzer timed out after {self.timeout:.0f} s"
            ) from error
        text = csv_path.read_text() if csv_path.is_file() else ""
        csv_path.unlink(missing_ok=True)
        if done.returncode != 0 or not text.strip():
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-6:])
            raise PerfAnalyzerError(f"perf_analyzer exited with {done.returncode}: {tail}")
        measurements = parse_csv(text)
        if not measurements:
            raise PerfAnalyzerError("perf_analyzer's CSV has no measurement row")
        return measurements[0]
