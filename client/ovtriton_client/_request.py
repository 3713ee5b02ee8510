"""Request objects reused across calls, and results decoded only when read.

:class:`RequestBuilder` keeps one tritonclient ``InferInput`` per input and one
``InferRequestedOutput`` per output for a model, and only updates their shape and
data on each call, like an OpenVINO ``InferRequest`` reused by a compiled model.

:class:`InferResult` is OpenVINO's "postponed return": outputs stay in the
response until they are read, and only requested outputs are transferred at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
from tritonclient.utils import InferenceServerException

from ovtriton_client._errors import InvalidInputError, OutputNotFoundError
from ovtriton_client._metadata import ModelSpec
from ovtriton_client._protocol import Dialect

__all__ = ["InferResult", "Placement", "RequestBuilder"]


class Placement(NamedTuple):
    """Where a tensor lives in system shared memory: region name and bytes used."""

    region: str
    byte_size: int


class RequestBuilder:
    """The prepared tritonclient request objects of one model.

    Not thread-safe: each concurrent caller needs its own builder.

    Args:
        dialect: Makes the protocol's ``InferInput`` / ``InferRequestedOutput``.
        spec: The model's inputs (their names and datatypes never change).
    """

    def __init__(self, dialect: Dialect, spec: ModelSpec) -> None:
        self._dialect = dialect
        self._inputs = {
            t.name: dialect.infer_input(t.name, list(t.shape), t.datatype) for t in spec.inputs
        }
        self._outputs: dict[str, Any] = {}

    def inputs(
        self, arrays: Mapping[str, np.ndarray], placed: Mapping[str, Placement] | None = None
    ) -> list[Any]:
        """The ``InferInput`` objects carrying ``arrays``.

        Args:
            arrays: Validated inputs.
            placed: Inputs already written to shared memory: sent by reference.
        """
        prepared = []
        for name, array in arrays.items():
            infer_input = self._inputs[name]
            infer_input.set_shape(list(array.shape))
            placement = (placed or {}).get(name)
            if placement is None:
                try:
                    infer_input.set_data_from_numpy(array)
                except InferenceServerException as error:  # unvalidated input, wrong dtype
                    raise InvalidInputError(f"input '{name}': {error.message()}") from error
            else:
                infer_input.set_shared_memory(placement.region, placement.byte_size)
            prepared.append(infer_input)
        return prepared

    def outputs(
        self, names: Sequence[str] | None, placed: Mapping[str, Placement] | None = None
    ) -> list[Any] | None:
        """The ``InferRequestedOutput`` objects for ``names`` (None: let the server send all).

        Args:
            names: Outputs to request; the others are not computed into the response.
            placed: Outputs the server should write to shared memory.
        """
        if names is None:
            return None
        requested = []
        for name in names:
            output = self._outputs.get(name)
            if output is None:
                output = self._outputs[name] = self._dialect.requested_output(name)
            placement = (placed or {}).get(name)
            if placement is None:
                output.unset_shared_memory()
            else:
                output.set_shared_memory(placement.region, placement.byte_size)
            requested.append(output)
        return requested


class InferResult(Mapping[str, np.ndarray]):
    """The outputs of one request, by name; each decoded on first access.

    Args:
        raw: tritonclient's ``InferResult`` (``.raw`` gives it back, e.g. for parameters).
        dialect: Reads the response's output names.
        copy: True: decoded arrays are writable copies owned by the caller. False
            (``share_outputs``): views of the response buffer, no copy.
        arrays: Outputs already materialised (read from shared memory).
    """

    def __init__(
        self,
        raw: Any,
        dialect: Dialect,
        *,
        copy: bool,
        arrays: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        self._raw = raw
        self._names = dialect.output_names(raw)
        self._copy = copy
        self._arrays: dict[str, np.ndarray] = dict(arrays or {})

    @property
    def raw(self) -> Any:
        """The underlying tritonclient ``InferResult``."""
        return self._raw

    def __getitem__(self, name: str) -> np.ndarray:
        array = self._arrays.get(name)
        if array is not None:
            return array
        if name not in self._names:
            raise OutputNotFoundError(
                f"output {name!r} is not in the response (it has {list(self._names)})"
            )
        array = self._raw.as_numpy(name)
        if self._copy:
            array = np.array(array)  # writable and independent of the response buffer
        self._arrays[name] = array
        return array

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def to_dict(self) -> dict[str, np.ndarray]:
        """Every output, decoded, in a plain dict."""
        return {name: self[name] for name in self._names}

    def __repr__(self) -> str:
        return f"InferResult(outputs={list(self._names)})"
