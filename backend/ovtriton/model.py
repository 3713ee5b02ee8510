"""ovtriton: the Triton Python-based backend that serves OpenVINO models.

Triton loads this file for every model whose ``config.pbtxt`` says
``backend: "ovtriton"``. It reads as a story:

1. ``auto_complete_config`` prepares the model (read, layout, reshape; no compile)
   and tells Triton the served inputs, outputs and batching;
2. ``initialize`` prepares it again from the completed config and compiles it;
3. ``execute`` hands each batch of requests to the engine, whose answers
   :class:`_Responses` turns into Triton responses, one per request;
4. ``finalize`` drops the compiled model.

Everything else lives in the ``ovtriton`` package beside this file.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import numpy as np
import openvino as ov
import triton_python_backend_utils as pb_utils

from ovtriton.errors import ConfigError, ModelLoadError, RequestError
from ovtriton.rules.dims import format_shape
from ovtriton.rules.tensors import (
    batching_refusal,
    choose_max_batch_size,
    config_entry,
    declared_mismatches,
)
from ovtriton.runtime.engine import InferenceEngine
from ovtriton.runtime.preparation import PreparedModel, prepare_from_config

_CORE = ov.Core()  # one per stub process, so OpenVINO's caches are shared


class TritonPythonModel:
    """Serves one OpenVINO model instance."""

    @staticmethod
    def auto_complete_config(auto_complete_model_config: Any) -> Any:
        """Fill inputs, outputs and batching from the prepared model."""
        config = auto_complete_model_config.as_dict()
        _, prepared = _prepare(config, Path(pb_utils.get_model_dir()), warn=lambda _: None)
        configured = int(config.get("max_batch_size", 0))
        refusal = batching_refusal(configured, prepared.tensors)
        if refusal is not None:
            raise pb_utils.TritonModelException(f"model {config.get('name', '')}: {refusal}")
        max_batch_size = choose_max_batch_size(configured, prepared.tensors)
        _check_declared_tensors({**config, "max_batch_size": max_batch_size}, prepared)
        auto_complete_model_config.set_max_batch_size(max_batch_size)
        batched = max_batch_size > 0
        for tensor in prepared.inputs:
            auto_complete_model_config.add_input(config_entry(tensor, batched))
        for tensor in prepared.outputs:
            auto_complete_model_config.add_output(config_entry(tensor, batched))
        if batched:
            auto_complete_model_config.set_dynamic_batching()
        return auto_complete_model_config

    def initialize(self, args: dict[str, str]) -> None:
        """Prepare and compile the model; log what is served."""
        self.model_config = json.loads(args["model_config"])
        self.name = args["model_name"]
        version_dir = Path(args["model_repository"]) / args["model_version"]
        params, prepared = _prepare(self.model_config, version_dir, warn=pb_utils.Logger.log_warn)
        # Auto-complete checked this already, unless Triton ran with it disabled.
        _check_declared_tensors(self.model_config, prepared)
        configured = int(self.model_config.get("max_batch_size", 0))
        refusal = batching_refusal(configured, prepared.tensors)
        if refusal is not None:  # auto-complete checks this too, unless it was disabled
            raise pb_utils.TritonModelException(f"model {self.name}: {refusal}")
        max_batch_size = configured
        self.metrics = _VariantMetrics(self.name, args["model_version"])
        try:
            self.engine = InferenceEngine(
                _CORE, prepared, params, max_batch_size, self.metrics.record
            )
        except ModelLoadError as error:
            raise pb_utils.TritonModelException(f"model {self.name}: {error}") from error
        except Exception as error:
            raise pb_utils.TritonModelException(
                f"model {self.name} could not be compiled for device "
                f"'{params.target_device}': {error}"
            ) from error
        _log_served(self.name, prepared, params.target_device, self.engine)

    def execute(self, requests: list[Any]) -> list[Any] | None:
        """Answer the requests of one call, inline or pipelined (the engine decides).

        Inline, every answer is ready when the engine returns: the responses go back
        together as the return value, one message to Triton for the whole call.
        Pipelined, each request is answered through its response sender when its runs
        end (allowed in Triton's default, non-decoupled mode) and ``execute`` returns
        None at once, so Triton can hand over the next requests while OpenVINO works.
        """
        inputs = [{tensor.name(): tensor.as_numpy() for tensor in r.inputs()} for r in requests]
        wanted = [r.requested_output_names() for r in requests]
        responses = _Responses(requests, self.name)
        self.engine.serve(inputs, wanted, responses)
        return responses.returned()

    def finalize(self) -> None:
        """Answer what is still running, then release the compiled model."""
        self.engine.close()
        self.engine = None  # type: ignore[assignment]
        self.metrics.close()


def _prepare(config: dict[str, Any], version_dir: Path, warn: Any) -> tuple[Any, PreparedModel]:
    """Prepare the model, turning ovtriton errors into a clear failed load."""
    try:
        return prepare_from_config(_CORE, config, version_dir, warn)
    except (ConfigError, ModelLoadError) as error:
        raise pb_utils.TritonModelException(f"model {config.get('name')}: {error}") from error


def _check_declared_tensors(config: dict[str, Any], prepared: PreparedModel) -> None:
    """A config.pbtxt tensor that contradicts the model fails the load, naming it."""
    problems = declared_mismatches(config, prepared.inputs, prepared.outputs)
    if problems:
        raise pb_utils.TritonModelException(f"model {config.get('name')}: " + "; ".join(problems))


class _Responses:
    """The engine's responder for one ``execute`` call: its answers as Triton responses.

    Answers given on the ``execute`` thread are kept; if every request was answered
    so (an inline call), they are returned together, one message to Triton. Otherwise
    (a pipelined call) the kept ones are sent when ``execute`` returns and the others
    are sent as their runs end, on an OpenVINO worker thread (so a failure there is
    logged, never raised).
    """

    def __init__(self, requests: list[Any], model: str) -> None:
        self._requests = requests
        self._kept: dict[int, Any] = {}
        self._model = model
        self._execute_thread = threading.get_ident()

    def respond(self, index: int, result: dict[str, np.ndarray] | Exception) -> None:
        response = _response(result)
        if threading.get_ident() == self._execute_thread:
            self._kept[index] = response
        else:
            self._send(index, response)

    def returned(self) -> list[Any] | None:
        """What ``execute`` returns: every response, or None when some are sent."""
        if len(self._kept) == len(self._requests):
            return [self._kept[index] for index in range(len(self._requests))]
        for index, response in self._kept.items():
            self._send(index, response)
        return None

    def _send(self, index: int, response: Any) -> None:
        try:
            self._requests[index].get_response_sender().send(
                response, flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL
            )
        except Exception as error:
            pb_utils.Logger.log_error(f"ovtriton: model {self._model}: cannot respond: {error}")


def _response(result: dict[str, np.ndarray] | Exception) -> Any:
    if isinstance(result, Exception):
        code = (
            pb_utils.TritonError.INVALID_ARG
            if isinstance(result, RequestError)
            else pb_utils.TritonError.INTERNAL
        )
        return pb_utils.InferenceResponse(error=pb_utils.TritonError(str(result), code))
    return pb_utils.InferenceResponse(
        output_tensors=[
            pb_utils.Tensor(name, np.ascontiguousarray(array)) for name, array in result.items()
        ]
    )


def _log_served(name: str, prepared: PreparedModel, device: str, engine: InferenceEngine) -> None:
    tensors = ", ".join(
        f"{kind} {t.name} {t.config_type.removeprefix('TYPE_')} {format_shape(t.served_shape)}"
        for kind, group in (("input", prepared.inputs), ("output", prepared.outputs))
        for t in group
    )
    timing = "" if engine.latency is None else f", one inference {engine.latency * 1e3:.2f} ms"
    choice = engine.mode_choice
    batch = "" if engine.batch_range is None else f", batch range {engine.batch_range}"
    pb_utils.Logger.log_info(
        f"ovtriton: model {name} from {prepared.path} compiled for {device} in "
        f"{engine.compile_seconds:.3f} s (nireq {engine.initial.nireq}{timing}{batch}, "
        f"{choice.mode}: {choice.reason}): {tensors}"
    )


class _VariantMetrics:
    """Counts compiles, cache hits and evictions of reshaped variants, as Prometheus metrics.

    Triton requires each ``MetricFamily`` to outlive its ``Metric`` objects, so both
    are kept here.
    """

    EVENTS = ("compile", "hit", "evict")

    def __init__(self, model: str, version: str) -> None:
        self._model = model
        self._families = {
            event: pb_utils.MetricFamily(
                name=f"ovtriton_variant_{event}_total",
                description=f"ovtriton reshaped-variant cache: {event} events",
                kind=pb_utils.MetricFamily.COUNTER,
            )
            for event in self.EVENTS
        }
        labels = {"model": model, "version": version}
        self._counters = {e: f.Metric(labels=labels) for e, f in self._families.items()}

    def record(self, event: str, key: Hashable, seconds: float) -> None:
        self._counters[event].increment(1)
        took = f" in {seconds:.3f} s" if event == "compile" else ""
        line = f"ovtriton: model {self._model}: {event} variant {key}{took}"
        # A hit happens on every request of an auto model: verbose (--log-verbose=1) only.
        (pb_utils.Logger.log_verbose if event == "hit" else pb_utils.Logger.log_info)(line)

    def close(self) -> None:
        self._counters.clear()  # metrics first, then their families
        self._families.clear()
