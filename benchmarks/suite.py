"""The comparisons of one run, each turned into table rows.

A :class:`Suite` holds the running server, perf_analyzer and the plan. Each
method measures one comparison and returns its rows; a failed measurement gives
a row without a value and a note, never an exception, so one broken part does not
cost the rest of the run.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np

from benchmarks import machine, raw_openvino, sdk
from benchmarks.ladder import (
    MemoryRow,
    Point,
    Sample,
    Samples,
    schedule,
    summarise,
    target_rows,
)
from benchmarks.models import (
    LARGE_ELEMENTS,
    LARGE_IO,
    OVTRITON,
    TINY,
    TINY_FEATURES,
    TINY_NUMPY,
    Contender,
)
from benchmarks.models import tiny_reference as tiny_expected
from benchmarks.perf_analyzer import Measurement, PerfAnalyzer, PerfAnalyzerError, PerfRun
from benchmarks.plan import GRPC, SDK_LATENCY_TARGET, SDK_SHM_TARGET, Pair, Plan, Transport
from benchmarks.server import BenchServer
from benchmarks.table import Row
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
        """Throughput of ``model`` under perf_analyzer, or None and why not."""
        measurement, note = self.perf_measurement(model, transport, concurrency, url)
        return (None if measurement is None else measurement.throughput), note

    def perf_measurement(
        self, model: str, transport: Transport, concurrency: int, url: str | None = None
    ) -> tuple[Measurement | None, str]:
        """perf_analyzer's measurement of ``model``, or None and why not.

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
        return measurement, note

    def _cpu(self) -> machine.CpuSplit | None:
        """CPU used so far by each party of a served inference, or None.

        The parties: perf_analyzer runs, ovtriton serve, tritonserver and its
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

    def load_ladder(self) -> tuple[list[Point], list[Row]]:
        """Ovtriton's default config against every rival config and raw OpenVINO.

        Sweeps of every model at every concurrency over gRPC, each block's order
        alternating (:func:`benchmarks.ladder.schedule`); raw OpenVINO at its best
        hint for the concurrency is measured in the same block, after the served runs.
        """
        plan = self.plan
        samples = Samples()
        raws: dict[tuple[str, bool], raw_openvino.RawOpenVINO | None] = {}
        for block in schedule(
            plan.image_models, plan.concurrencies, (OVTRITON, *plan.rivals), plan.sweeps
        ):
            for contender in block.contenders:
                self._ladder_run(samples, block.model, block.concurrency, contender)
            throughput = self._raw(raws, block.model, block.concurrency)
            if throughput is not None:
                samples.add_raw(block.model, block.concurrency, throughput)
        points = summarise(samples, plan.image_models, plan.concurrencies)
        return points, target_rows(points, plan.raw_target_models)

    def _ladder_run(
        self, samples: Samples, model: str, concurrency: int, contender: Contender
    ) -> None:
        measurement, _ = self.perf_measurement(contender.model(model), GRPC, concurrency)
        if measurement is not None:
            sample = Sample(measurement.throughput, measurement.p50_us / 1000)
            samples.add(model, concurrency, contender, sample)

    def _raw(
        self,
        raws: dict[tuple[str, bool], raw_openvino.RawOpenVINO | None],
        model: str,
        concurrency: int,
    ) -> float | None:
        """Raw OpenVINO's throughput at its best hint for ``concurrency`` (None: failed)."""
        key = (model, concurrency == 1)
        if model not in self.model_paths:
            return None
        if key not in raws:
            try:
                raws[key] = raw_openvino.for_concurrency(self.model_paths[model], concurrency)
            except RuntimeError as error:
                self.progress(f"raw OpenVINO {model}: cannot compile: {error}")
                raws[key] = None
        baseline = raws[key]
        if baseline is None:
            return None
        result = baseline.measure(self.plan.raw_seconds, self.plan.raw_warmup)
        self.raw_cpu_ms[model] = result.cpu_ms_per_inference
        how = "LATENCY sync" if baseline.synchronous else f"AsyncInferQueue nireq={result.nireq}"
        self.progress(
            f"raw OpenVINO {model} c={concurrency} ({how}): {result.throughput:.1f} infer/s, "
            f"CPU ms/infer {result.cpu_ms_per_inference:.2f}"
        )
        return result.throughput

    def memory(self, peer_models: Sequence[str]) -> list[MemoryRow]:
        """RSS per served model: each ovtriton stub's, and tritonserver's growth per peer model.

        Args:
            peer_models: Peer models not loaded yet; each is loaded through Triton's
                repository API, one at a time, and tritonserver's RSS growth measured.
        """
        rows = []
        for model in self.plan.image_models:
            stub = self.server.stub_pid(model)
            rows.append(
                MemoryRow(model, "ovtriton", machine.rss_mb(stub) if stub else None, "stub RSS")
            )
        for index, peer in enumerate(peer_models):
            triton = self.server.tritonserver_pid()
            growth = None
            try:
                before = machine.rss_mb(triton) if triton else None
                self.server.load(peer)
                after = machine.rss_mb(triton) if triton else None
                growth = None if before is None or after is None else after - before
            except OSError as error:
                self.progress(f"memory: cannot load {peer}: {error}")
            how = "server growth" + (" (maps the OpenVINO runtime too)" if index == 0 else "")
            rows.append(MemoryRow(peer, "peer", growth, how))
        for row in rows:
            self.progress(f"memory {row.model} ({row.backend}): {row.megabytes} MB, {row.how}")
        return rows

    def _pairs(
        self,
        comparison: str,
        pairs: tuple[Pair, ...],
        rival: Callable[[str], str],
        rival_label: str,
        rival_url: str | None = None,
        label: str = "ovtriton",
    ) -> list[Row]:
        """Our side and its rival, at each pair's transport and concurrency, in alternating order.

        The rival is ``rival(model)`` at ``rival_url`` (default: the same endpoint).
        """
        rows = []
        for index, pair in enumerate(pairs):
            sides = [(pair.model, None), (rival(pair.model), rival_url)]
            # Every other pair runs the rival first: neither side always follows a switch.
            order = [0, 1] if index % 2 == 0 else [1, 0]
            measured = {}
            for side in order:
                model, url = sides[side]
                measured[side] = self.perf(model, pair.transport, pair.concurrency, url)
            (ours, our_note), (theirs, their_note) = measured[0], measured[1]
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
        with the other; any failure becomes the row's note.
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
    """"http" -> "HTTP", "grpc" -> "gRPC"."""
    return Transport(protocol).label
