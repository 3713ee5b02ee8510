"""What a model serves, and the checks a request must pass before it is sent.

Pure logic over the server's model metadata (no network): both the sync and the
asyncio clients fetch the metadata once per model and build a :class:`ModelSpec`
from it. Checking locally turns a round trip and a protocol-specific message into
an immediate :class:`InvalidInputError` that says what was expected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from math import prod
from typing import Any

import numpy as np

from ovtriton_client._datatypes import DATATYPES
from ovtriton_client._errors import InvalidInputError

__all__ = ["ModelSpec", "TensorSpec", "byte_size", "format_shape"]


Shape = tuple[int, ...]


def format_shape(shape: Sequence[int]) -> str:
    """``(-1, 16)`` -> ``"[-1,16]"``, the notation Triton's own messages use."""
    return "[" + ",".join(str(int(d)) for d in shape) + "]"


def byte_size(datatype: str, shape: Sequence[int]) -> int | None:
    """Bytes a tensor of ``datatype`` and concrete ``shape`` takes on the wire.

    Returns None for ``BYTES``, whose size depends on the strings it holds.
    """
    if datatype == "BYTES":
        return None
    return DATATYPES[datatype].wire_size * prod(int(d) for d in shape)


@dataclass(frozen=True)
class TensorSpec:
    """One input or output as the server describes it.

    Attributes:
        name: The tensor's name.
        datatype: The KServe v2 datatype (``"FP32"``, ``"INT64"``, ``"BYTES"``, ...).
        shape: Dimensions, the batch included when the model batches; ``-1`` is dynamic.
    """

    name: str
    datatype: str
    shape: Shape

    @property
    def dtype(self) -> np.dtype[Any]:
        """The numpy dtype arrays for this tensor must have."""
        if self.datatype not in DATATYPES:
            raise InvalidInputError(f"tensor '{self.name}' has unsupported type {self.datatype}")
        return DATATYPES[self.datatype].numpy

    def accepts(self, shape: Sequence[int]) -> bool:
        """True when ``shape`` has this rank and matches every fixed dimension."""
        return len(shape) == len(self.shape) and all(
            want in (-1, got) for want, got in zip(self.shape, shape, strict=True)
        )

    def __str__(self) -> str:
        return f"{self.name} {self.datatype} {format_shape(self.shape)}"


