"""The inference engine: from the requests of one ``execute`` to their outputs.

Valid requests with the same per-sample shape are concatenated along the batch
(Triton batching), cut into runs the compiled model takes (padding a fixed batch,
splitting large ones), run concurrently, and split back per request. A bad request
gets its own error; the others still run.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import openvino as ov

from ovtriton.batching import Run, check_request, plan_runs
from ovtriton.errors import RequestError
from ovtriton.rules.dims import Dim
from ovtriton.rules.parameters import BackendParameters
from ovtriton.runtime.preparation import PreparedModel
from ovtriton.runtime.variants import CompiledVariant, Inputs, Outputs, VariantCache

Result = Outputs | Exception
ShapeKey = tuple[tuple[int, ...], ...]
EventSink = Callable[[str, Hashable, float], None]


@dataclass
class _Group:
    """Requests served together: their indices, inputs and wanted outputs."""

    indices: list[int]
    inputs: list[Inputs]
    wanted: list[set[str]]

    @property
    def outputs(self) -> set[str]:
        return set().union(*self.wanted)


class InferenceEngine:
    """Runs requests on a prepared model.

    Args:
        core: The OpenVINO core (shared so compiled-model caching applies).
        prepared: The prepared model and its served tensors.
        params: Backend parameters (device, properties, nireq, cache size).
        batched: Triton batching is on (every tensor's batch at position 0).
        on_event: Receives variant-cache events (compile / hit / evict).
    """

    def __init__(
        self,
        core: ov.Core,
        prepared: PreparedModel,
        params: BackendParameters,
        batched: bool,
        on_event: EventSink = lambda *_: None,
    ) -> None:
        self._core = core
        self._prepared = prepared
        self._params = params
        self._batched = batched
        self._input_names = [t.name for t in prepared.inputs]
        self._output_names = [t.name for t in prepared.outputs]
        self._scalars = {t.name for t in prepared.tensors if t.is_scalar}
        self._variants = VariantCache(self._compile_for, params.reshape_cache_size, on_event)
        # Compile at load: a device that cannot take the model must fail the load.
        self.initial = self._compile(prepared.model)
        self._static_key = self._key_of_model(prepared.model)
        if self._static_key is not None and prepared.is_auto:
            self._variants.put(self._static_key, self.initial)
        batch_dims = [t.batch_dim for t in prepared.inputs if t.batch_dim is not None]
        self._batch_dim = batch_dims[0] if batch_dims else Dim.any()

    @property
    def cache(self) -> VariantCache:
        return self._variants

    def infer(
        self, requests: Sequence[Mapping[str, np.ndarray]], wanted: Sequence[Sequence[str]]
    ) -> list[Result]:
        """Serve the requests of one ``execute`` call.

        Args:
            requests: Each request's inputs by name.
            wanted: Each request's requested output names (empty: all outputs).

        Returns:
            Per request, its outputs or the exception to report
            (:class:`RequestError` for a caller mistake).
        """
        results: list[Result] = [RuntimeError("not run")] * len(requests)
        groups: dict[Hashable, _Group] = {}
        for index, inputs in enumerate(requests):
            try:
                check_request(self._prepared.inputs, inputs, self._batched)
            except RequestError as error:
                results[index] = error
                continue
            outputs = set(wanted[index]) or set(self._output_names)
            unknown = outputs - set(self._output_names)
            if unknown:
                results[index] = RequestError(
                    f"Invalid output name - Expected one of: {self._output_names}; "
                    f"Actual: {sorted(unknown)}"
                )
                continue
            # Only requests of equal per-sample shape can share a batch.
            key: Hashable = (
                tuple(inputs[n].shape[1:] for n in self._input_names) if self._batched else index
            )
            group = groups.setdefault(key, _Group([], [], []))
            group.indices.append(index)
            group.inputs.append(inputs)
            group.wanted.append(outputs)
        for group in groups.values():
            try:
                per_request = self._run_group(group)
            except Exception as error:  # one failing group must not fail the others
                per_request = [error] * len(group.indices)
            for index, result in zip(group.indices, per_request, strict=True):
                results[index] = result
        return results

    def _run_group(self, group: _Group) -> list[Result]:
        names = sorted(group.outputs, key=self._output_names.index)
        if not self._batched:
            # Scalars travel as shape (1) (see TensorInfo.served_shape); OpenVINO gets rank 0.
            inputs = {
                n: a.reshape(()) if n in self._scalars else a for n, a in group.inputs[0].items()
            }
            outputs = self._variant_for(self._shape_key(inputs)).run([inputs], names)[0]
            return [
                {
                    n: outputs[n].reshape(1) if n in self._scalars else outputs[n]
                    for n in group.wanted[0]
                }
            ]
        combined = {n: _concat([inputs[n] for inputs in group.inputs]) for n in self._input_names}
        sizes = [len(inputs[self._input_names[0]]) for inputs in group.inputs]
        parallelism = 1 if self._prepared.is_auto else self.initial.nireq
        runs = plan_runs(sum(sizes), self._batch_dim, parallelism)
        run_inputs = [{n: _rows(array, run) for n, array in combined.items()} for run in runs]
        # An auto model runs one combined batch (parallelism 1, unbounded batch), so
        # a single variant serves every run; other models have just one variant.
        variant = self._variant_for(self._shape_key(run_inputs[0]))
        run_outputs = variant.run(run_inputs, names)
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
        compiled = self._core.compile_model(
            model, self._params.target_device, self._params.compile_properties()
        )
        return CompiledVariant(compiled, self._params.nireq)


def _concat(arrays: Sequence[np.ndarray]) -> np.ndarray:
    # One request (the common case) passes through without a copy.
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


def _rows(array: np.ndarray, run: Run) -> np.ndarray:
    rows = array[run.start : run.stop]
    if run.padding == 0:
        return rows
    pad = np.zeros((run.padding, *array.shape[1:]), dtype=array.dtype)
    return np.concatenate([rows, pad])
