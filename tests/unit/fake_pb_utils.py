"""A faithful fake of ``triton_python_backend_utils`` for unit tests of ``model.py``.

The module's pure-Python half (``ModelConfig``, type maps) is the real file from
the Triton wheel; only the classes Triton's stub injects from C++ (``Tensor``,
``InferenceRequest``, ``InferenceResponse``, ``TritonError``, ``Logger``,
``MetricFamily``, ``get_model_dir``) are stood in for, with the same signatures.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import numpy as np
import pytriton

REAL_UTILS = (
    Path(pytriton.__file__).parent / "tritonserver/backends/python/triton_python_backend_utils.py"
)


class Tensor:
    def __init__(self, name: str, array: np.ndarray) -> None:
        if not array.flags.c_contiguous:
            raise ValueError("Tensor data must be C-contiguous")  # as the stub requires
        self._name, self._array = name, array

    def name(self) -> str:
        return self._name

    def as_numpy(self) -> np.ndarray:
        return self._array


TRITONSERVER_RESPONSE_COMPLETE_FINAL = 1


class ResponseSender:
    """Like the stub's: one final response per request; sending after it is an error."""

    def __init__(self) -> None:
        self.responses: list[InferenceResponse] = []
        self.closed = False

    def send(self, response: InferenceResponse | None = None, flags: int = 0) -> None:
        if self.closed:
            raise TritonModelException("Unable to send response. Response sender has been closed.")
        if response is not None:
            self.responses.append(response)
        self.closed = bool(flags & TRITONSERVER_RESPONSE_COMPLETE_FINAL)


class InferenceRequest:
    def __init__(self, inputs: list[Tensor], requested_output_names: list[str] | None = None):
        self._inputs, self._outputs = inputs, requested_output_names or []
        self.sender = ResponseSender()
        # Triton expects a request whose sender was taken to be answered through it.
        self.sender_taken = False

    def get_response_sender(self) -> ResponseSender:
        self.sender_taken = True
        return self.sender

    def inputs(self) -> list[Tensor]:
        return self._inputs

    def requested_output_names(self) -> list[str]:
        return self._outputs


class TritonError:
    UNKNOWN, INTERNAL, NOT_FOUND, INVALID_ARG, UNAVAILABLE, UNSUPPORTED, ALREADY_EXISTS = range(7)

    def __init__(self, message: str, code: int = 1) -> None:
        self._message, self._code = message, code

    def message(self) -> str:
        return self._message

    def code(self) -> int:
        return self._code


class InferenceResponse:
    def __init__(
        self, output_tensors: list[Tensor] | None = None, error: TritonError | None = None
    ):
        self._outputs, self._error = output_tensors or [], error

    def output_tensors(self) -> list[Tensor]:
        return self._outputs

    def has_error(self) -> bool:
        return self._error is not None

    def error(self) -> TritonError | None:
        return self._error


class TritonModelException(Exception):
    pass


class Logger:
    records: ClassVar[list[tuple[str, str]]] = []

    @classmethod
    def log_info(cls, message: str) -> None:
        cls.records.append(("info", message))

    @classmethod
    def log_verbose(cls, message: str) -> None:
        cls.records.append(("verbose", message))

    @classmethod
    def log_warn(cls, message: str) -> None:
        cls.records.append(("warn", message))

    @classmethod
    def log_error(cls, message: str) -> None:
        cls.records.append(("error", message))


class _Metric:
    def __init__(self, family: MetricFamily, labels: dict[str, str]) -> None:
        self.family, self.labels, self.value = family, labels, 0.0

    def increment(self, value: float) -> None:
        self.value += value


class MetricFamily:
    COUNTER, GAUGE = 0, 1
    metrics: ClassVar[list[_Metric]] = []

    def __init__(self, name: str, description: str, kind: int) -> None:
        self.name = name

    def Metric(self, labels: dict[str, str] | None = None) -> _Metric:
        metric = _Metric(self, labels or {})
        MetricFamily.metrics.append(metric)
        return metric


def install(model_dir: Path) -> ModuleType:
    """Register the fake as ``triton_python_backend_utils`` and return it."""
    spec = importlib.util.spec_from_file_location("triton_python_backend_utils", REAL_UTILS)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fakes: dict[str, Any] = {
        "Tensor": Tensor,
        "InferenceRequest": InferenceRequest,
        "InferenceResponse": InferenceResponse,
        "TritonError": TritonError,
        "TritonModelException": TritonModelException,
        "Logger": Logger,
        "MetricFamily": MetricFamily,
        "get_model_dir": lambda: str(model_dir),
    }
    for name, value in fakes.items():
        setattr(module, name, value)
    sys.modules["triton_python_backend_utils"] = module
    return module