@dataclass(frozen=True)
class ModelSpec:
    """A model's served inputs and outputs, and its batching limit.

    Attributes:
        name: The model's name.
        version: The version requests go to; ``""`` lets the server choose.
        inputs, outputs: In the server's order (positional inputs follow it).
        max_batch_size: From the model config: ``0`` means the model does not batch; None means
            the server did not say (batch limits are then left to the server).
    """

    name: str
    version: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    max_batch_size: int | None = None

    @classmethod
    def from_metadata(
        cls, metadata: Mapping[str, Any], version: str = "", max_batch_size: int | None = None
    ) -> ModelSpec:
        """Build from KServe v2 model metadata (``inputs`` / ``outputs`` lists).

        Args:
            metadata: ``{"name": ..., "inputs": [{"name", "datatype", "shape"}],
                "outputs": [...]}``; dims may be strings, as gRPC's JSON form gives them.
            version: The version the handle is bound to.
            max_batch_size: From the model config, when the server exposes one.
        """

        def tensors(kind: str) -> tuple[TensorSpec, ...]:
            return tuple(
                TensorSpec(t["name"], t["datatype"], tuple(int(d) for d in t.get("shape", ())))
                for t in metadata.get(kind, ())
            )

        return cls(metadata["name"], version, tensors("inputs"), tensors("outputs"), max_batch_size)

    @property
    def batched(self) -> bool:
        """True when the first dimension of every tensor is Triton's batch."""
        return bool(self.max_batch_size)

    def input(self, name: str) -> TensorSpec:
        """The input called ``name``."""
        for tensor in self.inputs:
            if tensor.name == name:
                return tensor
        raise self._invalid(f"unknown input '{name}'; the inputs are {self._listing(self.inputs)}")

    def output(self, name: str) -> TensorSpec:
        """The output called ``name``."""
        for tensor in self.outputs:
            if tensor.name == name:
                return tensor
        raise self._invalid(
            f"unknown output '{name}'; the outputs are {self._listing(self.outputs)}"
        )

    def prepare_inputs(self, inputs: Any, check: bool = True) -> dict[str, np.ndarray]:
        """Check request inputs against the metadata and return them as arrays by name.

        Args:
            inputs: ``{name: array}``; a list or tuple of arrays in the model's input order;
                or a single array for a one-input model. Values that are not ndarrays
                (lists, scalars) are converted to the expected dtype.
            check: False skips the checks (the server still makes its own).

        Returns:
            dict of str to numpy.ndarray

        Raises:
            InvalidInputError: On an unknown or missing name, a wrong dtype or shape, a batch above
                ``max_batch_size``, or inputs that disagree on the batch size.
        """
        named = self._by_name(inputs)
        if not check:
            return {name: np.asarray(value) for name, value in named.items()}
        unknown = [name for name in named if name not in {t.name for t in self.inputs}]
        if unknown:
            raise self._invalid(
                f"unknown input {', '.join(map(repr, unknown))}; the inputs are "
                f"{self._listing(self.inputs)}"
            )
        arrays = {}
        for tensor in self.inputs:
            if tensor.name not in named:
                raise self._invalid(f"input '{tensor.name}' is missing; expected {tensor}")
            arrays[tensor.name] = self._check(tensor, named[tensor.name])
        if self.batched:
            self._check_batch(arrays)
        return arrays

    def select_outputs(self, outputs: Sequence[str] | None) -> tuple[str, ...] | None:
        """Validate requested output names; None means every output.

        Raises:
            InvalidInputError: If a name is unknown, or ``outputs`` is a bare string or empty.
        """
        if outputs is None:
            return None
        if isinstance(outputs, str):
            raise self._invalid(f"outputs must be a list of names, not the string {outputs!r}")
        names = tuple(dict.fromkeys(outputs))  # de-duplicated, order kept
        if not names:
            raise self._invalid("outputs is empty; pass None for every output")
        for name in names:
            self.output(name)
        return names

    def estimate_output_shape(self, name: str, arrays: Mapping[str, np.ndarray]) -> Shape | None:
        """Best guess of an output's shape for these inputs, to size its buffer.

        A fixed dimension is exact; a dynamic batch takes the inputs' batch; other
        dynamic dimensions are taken from an input declared with the same dims
        (an elementwise or sequence-to-sequence model). None when no guess exists.
        """
        shape = self.output(name).shape
        if -1 not in shape:
            return shape
        resolved = list(shape)
        if self.batched and shape[0] == -1 and arrays:
            resolved[0] = next(iter(arrays.values())).shape[0]
        if -1 in resolved:
            for tensor in self.inputs:
                if tensor.shape == shape and tensor.name in arrays:
                    resolved = list(arrays[tensor.name].shape)
                    break
        return None if -1 in resolved else tuple(int(d) for d in resolved)

    def _by_name(self, inputs: Any) -> dict[str, Any]:
        names = [t.name for t in self.inputs]
        if isinstance(inputs, Mapping):
            return dict(inputs)
        if isinstance(inputs, list | tuple):
            if len(inputs) != len(names):
                raise self._invalid(
                    f"got {len(inputs)} positional inputs; expected {len(names)} "
                    f"({self._listing(self.inputs)})"
                )
            return dict(zip(names, inputs, strict=True))
        if inputs is None:
            raise self._invalid(f"no inputs given; expected {self._listing(self.inputs)}")
        if len(names) != 1:
            raise self._invalid(
                f"one array given for {len(names)} inputs ({self._listing(self.inputs)}); "
                "pass a dict by name"
            )
        return {names[0]: inputs}

    def _check(self, tensor: TensorSpec, value: Any) -> np.ndarray:
        expected = tensor.dtype
        if not isinstance(value, np.ndarray):
            try:
                value = np.asarray(value, dtype=expected)
            except (TypeError, ValueError) as error:
                raise self._invalid(
                    f"input '{tensor.name}' cannot be converted to {tensor.datatype}: {error}"
                ) from error
        # BYTES takes Python objects or fixed-width bytes; every other type one dtype.
        ok = value.dtype.kind in "OS" if tensor.datatype == "BYTES" else value.dtype == expected
        if not ok:
            raise self._invalid(
                f"input '{tensor.name}' has dtype {value.dtype}; expected {tensor.datatype} "
                f"(numpy {expected if tensor.datatype != 'BYTES' else 'object or bytes_'})"
            )
        if not tensor.accepts(value.shape):
            raise self._invalid(
                f"input '{tensor.name}' has shape {format_shape(value.shape)}; expected "
                f"{format_shape(tensor.shape)} (-1: any size)"
            )
        return value

    def _check_batch(self, arrays: Mapping[str, np.ndarray]) -> None:
        batches = {name: array.shape[0] for name, array in arrays.items() if array.ndim}
        if len(set(batches.values())) > 1:
            listed = ", ".join(f"'{n}' has {b}" for n, b in batches.items())
            raise self._invalid(f"inputs disagree on the batch size: {listed}")
        batch = next(iter(batches.values()), 0)
        assert self.max_batch_size is not None  # batched implies it is known
        if batch > self.max_batch_size:
            raise self._invalid(
                f"batch size {batch} exceeds the model's max_batch_size {self.max_batch_size}"
            )

    @staticmethod
    def _listing(tensors: Sequence[TensorSpec]) -> str:
        return ", ".join(str(t) for t in tensors)

    def _invalid(self, problem: str) -> InvalidInputError:
        return InvalidInputError(f"model '{self.name}': {problem}", model=self.name)
