"""The inference engine: from the requests of one ``execute`` to their outputs.

Valid requests with the same per-sample shape are concatenated along the batch
(Triton batching), cut into runs the compiled model takes (padding a fixed batch,
splitting large ones), run, and split back per request. A bad request gets its own
error; the others still run.

Runs are started on OpenVINO's ``AsyncInferQueue`` and each request is answered
from the callback of its last run, so ``execute`` returns at once and Triton can
hand over the next requests while every OpenVINO stream works (the same pipelining
raw OpenVINO gets from a full queue). A quick model (one inference under
:data:`QUICK_SECONDS`) runs inline instead: there the queue's hand-offs would cost
more than the inference.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import openvino as ov

from ovtriton.errors import ModelLoadError, RequestError
from ovtriton.rules.batching import Run, check_request, plan_runs
from ovtriton.rules.dims import Dim
from ovtriton.rules.parameters import BackendParameters
from ovtriton.rules.tensors import common_batch
from ovtriton.runtime.preparation import PreparedModel
from ovtriton.runtime.types import numpy_dtype
from ovtriton.runtime.variants import CompiledVariant, Inputs, Outputs, VariantCache

Result = Outputs | Exception
Respond = Callable[[int, Result], None]
ShapeKey = tuple[tuple[int, ...], ...]
EventSink = Callable[[str, Hashable, float], None]

# Below this, one inference is cheaper than the hand-off to a stream thread.
QUICK_SECONDS = 1e-3
# Request signatures (names, dtypes, shapes) whose check verdict is remembered.
MAX_REMEMBERED_SIGNATURES = 1024


@dataclass
class _Group:
    """Requests served together: their indices, inputs and wanted outputs."""

    indices: list[int]
    inputs: list[Inputs]
    wanted: list[set[str]]

    @property
    def outputs(self) -> set[str]:
        return set().union(*self.wanted)


class _Pending:
    """Collects the outputs of one group's runs, which finish on OpenVINO threads."""

    def __init__(
        self,
        count: int,
        finish: Callable[[list[Outputs]], None],
        fail: Callable[[Exception], None],
    ) -> None:
        self._lock = threading.Lock()
        self._outputs: list[Outputs] = [{}] * count
        self._left = count
        self._error: Exception | None = None
        self._finish, self._fail = finish, fail

    def recorder(self, index: int) -> Callable[[Outputs | Exception], None]:
        def record(result: Outputs | Exception) -> None:
            with self._lock:
                if isinstance(result, Exception):
                    self._error = self._error or result
                else:
                    self._outputs[index] = result
                self._left -= 1
                last = self._left == 0
            if not last:
                return
            if self._error is not None:
                self._fail(self._error)
                return
            try:
                self._finish(self._outputs)
            except Exception as error:  # e.g. outputs that cannot be split back
                self._fail(error)

        return record


