"""The benchmark command: ``.venv/bin/python -m benchmarks.run [--quick]``.

Builds the model repository, starts one ``ovtriton serve`` on free 127.0.0.1
ports, runs the plan's comparisons, prints the table and writes it to
``benchmarks/results/latest.md``. ``./dev bench`` installs the environment
first.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import openvino as ov

from benchmarks import machine
from benchmarks.models import build_repository
from benchmarks.perf_analyzer import PerfAnalyzer, PerfAnalyzerError
from benchmarks.plan import FULL, QUICK, Plan
from benchmarks.server import BenchServer, ServerError
from benchmarks.suite import Suite
from benchmarks.table import Row, render, summary

RESULTS = Path(__file__).resolve().parent / "results"
NOISY = 0.10  # other processes' CPU share above which the header warns


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--quick", action="store_true", help="reduced matrix for a smoke test (~1-2 min)"
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


def measure(plan: Plan, work: Path, keep_logs: Path | None) -> list[Row]:
    """Build the repository, serve it, run every comparison of ``plan``."""
    repository = build_repository(work / "repository", plan.image_models, naive=plan.naive_models)
    analyzer = PerfAnalyzer(work)
    log_path = work / "server.log"
    server = BenchServer(repository.root, log_path)
    print(f"starting ovtriton serve on {repository.root} ...", file=sys.stderr, flush=True)
    try:
        with server:
            suite = Suite(plan, server, analyzer, {m.name: m.path for m in repository.images})
            return [
                *suite.served_vs_raw(),
                *suite.ovtriton_vs_naive(),
                *suite.tiny_vs_numpy(),
                *suite.guarded_vs_unguarded(),
                *suite.sdk_vs_raw(),
                *suite.sdk_shm_vs_plain(),
            ]
    finally:
        if keep_logs is not None:
            keep_logs.mkdir(parents=True, exist_ok=True)
            shutil.copy(log_path, keep_logs / "server.log")


def header(plan: Plan, seconds: float, foreign: float) -> list[str]:
    """The lines above the tables: when, where, what was compared how."""
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"# ovtriton benchmarks ({plan.name})",
        "",
        f"- {when}, {int(seconds // 60)} min {int(seconds % 60)} s on {machine.describe()}; "
        f"other processes used {foreign:.0%} of the CPU meanwhile"
        + (" (noisy: rerun on a quiet machine)" if foreign > NOISY else ""),
        f"- OpenVINO {ov.__version__}, Triton 2.51 (nvidia-pytriton "
        f"{machine.version('nvidia-pytriton')}), perf_analyzer from tritonclient "
        f"{machine.version('tritonclient')}",
        "- served: one `ovtriton serve`, every model with max_batch_size 32, dynamic batching, "
        "one CPU instance; ovtriton's default PERFORMANCE_HINT=THROUGHPUT, nireq optimal",
        f"- perf_analyzer: time windows of {plan.interval_ms} ms "
        f"({', '.join(sorted(plan.slow_models))}: {plan.slow_interval_ms} ms), stability 50 %, "
        "batch 1; shm = `--shared-memory system`",
        f"- raw OpenVINO: same file and hint, AsyncInferQueue(OPTIMAL_NUMBER_OF_INFER_REQUESTS) "
        f"kept full, batch 1, {plan.raw_seconds:g} s after {plan.raw_warmup:g} s warm-up, "
        "measured before and after each transport's runs (higher of the two kept)",
        "- ratio = value / baseline; pairs (naive, tiny, SDK) are measured back to back",
    ]


def document(rows: Sequence[Row], lines: list[str]) -> str:
    targets = [row for row in rows if row.target is not None]
    details = [row for row in rows if not row.derived]
    return (
        render(targets, [*lines, "", "## Targets"])
        + f"\n{summary(rows)}\n\n"
        + render(details, ["## All measurements"])
    )


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    # Unwind normally, so the server context stops ovtriton serve and its stubs.
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    plan = QUICK if args.quick else FULL
    started = time.monotonic()
    cpu = machine.CpuShare().start()
    try:
        with tempfile.TemporaryDirectory(prefix="ovtriton-bench-") as work:
            rows = measure(plan, Path(work), args.keep_logs)
    except (ServerError, PerfAnalyzerError) as error:
        print(f"benchmarks: {error}", file=sys.stderr)
        return 1
    text = document(rows, header(plan, time.monotonic() - started, cpu.stop()))
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"benchmarks: table written to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
