"""The inference engine: from the requests of one ``execute`` to their answers.

One entry point, :meth:`InferenceEngine.serve`, walks every call the same way:
check each request (a bad one is answered at once; the others still run), group
the good ones by per-sample shape (Triton batching), cut each group's combined
batch into the runs the compiled model takes (padding a fixed batch, splitting a
large one), run them, split the outputs back per request and give each request's
answer to the caller's :class:`Responder`.

How runs execute is decided once, at load (:func:`choose_mode`, the
``execution_mode`` parameter), and logged:

- ``inline``: on the calling thread, on one reused infer request; every request
  is answered before ``serve`` returns. Least overhead per request.
- ``pipelined``: on :class:`~ovtriton.runtime.variants.CompiledVariant`'s worker
  threads; ``serve`` returns once the runs are queued, and each request is
  answered from the worker that finishes its group's last run, so Triton can hand
  over the next requests while OpenVINO still works.
- ``adaptive`` (``auto``'s choice unless one inference is quick): a call of ONE
  request while nothing runs is served inline (one request at a time pays no
  hand-off and one message to Triton instead of two); any other call is pipelined.

The default operating point (no ``PERFORMANCE_HINT``, ``NUM_STREAMS``, ``nireq``,
``batch_size`` or ``shape`` set) follows the load: the model is compiled with
``LATENCY`` at its own shapes, so a lone request gets every core; and a
``THROUGHPUT`` twin takes the runs that overlap, one per stream, so a full queue
keeps every core busy. A quick model (``inline``) whose batch is fixed at 1 is
instead reshaped to the batch range ``1..max_batch_size`` (if its graph allows,
which is checked at load), so what Triton's dynamic batcher combines runs as ONE
inference instead of a row at a time. Measured on the benchmark's image models,
batched inference was no faster per sample than streams on a 2-core CPU, and a
static batch-1 model was 3-7 % faster than a batch range run at batch 1: see
docs/benchmarks.md.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import openvino as ov

from ovtriton.errors import ModelLoadError, RequestError
from ovtriton.rules.batching import Run, check_request, plan_runs
from ovtriton.rules.dims import Dim
from ovtriton.rules.parameters import BackendParameters, ExecutionMode
from ovtriton.rules.tensors import common_batch
from ovtriton.runtime.preparation import PreparedModel
from ovtriton.runtime.types import numpy_dtype
from ovtriton.runtime.variants import CompiledVariant, Inputs, Outputs, VariantCache

_LOG = logging.getLogger(__name__)
Result = Outputs | Exception
ShapeKey = tuple[tuple[int, ...], ...]

# ``auto`` runs a model inline when one warm inference takes less than this: the
# hand-off to a worker thread and the per-request response messages would cost more.
QUICK_SECONDS = 1e-3
# The THROUGHPUT twin's infer requests per stream: with two, a stream has its next run
# queued while the worker of its last run sends that run's answers.
TWIN_REQUESTS_PER_STREAM = 2
# Request signatures (names, dtypes, shapes) whose check verdict is remembered.
MAX_REMEMBERED_SIGNATURES = 1024


class Responder(Protocol):
    """Where the answers of one ``serve`` call go."""

    def respond(self, index: int, result: Result) -> None:
        """Answer request ``index`` with its outputs or the error to report.

        Called exactly once per request: for an inline call before ``serve`` returns,
        on the calling thread; for a pipelined call maybe later, on an OpenVINO worker
        thread (so it must not raise: nothing is there to catch it).
        """


class EventSink(Protocol):
    """Receives variant-cache events (``compile`` / ``hit`` / ``evict``)."""

    def __call__(self, event: str, key: Hashable, seconds: float) -> None:
        """Record one variant event (``compile``, ``hit``, ``evict``) and its seconds."""


def _ignore(event: str, key: Hashable, seconds: float) -> None:
    del event, key, seconds


@dataclass(frozen=True)
class ModeChoice:
    """How runs execute, and why (for the load's log line)."""

    mode: ExecutionMode
    reason: str


def choose_mode(requested: ExecutionMode, latency: float | None, static: bool) -> ModeChoice:
    """The execution mode: the user's, or for ``auto`` one that fits the model.

    Args:
        requested: The ``execution_mode`` parameter.
        latency: Seconds of one warm inference, or None if it was not timed.
        static: Every input's shape is static apart from the batch dimension, so
            ``latency`` is the cost of every request (a model with a dynamic
            sequence length, timed at its smallest, could take far longer).
    """
    if requested != "auto":
        return ModeChoice(requested, "execution_mode parameter")
    if latency is None or not static:
        return ModeChoice("adaptive", "auto: the inference time depends on the request")
    if latency < QUICK_SECONDS:
        return ModeChoice("inline", f"auto: one inference under {QUICK_SECONDS * 1e3:g} ms")
    return ModeChoice("adaptive", f"auto: one inference over {QUICK_SECONDS * 1e3:g} ms")


@dataclass
class _Group:
    """Requests served together: their indices, inputs and wanted outputs."""

    indices: list[int]
    inputs: list[Inputs]
    wanted: list[set[str]]

    @property
    def outputs(self) -> set[str]:
        return set().union(*self.wanted)


class _GroupRuns:
    """The runs of one group: collects their outputs, then answers the group's requests.

    Runs finish in any order, on worker threads for ``pipelined``; the last one to
    finish splits the outputs back per request and answers them.
    """

    def __init__(
        self,
        engine: InferenceEngine,
        group: _Group,
        runs: Sequence[Run],
        sizes: Sequence[int],
        names: Sequence[str],
        responder: Responder,
        counted: bool,
    ) -> None:
        self._engine = engine
        self._counted = counted
        self._group = group
        self._runs, self._sizes, self._names = runs, sizes, names
        self._responder = responder
        self._lock = threading.Lock()
        self._outputs: list[Outputs] = [{}] * len(runs)
        self._left = len(runs)
        self._error: Exception | None = None

    def run_finished(self, index: int, result: Result) -> None:
        """Record run ``index``; after the last run, answer every request of the group."""
        with self._lock:
            if isinstance(result, Exception):
                self._error = self._error or result
            else:
                self._outputs[index] = result
            self._left -= 1
            if self._left:
                return
        # No longer in flight before the answers go out: a client sending one request
        # at a time sends its next one as soon as it has this answer, and that one
        # must find the engine idle (the LATENCY variant), not busy with this group.
        if self._counted:
            self._engine.group_done()
        self._answer()

    def _answer(self) -> None:
        if self._error is None:
            try:
                answers = self._engine.split(
                    self._group, self._runs, self._sizes, self._names, self._outputs
                )
            except Exception as error:  # e.g. outputs that cannot be split back
                self._error = error
            else:
                for request, outputs in zip(self._group.indices, answers, strict=True):
                    self._responder.respond(request, outputs)
                return
        for request in self._group.indices:
            self._responder.respond(request, self._error)


class InferenceEngine:
    """Runs requests on a prepared model.

    Args:
        core: The OpenVINO core (shared so compiled-model caching applies).
        prepared: The prepared model and its served tensors.
        params: Backend parameters (device, properties, nireq, cache size, mode).
        max_batch_size: Triton's ``max_batch_size`` (0: no Triton batching; else
            every tensor's batch is at position 0).
        on_event: Receives variant-cache events (compile / hit / evict).
    """

    def __init__(
        self,
        core: ov.Core,
        prepared: PreparedModel,
        params: BackendParameters,
        max_batch_size: int = 0,
        on_event: EventSink = _ignore,
    ) -> None:
        self._core = core
        self._prepared = prepared
        self._params = params
        self._properties = params.compile_properties()
        self._batched = max_batch_size > 0
        self._input_names = [t.name for t in prepared.inputs]
        self._output_names = [t.name for t in prepared.outputs]
        self._scalars = {t.name for t in prepared.tensors if t.is_scalar}
        self._strings = {t.name for t in prepared.inputs if t.config_type == "TYPE_STRING"}
        self._verdicts: dict[Hashable, RequestError | None] = {}
        self._variants = VariantCache(self._compile_for, params.reshape_cache_size, on_event)
        self._batch_dim = _common_batch(prepared) if self._batched else Dim.any()
        # Compile at load: a device that cannot take the model must fail the load.
        started = time.perf_counter()
        self.initial = self._compile(prepared.model)
        self.latency = self._measure(self.initial)
        static = all(
            port.get_partial_shape()[1:].is_static if self._batched else
            port.get_partial_shape().is_static
            for port in prepared.model.inputs
        )  # fmt: skip
        self.mode_choice = choose_mode(params.execution_mode, self.latency, static)
        # Some calls run on worker threads (pipelined, and adaptive under load); adaptive
        # decides per call (see serve).
        self.pipelined = self.mode_choice.mode != "inline"
        self.adaptive = self.mode_choice.mode == "adaptive"
        self.batch_range = None if self.pipelined else self._use_batch_range(max_batch_size)
        self.loaded = self._throughput_twin() if self.pipelined else None
        self.compile_seconds = time.perf_counter() - started
        self._in_flight = 0
        self._in_flight_lock = threading.Lock()
        static_key = self._key_of_model(prepared.model)
        if static_key is not None and prepared.is_auto:
            self._variants.put(static_key, self.initial)

    @property
    def cache(self) -> VariantCache:
        """The compiled variants (for metrics and tests)."""
        return self._variants

    def serve(
        self,
        requests: Sequence[Mapping[str, np.ndarray]],
        wanted: Sequence[Sequence[str]],
        responder: Responder,
    ) -> None:
        """Serve the requests of one ``execute`` call; each is answered through ``responder``.

        Args:
            requests: Each request's inputs by name (they may be freed on return).
            wanted: Each request's requested output names (empty: all outputs).
            responder: Gets exactly one answer per request index: its outputs, or the
                exception to report (:class:`RequestError` for a caller mistake).
        """
        inline = not self.pipelined or (
            self.adaptive and len(requests) == 1 and self._idle()
        )
        groups = self._groups(requests, wanted, responder)
        for group in groups:
            try:
                # Inline results are views of the one reused infer request: a later
                # group's run would overwrite an earlier group's, unless copied.
                self._start(group, responder, inline, copy_inline=len(groups) > 1)
            except Exception as error:  # one failing group must not fail the others
                for index in group.indices:
                    responder.respond(index, error)

    def infer(
        self, requests: Sequence[Mapping[str, np.ndarray]], wanted: Sequence[Sequence[str]]
    ) -> list[Result]:
        """Serve requests and wait for all of their answers (:meth:`serve`, blocking)."""
        answers = _Answers(len(requests))
        self.serve(requests, wanted, answers)
        self.wait()
        return answers.results

    def wait(self) -> None:
        """Block until every started run has finished and been answered."""
        for variant in self._all_variants():
            variant.wait()

    def close(self) -> None:
        """Answer what is still running, then stop the inference workers."""
        for variant in self._all_variants():
            variant.close()

    def _all_variants(self) -> list[CompiledVariant]:
        variants = [
            self.initial,
            *([self.loaded] if self.loaded else []),
            *self._variants.variants(),
        ]
        return list({id(v): v for v in variants}.values())

    def _groups(
        self,
        requests: Sequence[Mapping[str, np.ndarray]],
        wanted: Sequence[Sequence[str]],
        responder: Responder,
    ) -> list[_Group]:
        """Check each request (answering bad ones now) and group the good ones."""
        groups: dict[Hashable, _Group] = {}
        for index, inputs in enumerate(requests):
            problem = self._check(inputs)
            if problem is not None:
                responder.respond(index, problem)
                continue
            outputs = set(wanted[index]) or set(self._output_names)
            unknown = outputs - set(self._output_names)
            if unknown:
                responder.respond(
                    index,
                    RequestError(
                        f"Invalid output name - Expected one of: {self._output_names}; "
                        f"Actual: {sorted(unknown)}"
                    ),
                )
                continue
            # Only requests of equal per-sample shape can share a batch.
            key: Hashable = (
                tuple(inputs[n].shape[1:] for n in self._input_names) if self._batched else index
            )
            group = groups.setdefault(key, _Group([], [], []))
            group.indices.append(index)
            group.inputs.append(self._as_openvino(inputs))
            group.wanted.append(outputs)
        return list(groups.values())

    def _as_openvino(self, inputs: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
        """BYTES inputs arrive as object arrays of bytes; OpenVINO takes ``np.bytes_``."""
        if not self._strings:
            return inputs
        return {
            name: np.asarray(array, dtype=np.bytes_) if name in self._strings else array
            for name, array in inputs.items()
        }

    def _check(self, inputs: Mapping[str, np.ndarray]) -> RequestError | None:
        """:func:`check_request`'s verdict on a request, remembered by its signature.

        The verdict depends only on the names, dtypes and shapes of the inputs, and
        clients send the same few again and again: a dictionary lookup instead of a
        full check saves a sizeable part of the per-request cost of a tiny model.
        """
        signature = tuple((name, array.dtype, array.shape) for name, array in inputs.items())
        if signature not in self._verdicts:
            if len(self._verdicts) >= MAX_REMEMBERED_SIGNATURES:
                self._verdicts.clear()  # hostile variety: start over rather than grow
            try:
                check_request(self._prepared.inputs, inputs, self._batched)
                self._verdicts[signature] = None
            except RequestError as error:
                self._verdicts[signature] = error
        return self._verdicts[signature]

    def _idle(self) -> bool:
        with self._in_flight_lock:
            return self._in_flight == 0

    def _start(self, group: _Group, responder: Responder, inline: bool, copy_inline: bool) -> None:
        """Cut the group into runs and start them (inline: run them) on their variant."""
        variant = self.initial
        if inline:
            self._run(group, responder, inline, copy_inline, variant)
            return
        with self._in_flight_lock:
            busy = self._in_flight > 0 or self.adaptive
            self._in_flight += 1
        if busy and self.loaded is not None:
            # Runs overlap: the THROUGHPUT twin's streams, a run per stream (at the model's
            # own batch, as the LATENCY model: the batch range is for inline models only).
            variant = self.loaded
        try:
            self._run(group, responder, inline, copy_inline, variant)
        except Exception:
            self.group_done()  # not started, so never finishing
            raise

    def _run(
        self,
        group: _Group,
        responder: Responder,
        inline: bool,
        copy_inline: bool,
        variant: CompiledVariant,
    ) -> None:
        names = sorted(group.outputs, key=self._output_names.index)
        if self._batched:
            sizes = [len(inputs[self._input_names[0]]) for inputs in group.inputs]
            parallel = 1 if self._prepared.is_auto or inline else variant.nireq
            runs = plan_runs(sum(sizes), self._batch_dim, parallel)
            if _one_run_per_request(runs, sizes):
                # Each request's own arrays run as they are: no concatenation, no copy.
                run_inputs = [dict(inputs) for inputs in group.inputs]
            else:
                combined = {n: _concat([i[n] for i in group.inputs]) for n in self._input_names}
                run_inputs = [{n: _rows(a, run) for n, a in combined.items()} for run in runs]
        else:
            # Scalars travel as shape (1) (see TensorInfo.served_shape); OpenVINO gets rank 0.
            run_inputs = [
                {n: a.reshape(()) if n in self._scalars else a for n, a in group.inputs[0].items()}
            ]
            runs, sizes = [Run(0, 1, 1)], [1]
        group_runs = _GroupRuns(self, group, runs, sizes, names, responder, counted=not inline)
        if self._prepared.is_auto:
            # An auto model runs one combined batch (parallelism 1, unbounded batch),
            # so a single variant, compiled for its shape, serves every run.
            variant = self._variants.get(self._shape_key(run_inputs[0]))
        if not inline:
            for index, inputs in enumerate(run_inputs):
                variant.start(inputs, names, group_runs, index)
            return
        # Inline; copies when several runs share the one synchronous request.
        copy = copy_inline or len(run_inputs) > 1
        for index, inputs in enumerate(run_inputs):
            outputs = variant.infer(inputs, names)
            group_runs.run_finished(
                index, {n: a.copy() for n, a in outputs.items()} if copy else outputs
            )

    def split(
        self,
        group: _Group,
        runs: Sequence[Run],
        sizes: Sequence[int],
        names: Sequence[str],
        run_outputs: Sequence[Outputs],
    ) -> list[Outputs]:
        """Each request's wanted outputs from the outputs of the runs."""
        if not self._batched:
            outputs = run_outputs[0]
            return [
                {n: outputs[n].reshape(1) if n in self._scalars else outputs[n]
                 for n in group.wanted[0]}
            ]  # fmt: skip
        if _one_run_per_request(runs, sizes):
            return [
                {name: outputs[name] for name in group.wanted[i]}
                for i, outputs in enumerate(run_outputs)
            ]
        merged = {
            name: _concat(
                [
                    out[name][: run.stop - run.start]
                    for out, run in zip(run_outputs, runs, strict=True)
                ]
            )
            for name in names
        }
        offsets = np.cumsum([0, *sizes])
        return [
            {name: merged[name][start:stop] for name in group.wanted[i]}
            for i, (start, stop) in enumerate(itertools.pairwise(offsets))
        ]

    def _shape_key(self, inputs: Inputs) -> ShapeKey:
        return tuple(tuple(inputs[n].shape) for n in self._input_names)

    def group_done(self) -> None:
        """A pipelined group has been answered: it no longer counts as in flight."""
        with self._in_flight_lock:
            self._in_flight -= 1

    def _default_operating_point(self) -> bool:
        """The user left performance and ``nireq`` to ovtriton (and shapes are fixed)."""
        params = self._params
        return not (params.chose_performance or params.nireq is not None or self._prepared.is_auto)

    def _key_of_model(self, model: ov.Model) -> ShapeKey | None:
        shapes = [port.get_partial_shape() for port in model.inputs]
        if any(shape.is_dynamic for shape in shapes):
            return None
        return tuple(tuple(d.get_length() for d in shape) for shape in shapes)

    def _use_batch_range(self, max_batch_size: int) -> Dim | None:
        """Serve a fixed-batch-1 model of the default config as batch ``1..max_batch_size``.

        Inline only: what Triton's dynamic batcher combines then runs as ONE inference
        instead of a row at a time, which pays for a quick model, whose per-inference
        overhead is most of its cost. Returns the range, or None when it is not used.
        """
        ranged = self._batch_range_model(max_batch_size)
        if ranged is None:
            return None
        candidate = self._compile(ranged)
        if not self._batch_range_agrees(candidate):
            return None  # the graph took the reshape but mixes or drops samples
        self.initial = candidate
        self._batch_dim = Dim(1, max_batch_size)  # warm: the agreement check ran it
        return self._batch_dim

    def _throughput_twin(self) -> CompiledVariant | None:
        """The default operating point's variant for overlapping runs, or None.

        THROUGHPUT streams keep every core busy once runs overlap (LATENCY splits one
        inference across the cores, which costs more CPU per inference when several
        are in flight). Twice as many infer requests as streams, so a stream has its
        next run queued while its last one's answer is being sent.
        """
        if not self._default_operating_point():
            return None
        compiled = self._core.compile_model(
            self._prepared.model,
            self._params.target_device,
            {**self._properties, "PERFORMANCE_HINT": "THROUGHPUT"},
        )
        optimal = int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        twin = CompiledVariant(compiled, TWIN_REQUESTS_PER_STREAM * optimal)
        self._measure(twin)  # warm-up
        return twin

    def _batch_range_model(self, max_batch_size: int) -> ov.Model | None:
        """The model reshaped to batch ``1..max_batch_size``, for the default operating point.

        Only for a model whose batch is fixed at 1, served with Triton batching, when
        the user left performance, ``nireq``, ``batch_size`` and ``shape`` alone; None
        if the graph refuses the reshape or its outputs do not follow the batch.
        """
        params = self._params
        if (
            max_batch_size <= 1
            or not self._batched
            or self._prepared.is_auto
            or self._batch_dim != Dim.fixed(1)
            or params.chose_performance
            or params.nireq is not None
            or params.batch_size is not None
            or params.shape is not None
            or self._strings
        ):
            return None
        batch = ov.Dimension(1, max_batch_size)
        model = self._prepared.model.clone()
        try:
            model.reshape(
                {
                    port.get_any_name(): ov.PartialShape(
                        [batch, *list(port.get_partial_shape())[1:]]
                    )
                    for port in model.inputs
                }
            )
        except Exception as error:  # a graph with a batch baked in: keep batch 1
            _LOG.info("ovtriton: no batch range for %s: %s", self._prepared.path, error)
            return None
        if any(port.get_partial_shape()[0] != batch for port in model.outputs):
            return None
        return model

    def _batch_range_agrees(self, variant: CompiledVariant) -> bool:
        """Two different samples run as one batch give what each gives alone.

        A graph can take the reshape and still mix samples (a Reshape to a constant
        shape, a reduction over the batch): then the batch range is not used.
        """
        rng = np.random.default_rng(0)
        batch = {}
        for tensor, port in zip(self._prepared.inputs, self._prepared.model.inputs, strict=True):
            shape = [2, *(max(1, d.get_min_length()) for d in list(port.get_partial_shape())[1:])]
            dtype = np.dtype(numpy_dtype(tensor.config_type))
            if dtype.kind == "f":
                batch[tensor.name] = rng.standard_normal(shape).astype(dtype)
            else:  # 0 and 1 are valid for most index-like inputs
                batch[tensor.name] = rng.integers(0, 2, shape).astype(dtype)
        try:
            together = {n: a.copy() for n, a in variant.infer(batch, self._output_names).items()}
            for row in range(2):
                alone = variant.infer(
                    {n: a[row : row + 1] for n, a in batch.items()}, self._output_names
                )
                for name in self._output_names:
                    if together[name].shape[0] != 2 or not np.allclose(
                        together[name][row : row + 1], alone[name], rtol=1e-4, atol=1e-5
                    ):
                        return False
        except Exception:  # the batched graph cannot run: keep batch 1
            return False
        return True

    def _measure(self, variant: CompiledVariant) -> float | None:
        """Seconds of one warm inference on zeros; None if it cannot run.

        This also warms the model up; dynamic dimensions take their smallest positive size.
        """
        if self._strings:
            return None
        inputs = {}
        for tensor, port in zip(self._prepared.inputs, self._prepared.model.inputs, strict=True):
            shape = [max(1, d.get_min_length()) for d in port.get_partial_shape()]
            inputs[tensor.name] = np.zeros(shape, numpy_dtype(tensor.config_type))
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            try:
                variant.infer(inputs, self._output_names)
            except Exception:  # zeros are not valid input for every model
                return None
            best = min(best, time.perf_counter() - started)
        return best

    def _compile_for(self, key: Hashable) -> CompiledVariant:
        shapes: ShapeKey = key  # type: ignore[assignment]
        model = self._prepared.model.clone()
        model.reshape(
            {
                name: ov.PartialShape(list(shape))
                for name, shape in zip(self._input_names, shapes, strict=True)
            }
        )
        return self._compile(model)

    def _compile(self, model: ov.Model) -> CompiledVariant:
        compiled = self._core.compile_model(model, self._params.target_device, self._properties)
        return CompiledVariant(compiled, self._params.nireq)


class _Answers:
    """A :class:`Responder` that keeps every answer, for :meth:`InferenceEngine.infer`."""

    def __init__(self, count: int) -> None:
        self.results: list[Result] = [RuntimeError("not answered")] * count

    def respond(self, index: int, result: Result) -> None:
        self.results[index] = result


def _common_batch(prepared: PreparedModel) -> Dim:
    """The run sizes every input takes.

    Raises:
        ModelLoadError: The inputs' batch dimensions share no size (auto-complete
            then serves the model unbatched; this is a ``max_batch_size`` set by hand).
    """
    common = common_batch(prepared.inputs)
    if common is None:
        batches = {t.name: str(t.batch_dim) for t in prepared.inputs}
        raise ModelLoadError(
            f"the inputs' batch dimensions {batches} share no size, so Triton batching "
            "cannot serve them; set max_batch_size: 0 or give the inputs one batch"
        )
    return common


def _one_run_per_request(runs: Sequence[Run], sizes: Sequence[int]) -> bool:
    return len(runs) == len(sizes) and all(
        run.padding == 0 and run.stop - run.start == size
        for run, size in zip(runs, sizes, strict=True)
    )


def _concat(arrays: Sequence[np.ndarray]) -> np.ndarray:
    # One request (the common case) passes through without a copy.
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


def _rows(array: np.ndarray, run: Run) -> np.ndarray:
    rows = array[run.start : run.stop]
    if run.padding == 0:
        return rows
    pad = np.zeros((run.padding, *array.shape[1:]), dtype=array.dtype)
    return np.concatenate([rows, pad])