class InferenceEngine:
    """Runs requests on a prepared model.

    Args:
        core: The OpenVINO core (shared so compiled-model caching applies).
        prepared: The prepared model and its served tensors.
        params: Backend parameters (device, properties, nireq, cache size).
        batched: Triton batching is on (every tensor's batch at position 0).
        on_event: Receives variant-cache events (compile / hit / evict).
        quick_seconds: Models whose warm inference is faster run inline (default
            :data:`QUICK_SECONDS`).
    """

    def __init__(
        self,
        core: ov.Core,
        prepared: PreparedModel,
        params: BackendParameters,
        batched: bool,
        on_event: EventSink = lambda *_: None,
        quick_seconds: float | None = None,
    ) -> None:
        quick_seconds = QUICK_SECONDS if quick_seconds is None else quick_seconds
        self._core = core
        self._prepared = prepared
        self._params = params
        self._properties = params.compile_properties()
        self._batched = batched
        self._input_names = [t.name for t in prepared.inputs]
        self._output_names = [t.name for t in prepared.outputs]
        self._scalars = {t.name for t in prepared.tensors if t.is_scalar}
        self._strings = {t.name for t in prepared.inputs if t.config_type == "TYPE_STRING"}
        self._verdicts: dict[Hashable, RequestError | None] = {}
        self._variants = VariantCache(self._compile_for, params.reshape_cache_size, on_event)
        # Compile at load: a device that cannot take the model must fail the load.
        started = time.perf_counter()
        self.initial = self._compile(prepared.model)
        self.compile_seconds = time.perf_counter() - started
        self.latency = self._measure(self.initial)
        self.quick = self.latency is not None and self.latency < quick_seconds
        if self.quick and not params.chose_performance:
            # Streams cannot help a quick model; LATENCY skips the stream hand-off.
            self._properties = {**self._properties, "PERFORMANCE_HINT": "LATENCY"}
            started = time.perf_counter()
            self.initial = self._compile(prepared.model)
            self.compile_seconds += time.perf_counter() - started
        static_key = self._key_of_model(prepared.model)
        if static_key is not None and prepared.is_auto:
            self._variants.put(static_key, self.initial)
        self._batch_dim = _common_batch(prepared) if batched else Dim.any()

    @property
    def cache(self) -> VariantCache:
        return self._variants

    def submit(
        self,
        requests: Sequence[Mapping[str, np.ndarray]],
        wanted: Sequence[Sequence[str]],
        respond: Respond,
    ) -> None:
        """Start serving the requests of one ``execute`` call.

        Args:
            requests: Each request's inputs by name (they may be freed on return).
            wanted: Each request's requested output names (empty: all outputs).
            respond: Called exactly once per request index with its outputs or the
                exception to report (:class:`RequestError` for a caller mistake);
                maybe before ``submit`` returns, maybe later on an OpenVINO thread.
        """
        groups = self._groups(requests, wanted, respond)
        for group in groups:
            try:
                # Inline results are views of the one reused infer request: a later
                # group's run would overwrite an earlier group's, unless copied.
                self._start(group, respond, copy_inline=len(groups) > 1)
            except Exception as error:  # one failing group must not fail the others
                for index in group.indices:
                    respond(index, error)

    def infer(
        self, requests: Sequence[Mapping[str, np.ndarray]], wanted: Sequence[Sequence[str]]
    ) -> list[Result]:
        """Serve requests and wait for all of them: :meth:`submit`, blocking."""
        results: list[Result] = [RuntimeError("not answered")] * len(requests)

        def keep(index: int, result: Result) -> None:
            results[index] = result

        self.submit(requests, wanted, keep)
        if not self.quick:  # a quick model has answered inline already
            self.wait()
        return results

    def wait(self) -> None:
        """Block until every started run has finished and been answered."""
        for variant in self._all_variants():
            variant.wait()

    def close(self) -> None:
        """Answer what is still running, then stop the inference workers."""
        for variant in self._all_variants():
            variant.close()

    def _all_variants(self) -> list[CompiledVariant]:
        return list({id(v): v for v in [self.initial, *self._variants.variants()]}.values())

    def _groups(
        self,
        requests: Sequence[Mapping[str, np.ndarray]],
        wanted: Sequence[Sequence[str]],
        respond: Respond,
    ) -> list[_Group]:
        """Check each request (answering bad ones now) and group the good ones."""
        groups: dict[Hashable, _Group] = {}
        for index, inputs in enumerate(requests):
            problem = self._check(inputs)
            if problem is not None:
                respond(index, problem)
                continue
            outputs = set(wanted[index]) or set(self._output_names)
            unknown = outputs - set(self._output_names)
            if unknown:
                respond(
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

    def _start(self, group: _Group, respond: Respond, copy_inline: bool = False) -> None:
        names = sorted(group.outputs, key=self._output_names.index)
        if self._batched:
            sizes = [len(inputs[self._input_names[0]]) for inputs in group.inputs]
            parallel = 1 if self._prepared.is_auto or self.quick else self.initial.nireq
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

        def finish(run_outputs: list[Outputs]) -> None:
            for index, outputs in zip(
                group.indices, self._split(group, runs, sizes, names, run_outputs), strict=True
            ):
                respond(index, outputs)

        def fail(error: Exception) -> None:
            for index in group.indices:
                respond(index, error)

        # An auto model runs one combined batch (parallelism 1, unbounded batch), so
        # a single variant serves every run; other models have just one variant.
        variant = self._variant_for(self._shape_key(run_inputs[0]))
        if self.quick:
            # Inline; copies when several runs share the one synchronous request.
            copy = copy_inline or len(run_inputs) > 1
            finish(
                [
                    {n: a.copy() if copy else a for n, a in variant.infer(i, names).items()}
                    for i in run_inputs
                ]
            )
            return
        pending = _Pending(len(run_inputs), finish, fail)
        for index, inputs in enumerate(run_inputs):
            variant.start(inputs, names, pending.recorder(index))

    def _split(
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

    def _variant_for(self, key: ShapeKey) -> CompiledVariant:
        if not self._prepared.is_auto:
            return self.initial
        return self._variants.get(key)

    def _key_of_model(self, model: ov.Model) -> ShapeKey | None:
        shapes = [port.get_partial_shape() for port in model.inputs]
        if any(shape.is_dynamic for shape in shapes):
            return None
        return tuple(tuple(d.get_length() for d in shape) for shape in shapes)

    def _measure(self, variant: CompiledVariant) -> float | None:
        """Seconds of one warm inference on zeros (this also warms the model up), with
        dynamic dimensions at their smallest positive size; None if it cannot run.
        """
        if any(t.config_type == "TYPE_STRING" for t in self._prepared.inputs):
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
