"""Suite.perf with a fake server and perf_analyzer: notes, retry on an unstable run."""

from __future__ import annotations

from typing import Any, cast

from benchmarks.perf_analyzer import Measurement, PerfAnalyzerError, PerfRun
from benchmarks.plan import GRPC, GUARD_TARGET, QUICK
from benchmarks.suite import LOOSE, UNSTABLE, Suite


class FakeServer:
    """Ports, and Triton's counters growing by 10 inferences in 5 executions per call."""

    def __init__(self) -> None:
        self.calls = 0

    def url(self, protocol: str) -> str:
        return f"127.0.0.1:{1 if protocol == 'http' else 2}"

    def tritonserver_pid(self) -> None:
        return None  # no process to read CPU time from

    def admin_headers(self, protocol: str) -> dict[str, str]:
        return {"ovtriton-admin-key": "k" * 16}

    def triton_http_url(self) -> str:
        return "127.0.0.1:3"  # Triton's own HTTP, behind the front door

    def counts(self, model: str) -> tuple[int, int]:
        self.calls += 1
        return 10 * self.calls, 5 * self.calls


class FakeAnalyzer:
    def __init__(self, *outcomes: Measurement | Exception) -> None:
        self.outcomes = list(outcomes)
        self.runs: list[PerfRun] = []

    def measure(self, run: PerfRun) -> Measurement:
        self.runs.append(run)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def suite(analyzer: FakeAnalyzer) -> Suite:
    lines: list[str] = []
    return Suite(QUICK, cast(Any, FakeServer()), cast(Any, analyzer), {}, lines.append)


def test_measurement_passes_through() -> None:
    analyzer = FakeAnalyzer(Measurement(4, 80.0, 1.0, 2.0))
    assert suite(analyzer).perf("m", GRPC, 4) == (80.0, "2.0 req/execute")
    [run] = analyzer.runs
    assert (run.url, run.protocol, run.concurrency) == ("127.0.0.1:2", "grpc", 4)


def test_unstable_run_is_retried_loosely_and_says_so() -> None:
    analyzer = FakeAnalyzer(PerfAnalyzerError(UNSTABLE), Measurement(4, 70.0, 1.0, 2.0))
    assert suite(analyzer).perf("m", GRPC, 4) == (
        70.0,
        f"stability {LOOSE} %, 2.0 req/execute",
    )
    assert [r.stability for r in analyzer.runs] == [50, LOOSE]


def test_other_failures_give_no_value_and_a_note() -> None:
    analyzer = FakeAnalyzer(PerfAnalyzerError("perf_analyzer exited with 99: boom"))
    value, note = suite(analyzer).perf("m", GRPC, 1)
    assert value is None and "boom" in note
    assert len(analyzer.runs) == 1


def test_front_door_cost_compares_the_public_port_with_tritons_own() -> None:
    analyzer = FakeAnalyzer(Measurement(4, 95.0, 1.0, 2.0), Measurement(4, 100.0, 1.0, 2.0))
    [row] = suite(analyzer).guarded_vs_unguarded()
    guarded, unguarded = analyzer.runs
    assert (guarded.url, unguarded.url) == ("127.0.0.1:1", "127.0.0.1:3")
    assert guarded.model == unguarded.model == "light_squeezenet"
    assert guarded.protocol == unguarded.protocol == "http"
    assert row.ratio == 0.95 and row.target == GUARD_TARGET and row.result == "PASS"


class ByModel(FakeAnalyzer):
    """Throughput by model name: ovtriton 100, peers 90, naive 50 (p50 10 ms)."""

    def measure(self, run: PerfRun) -> Measurement:
        self.runs.append(run)
        speed = 90.0 if "_peer_" in run.model else 50.0 if "_naive" in run.model else 100.0
        return Measurement(run.concurrency, speed, 10_000.0, 20_000.0)


def test_load_ladder_runs_every_contender_over_grpc_and_keeps_the_best() -> None:
    analyzer = ByModel()
    points, rows = suite(analyzer).load_ladder()
    assert len(analyzer.runs) == QUICK.ladder_runs
    assert {run.protocol for run in analyzer.runs} == {"grpc"}
    first_block = [r.model for r in analyzer.runs[: 1 + len(QUICK.rivals)]]
    second_block = [
        r.model for r in analyzer.runs[1 + len(QUICK.rivals) : 2 * (1 + len(QUICK.rivals))]
    ]
    assert first_block[0] == "light_squeezenet" and second_block == first_block[::-1]
    assert [(p.concurrency, p.ovtriton and p.ovtriton.sweeps) for p in points] == [(1, 2), (8, 2)]
    peer_rows = [r for r in rows if r.comparison == "ovtriton / best peer"]
    assert [(r.ratio, r.result) for r in peer_rows] == [(100 / 90, "PASS")] * 2
    assert all(r.baseline is None for r in rows if "raw" in r.comparison)  # no model file given
