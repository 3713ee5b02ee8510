"""The benchmark command: ``.venv/bin/python -m benchmarks.run [--quick]``.

Builds the peer (Triton's C++ OpenVINO backend) when missing, builds the model
repository, starts one ``ovtriton serve`` on free 127.0.0.1 ports with the peer
installed beside ovtriton, runs the plan's comparisons, prints the tables and
writes them to ``benchmarks/results/latest.md``. ``./dev bench`` installs the
environment first.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import openvino as ov

from benchmarks import machine, peer
from benchmarks.ladder import MemoryRow, Point, ladder_table, memory_table
from benchmarks.models import build_repository, parameters_text
from benchmarks.perf_analyzer import PerfAnalyzer, PerfAnalyzerError
from benchmarks.plan import FULL, QUICK, Plan
from benchmarks.server import BenchServer, ServerError
from benchmarks.suite import Suite
from benchmarks.table import Row, render, summary

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
NOISY = 0.10  # other processes' CPU share above which the header warns


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The ``./dev bench`` command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--quick", action="store_true", help="reduced matrix for a smoke test (a few minutes)"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=RESULTS / "latest.md",
        help="where the table is written (default: benchmarks/results/latest.md)",
    )
    parser.add_argument(
        "--keep-logs",
        type=Path,
        default=None,
        metavar="DIR",
        help="copy the server log into DIR (for investigating a miss)",
    )
    return parser.parse_args(argv)


@dataclass
class Results:
    """Everything one run measured."""

    rows: list[Row]
    points: list[Point]
    memory: list[MemoryRow]


def measure(plan: Plan, work: Path, keep_logs: Path | None) -> Results:
    """Build the peer and the repository, serve it, run every comparison of ``plan``."""
    extra_backends = [peer.ensure_built(ROOT / ".venv")] if plan.needs_peer else []
    # On a CPU with native bf16, OpenVINO's default precision there is bf16; the peer is
    # built for f32, so every other side is given f32 too: all compute at one precision.
    precision = machine.precision_properties()
    serving = (
        parameters_text([("plugin_config", json.dumps(precision).replace('"', '\\"'))])
        if precision
        else ""
    )
    repository = build_repository(
        work / "repository",
        plan.image_models,
        plan.rivals,
        ovtriton_serving=serving,
        naive_parameters=list(precision.items()),
    )
    peers = [
        rival.model(image) for image in plan.image_models for rival in plan.rivals
        if rival.side == "peer"
    ]  # fmt: skip
    # The peer models load after the start, one at a time, so their memory can be measured.
    first = sorted(p.name for p in repository.root.iterdir() if p.name not in peers)
    analyzer = PerfAnalyzer(work)
    log_path = work / "server.log"
    server = BenchServer(repository.root, log_path, extra_backends, load=first)
    print(f"starting ovtriton serve on {repository.root} ...", file=sys.stderr, flush=True)
    try:
        with server:
            suite = Suite(plan, server, analyzer, {m.name: m.path for m in repository.images})
            memory = suite.memory(peers)
            points, ladder_rows = suite.load_ladder()
            rows = [
                *ladder_rows,
                *suite.tiny_vs_numpy(),
                *suite.guarded_vs_unguarded(),
                *suite.sdk_vs_raw(),
                *suite.sdk_shm_vs_plain(),
            ]
            return Results(rows, points, memory)
    finally:
        if keep_logs is not None:
            keep_logs.mkdir(parents=True, exist_ok=True)
            shutil.copy(log_path, keep_logs / "server.log")


def header(plan: Plan, seconds: float, foreign: float, load: str) -> list[str]:
    """The lines above the tables: when, where, what was compared how."""
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    precision = (
        "f32 (the CPU has native bf16: ovtriton, naive and raw OpenVINO given f32 too)"
        if machine.native_bf16()
        else "f32"
    )
    return [
        f"# ovtriton benchmarks ({plan.name})",
        "",
        f"- {when}, {int(seconds // 60)} min {int(seconds % 60)} s on {machine.describe()}; "
        f"other processes used {foreign:.0%} of the CPU meanwhile"
        + (" (noisy: rerun on a quiet machine)" if foreign > NOISY else "")
        + f"; load average before / after: {load}",
        f"- OpenVINO {ov.__version__}, Triton 2.51 (nvidia-pytriton "
        f"{machine.version('nvidia-pytriton')}), perf_analyzer from tritonclient "
        f"{machine.version('tritonclient')}; precision {precision}",
        "- one `ovtriton serve`; ovtriton's image models have its default config "
        '(`backend: "ovtriton"` only); the peer is Triton\'s C++ OpenVINO backend in the '
        "same server (built from ../shared/peers, `max_batch_size: 0`); naive is "
        "`benchmarks/handwritten/naive_openvino.py` (max_batch_size 32, dynamic batching)",
        f"- load ladder: perf_analyzer over gRPC, batch 1, concurrency "
        f"{', '.join(str(c) for c in plan.concurrencies)}, {plan.sweeps} sweeps, the order "
        f"of each block alternating; time windows of {plan.interval_ms} ms "
        f"({', '.join(sorted(plan.slow_models))}: {plan.slow_interval_ms} ms), stability 50 %",
        f"- raw OpenVINO: same file in the benchmark process, {plan.raw_seconds:g} s after "
        f"{plan.raw_warmup:g} s warm-up, once per block: c=1 LATENCY with one synchronous "
        "request, c>1 THROUGHPUT with a full AsyncInferQueue(OPTIMAL_NUMBER_OF_INFER_REQUESTS)",
        "- ratio = value / baseline; pairs (tiny, guard, SDK) are measured back to back",
    ]


def document(results: Results, lines: list[str]) -> str:
    """The Markdown written to ``benchmarks/results/latest.md``."""
    rows = results.rows
    targets = [row for row in rows if row.target is not None]
    details = [row for row in rows if not row.derived]
    return (
        render(targets, [*lines, "", "## Targets"])
        + f"\n{summary(rows)}\n\n"
        + ladder_table(results.points)
        + "\n"
        + memory_table(results.memory)
        + "\n"
        + render(details, ["## Other measurements"])
    )


def _load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    # Unwind normally, so the server context stops ovtriton serve and its stubs.
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks; returns the exit code."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    plan = QUICK if args.quick else FULL
    started = time.monotonic()
    load_before = _load_average()
    cpu = machine.CpuShare().start()
    try:
        with tempfile.TemporaryDirectory(prefix="ovtriton-bench-") as work:
            results = measure(plan, Path(work), args.keep_logs)
    except (ServerError, PerfAnalyzerError, peer.PeerError) as error:
        print(f"benchmarks: {error}", file=sys.stderr)
        return 1
    load = f"{load_before} / {_load_average()}"
    text = document(results, header(plan, time.monotonic() - started, cpu.stop(), load))
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"benchmarks: table written to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
