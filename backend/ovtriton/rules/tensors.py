"""Served tensors and the Triton model config they imply.

Pure logic: what ``auto_complete_config`` reports to Triton is decided here, from
the shapes and batch positions that model preparation found.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ovtriton.rules.dims import Dim, Shape

# Largest batch Triton may hand one request or gather across requests when the
# config does not say. Fixed-batch models split larger batches into runs of their own
# batch, so a large bound costs nothing and lets the dynamic batcher fill every
# OpenVINO stream.
DEFAULT_MAX_BATCH_SIZE = 32


@dataclass(frozen=True)
class TensorInfo:
    """One served input or output.

    Attributes:
        name: The tensor name requests use.
        config_type: Triton config type, e.g. ``TYPE_FP32``.
        shape: The served shape (request layout, after reshape), batch included.
        batch_index: Position of the batch dimension, or None when there is none.
        shape_auto: Every dimension follows the request (``shape auto``).
        batch_auto: The batch dimension follows the request (``batch_size auto``).
    """

    name: str
    config_type: str
    shape: Shape
    batch_index: int | None
    shape_auto: bool = False
    batch_auto: bool = False

    @property
    def is_scalar(self) -> bool:
        """Whether the tensor has rank 0 (and no ``auto`` shape that may give it one)."""
        return not self.shape and not self.shape_auto

    @property
    def served_shape(self) -> Shape:
        """The shape requests must fit: ``auto`` dimensions are open.

        Triton's config cannot declare a rank-0 tensor without ``reshape``, which
        auto-complete cannot set, so a scalar is served as one element of shape (1).
        """
        if self.is_scalar:
            return (Dim.fixed(1),)
        if self.shape_auto:
            return tuple(Dim.any() for _ in self.shape)
        if self.batch_auto and self.batch_index is not None:
            dims = list(self.shape)
            dims[self.batch_index] = Dim.any()
            return tuple(dims)
        return self.shape

    @property
    def batch_dim(self) -> Dim | None:
        """The served batch dimension, or None when the tensor has none."""
        return None if self.batch_index is None else self.served_shape[self.batch_index]


def common_batch(tensors: Sequence[TensorInfo]) -> Dim | None:
    """The batch sizes every tensor takes, or None when they share none.

    Triton gives all tensors of a request one batch, so runs must fit them all.
    """
    common: Dim | None = Dim.any()
    for tensor in tensors:
        if tensor.batch_dim is not None and common is not None:
            common = common.intersect(tensor.batch_dim)
    return common


def batching_obstacle(tensors: Sequence[TensorInfo]) -> str | None:
    """Why Triton cannot batch these tensors, or None when it can.

    Triton batching needs every tensor's batch first (Triton prepends it), and a
    batch size all of them take. A rank-1 tensor would be left with no dims behind
    the batch, which Triton's config cannot express without ``reshape``; such
    models are served unbatched.
    """
    if not tensors:
        return "the model has no tensors"
    for tensor in tensors:
        if tensor.batch_index != 0:
            where = (
                "no batch dimension"
                if tensor.batch_index is None
                else (f"its batch at position {tensor.batch_index}")
            )
            return f"tensor '{tensor.name}' has {where}; Triton batches at position 0"
        if len(tensor.shape) < 2:
            return f"tensor '{tensor.name}' has rank {len(tensor.shape)}; batching needs rank 2+"
    if common_batch(tensors) is None:
        return "the inputs and outputs share no batch size"
    return None


def batching_supported(tensors: Sequence[TensorInfo]) -> bool:
    """Whether Triton can batch these tensors (see :func:`batching_obstacle`)."""
    return batching_obstacle(tensors) is None


def batching_refusal(configured: int, tensors: Sequence[TensorInfo]) -> str | None:
    """The load error for a ``max_batch_size`` the served tensors cannot take, else None."""
    obstacle = batching_obstacle(tensors) if configured > 0 else None
    if obstacle is None:
        return None
    return (
        f"max_batch_size {configured} cannot be served: {obstacle}. Remove max_batch_size "
        "(or set 0) to serve the full shape unbatched"
    )


def config_entry(tensor: TensorInfo, batched: bool) -> dict[str, Any]:
    """The ``input`` / ``output`` entry of Triton's config for one tensor."""
    dims = tensor.served_shape[1:] if batched else tensor.served_shape
    return {
        "name": tensor.name,
        "data_type": tensor.config_type,
        "dims": [dim.to_triton() for dim in dims],
    }


def choose_max_batch_size(configured: int, tensors: Sequence[TensorInfo]) -> int:
    """``max_batch_size`` for auto-complete: the user's value, else a default.

    Returns 0 (no Triton batching) when any tensor's batch is not at position 0;
    Triton's own check then rejects a configured non-zero value with a clear message.
    """
    if not batching_supported(tensors):
        return 0
    if configured > 0:
        return configured
    upper_bounds = [t.batch_dim.upper for t in tensors if t.batch_dim and t.batch_dim.upper]
    return max([DEFAULT_MAX_BATCH_SIZE, *upper_bounds])


def declared_mismatches(
    config: Mapping[str, Any], inputs: Sequence[TensorInfo], outputs: Sequence[TensorInfo]
) -> list[str]:
    """Where the tensors ``config.pbtxt`` declares contradict the served ones.

    A field the config leaves out is not a contradiction (auto-complete fills it in).
    ``reshape``, when given, is compared instead of ``dims``: it is the shape the
    model sees. Each message names the tensor, what the model serves and what the
    config says.
    """
    batched = int(config.get("max_batch_size", 0) or 0) > 0
    problems = []
    for kind, served in (("input", inputs), ("output", outputs)):
        by_name = {t.name: t for t in served}
        for declared in config.get(kind, []) or []:
            name = declared.get("name", "")
            tensor = by_name.get(name)
            if tensor is None:
                problems.append(
                    f"config.pbtxt declares {kind} '{name}', which the model does not have "
                    f"(it has {list(by_name)})"
                )
                continue
            expected = config_entry(tensor, batched)
            data_type = declared.get("data_type")
            if data_type and data_type != "TYPE_INVALID" and data_type != expected["data_type"]:
                problems.append(
                    f"{kind} '{name}': config.pbtxt says {data_type}, the model serves "
                    f"{expected['data_type']}"
                )
            reshape = (declared.get("reshape") or {}).get("shape")
            dims = [int(d) for d in (reshape if reshape is not None else declared.get("dims", []))]
            if dims and dims != expected["dims"]:
                problems.append(
                    f"{kind} '{name}': config.pbtxt says dims {dims}, the "
                    f"model serves {expected['dims']}"
                    + (" (batch excluded: max_batch_size > 0)" if batched else "")
                )
    return problems
