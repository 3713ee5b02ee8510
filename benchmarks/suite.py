"""The comparisons of one run, each turned into table rows.

A :class:`Suite` holds the running server, perf_analyzer and the plan. Each
method measures one of the issue's comparisons and returns its rows; a failed
measurement gives a row without a value and a note, never an exception, so one
broken part does not cost the rest of the run.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np

from benchmarks import machine, sdk
from benchmarks.models import (
    LARGE_ELEMENTS,
    LARGE_IO,
    NAIVE_SUFFIX,
    TINY,
    TINY_FEATURES,
    TINY_NUMPY,
)
from benchmarks.models import tiny_reference as tiny_expected
from benchmarks.perf_analyzer import PerfAnalyzer, PerfAnalyzerError, PerfRun
from benchmarks.plan import SDK_LATENCY_TARGET, SDK_SHM_TARGET, Pair, Plan, Transport
from benchmarks.raw_openvino import RawOpenVINO
from benchmarks.server import BenchServer
from benchmarks.table import Row, best_row
from ovtriton_serve.server.stubs import child_processes

Progress = Callable[[str], None]
UNSTABLE = "Failed to obtain stable measurement"
LOOSE = 100  # stability percentage of a retry


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _short(error: BaseException, limit: int = 120) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Suite:
    """Runs a plan's comparisons on one server.

    Args:
        plan: What to measure.
        server: The running server with the plan's repository.
        analyzer: perf_analyzer, ready to run.
        model_paths: Image model name to its ONNX file (for raw OpenVINO).
        progress: Receives one line per measurement.
    """

    def __init__(
        self,
        plan: Plan,
        server: BenchServer,
        analyzer: PerfAnalyzer,
        model_paths: Mapping[str, Path],
        progress: Progress = _stderr,
    ) -> None:
        self.plan = plan
        self.server = server
        self.analyzer = analyzer
        self.model_paths = model_paths
        self.progress = progress
        self._done = 0
        # Raw OpenVINO's CPU per inference, last measured, per model: the served rows'
        # "CPU ms/infer" notes say where a served inference spends more.
        self.raw_cpu_ms: dict[str, float] = {}

    # perf_analyzer

    def perf(
        self, model: str, transport: Transport, concurrency: int, url: str | None = None
    ) -> tuple[float | None, str]:
        """Throughput of ``model`` under perf_analyzer, or None and why not.

        ``url`` defaults to the server's public endpoint for the transport. A run that
        never gets stable (a busy machine) is tried once more with a looser stability
        bound, and its row says so.
        """
        run = PerfRun(
            model=model,
            url=url or self.server.url(transport.protocol),
            protocol=transport.protocol,
            concurrency=concurrency,
            shared_memory=transport.shared_memory,
            interval_ms=self.plan.interval_for(model),
            headers=self.server.admin_headers(transport.protocol),
        )
        self._done += 1
        where = f"[{self._done:2d}/{self.plan.perf_runs}] {model} {transport.label} c={concurrency}"
        notes = []
        before, cpu_before = self._counts(model), self._cpu()
        try:
            try:
                measurement = self.analyzer.measure(run)
            except PerfAnalyzerError as error:
                if UNSTABLE not in str(error):
                    raise
                self.progress(f"{where}: not stable, retrying with stability {LOOSE} %")
                measurement = self.analyzer.measure(replace(run, stability=LOOSE))
                notes.append(f"stability {LOOSE} %")
        except PerfAnalyzerError as error:
            self.progress(f"{where}: failed: {error}")
            return None, _short(error)
        after, cpu_after = self._counts(model), self._cpu()
        if before and after and after[1] > before[1]:
            per_execute = (after[0] - before[0]) / (after[1] - before[1])
            notes.append(f"{per_execute:.1f} req/execute")
            if cpu_before and cpu_after:
                notes.append((cpu_after - cpu_before).per_inference_ms(after[0] - before[0]))
        note = ", ".join(notes)
        self.progress(
            f"{where}: {measurement.throughput:.1f} infer/s, "
            f"p50 {measurement.p50_us / 1000:.1f} ms, {note}"
        )
        return measurement.throughput, note

    def _cpu(self) -> machine.CpuSplit | None:
        """CPU used so far by perf_analyzer runs, ovtriton serve, tritonserver and its
        stubs (where the time of a served inference goes); None while no tritonserver
        runs.
        """
        triton = self.server.tritonserver_pid()
        if triton is None:
            return None
        stubs = sum(machine.process_seconds(pid) for pid, _ in child_processes(triton))
        front = machine.process_seconds(self.server.process.pid) if self.server.process else 0.0
        return machine.CpuSplit(
            machine.reaped_children_seconds(), front, machine.process_seconds(triton), stubs
        )

    def _counts(self, model: str) -> tuple[int, int] | None:
        try:
            return self.server.counts(model)
        except (OSError, ValueError):
            return None  # statistics are context, not a reason to fail the row

    def served_vs_raw(self) -> list[Row]:
        """Raw OpenVINO against ovtriton, per image model and transport.

        Raw OpenVINO is measured before each transport's block of concurrencies and
        after the last one; a row's baseline is the higher of the two that bracket
        it, so a busy moment on a shared machine hits both sides of a ratio alike.
        The target row puts the best served row against the highest raw measurement.
        """
        rows: list[Row] = []
        for model in self.plan.image_models:
            raw = self._raw_baseline(model)
            points = [raw()]
            details = []
            for transport in self.plan.transports:
                served = [(c, *self.perf(model, transport, c)) for c in self.plan.concurrencies]
                points.append(raw())
                bracket = [p for p in points[-2:] if p is not None]
                baseline = max(bracket) if bracket else None
                details += [
                    Row(
                        "served / raw OpenVINO",
                        f"{model}, {transport.label}, c={concurrency}",
                        value,
                        baseline,
                        "infer/s",
                        note=note,
                    )
                    for concurrency, value, note in served
                ]
            rows += details
            target = self.plan.raw_targets.get(model)
            measured = [p for p in points if p is not None]
            if target is not None:
                limit = max(measured) if measured else None
                setting = f"{model}, raw = highest of {len(measured)} measurements"
                if model in self.raw_cpu_ms:
                    setting += f" (raw CPU ms/infer {self.raw_cpu_ms[model]:.2f})"
                rows.append(best_row("served / raw OpenVINO", setting, details, target, limit))
        return rows

    def _raw_baseline(self, model: str) -> Callable[[], float | None]:
        """A function measuring raw OpenVINO on ``model`` once more (None: it failed)."""
        try:
            baseline: RawOpenVINO | None = RawOpenVINO(self.model_paths[model])
        except RuntimeError as error:
            self.progress(f"raw OpenVINO {model}: cannot compile: {error}")
            baseline = None

        def measure() -> float | None:
            if baseline is None:
                return None
            result = baseline.measure(self.plan.raw_seconds, self.plan.raw_warmup)
            self.raw_cpu_ms[model] = result.cpu_ms_per_inference
            self.progress(
                f"raw OpenVINO {model} (AsyncInferQueue nireq={result.nireq}): "
                f"{result.throughput:.1f} infer/s, CPU ms/infer {result.cpu_ms_per_inference:.2f}"
            )
            return result.throughput

        return measure

    def _pairs(
        self,
        comparison: str,
        pairs: tuple[Pair, ...],
        rival: Callable[[str], str],
        rival_label: str,
        rival_url: str | None = None,
        label: str = "ovtriton",
    ) -> list[Row]:
        """Our side, then its rival, at each pair's transport and concurrency.

        The rival is ``rival(model)`` at ``rival_url`` (default: the same endpoint).
        """
        rows = []
        for pair in pairs:
            ours, our_note = self.perf(pair.model, pair.transport, pair.concurrency)
            theirs, their_note = self.perf(
                rival(pair.model), pair.transport, pair.concurrency, rival_url
            )
            notes = [
                f"{who}: {note}"
                for who, note in ((label, our_note), (rival_label, their_note))
                if note
            ]
            rows.append(
                Row(
                    comparison,
                    f"{pair.model}, {pair.transport.label}, c={pair.concurrency}",
                    ours,
                    theirs,
                    "infer/s",
                    pair.target,
                    note="; ".join(notes),
                )
            )
        return rows

    def ovtriton_vs_naive(self) -> list[Row]:
        """Ovtriton against the naive per-request model.py, back to back."""
        return self._pairs(
            "ovtriton / naive model.py", self.plan.naive, lambda m: m + NAIVE_SUFFIX, "naive"
        )

    def tiny_vs_numpy(self) -> list[Row]:
        """The tiny model in ovtriton against the minimal numpy model, back to back."""
        return self._pairs(
            "tiny: ovtriton / minimal numpy model", self.plan.tiny, lambda _: TINY_NUMPY, "numpy"
        )

    def guarded_vs_unguarded(self) -> list[Row]:
        """HTTP through ``ovtriton serve``'s front door against Triton's own port behind it.

        Same server, same model, back to back: the only difference is the relay. gRPC
        never passes the front door, so it has no row here.
        """
        upstream = self.server.triton_http_url()
        if upstream is None:
            self.progress("front door: no tritonserver found, nothing to compare")
            return []
        return self._pairs(
            "guarded / unguarded HTTP",
            self.plan.guard,
            lambda model: model,
            "unguarded",
            rival_url=upstream,
            label="guarded",
        )

    # client side

    def sdk_vs_raw(self) -> list[Row]:
        """Median latency of the SDK's call against raw tritonclient's, on the tiny model."""
        inputs = {"x": np.random.default_rng(0).random((1, TINY_FEATURES), dtype=np.float32)}
        rows = []
        for protocol in self.plan.sdk_protocols:
            url = self.server.url(protocol)
            factories = {
                "SDK": partial(sdk.sdk_call, protocol, url, TINY, inputs),
                "tritonclient": partial(
                    sdk.raw_tritonclient_call, protocol, url, TINY, inputs, ["y"]
                ),
            }
            rows.append(
                self._client_row(
                    Row(
                        "SDK / raw tritonclient latency",
                        f"{TINY}, {protocol_label(protocol)}, median of sequential calls",
                        None,
                        None,
                        "ms",
                        SDK_LATENCY_TARGET,
                    ),
                    factories,
                    tiny_expected(inputs["x"]),
                    lambda timing: timing.median_ms,
                )
            )
        return rows

    def sdk_shm_vs_plain(self) -> list[Row]:
        """Throughput of the SDK's shared-memory path against its plain path, 16 MB in/out."""
        inputs = {"x": np.random.default_rng(0).random((1, LARGE_ELEMENTS), dtype=np.float32)}
        megabytes = inputs["x"].nbytes // 2**20
        rows = []
        for protocol in self.plan.sdk_protocols:
            url = self.server.url(protocol)
            factories = {
                "SDK shm": partial(sdk.sdk_call, protocol, url, LARGE_IO, inputs, True),
                "SDK plain": partial(sdk.sdk_call, protocol, url, LARGE_IO, inputs, False),
            }
            rows.append(
                self._client_row(
                    Row(
                        "SDK shm / SDK plain throughput",
                        f"{LARGE_IO} ({megabytes} MB in, {megabytes} MB out), "
                        f"{protocol_label(protocol)}, sequential calls",
                        None,
                        None,
                        "infer/s",
                        SDK_SHM_TARGET,
                    ),
                    factories,
                    inputs["x"] + np.float32(1),
                    lambda timing: timing.throughput,
                )
            )
        return rows

    def _client_row(
        self,
        row: Row,
        factories: Mapping[str, Callable[[], tuple[sdk.Call, Callable[[], None]]]],
        expected: np.ndarray,
        metric: Callable[[sdk.Timing], float],
    ) -> Row:
        """``row`` filled with ``metric`` of the first factory's call against the second's.

        Each call is opened, checked to answer ``expected`` and timed interleaved
        with the other; any failure (the SDK is young) becomes the row's note.
        """
        first, second = factories
        try:
            with contextlib.ExitStack() as stack:
                calls = {}
                for name, factory in factories.items():
                    call, close = factory()
                    stack.callback(close)
                    output = next(iter(call().values()))
                    if not np.allclose(output, expected, atol=1e-5):
                        raise AssertionError(f"{name} answered wrong values")
                    calls[name] = call
                timings = sdk.interleave(calls, self.plan.sdk_seconds)
        except Exception as error:  # report it in the table, keep the run going
            self.progress(f"{row.comparison}, {row.setting}: failed: {error!r}")
            return replace(row, note=_short(error))
        value, baseline = metric(timings[first]), metric(timings[second])
        calls_made = " vs ".join(str(len(timings[n].latencies)) for n in (first, second))
        self.progress(
            f"{row.comparison}, {row.setting}: {first} {value:.3f}, {second} {baseline:.3f} "
            f"{row.unit} ({calls_made} calls)"
        )
        return replace(row, value=value, baseline=baseline, note=f"{calls_made} calls")


def protocol_label(protocol: str) -> str:
    return Transport(protocol).label
