"""ovtriton_client: call models on ovtriton, Triton or OVMS (KServe v2) from Python.

>>> import numpy as np, ovtriton_client as ovc
>>> client = ovc.Client("localhost:8000")          # or "grpc://localhost:8001"
>>> model = client.model("add_one")                # metadata fetched once
>>> model({"x": np.zeros((2, 16), np.float32)})["y"]

The handle mirrors ``openvino.CompiledModel``: callable, reusing its request
objects, with ``share_outputs`` for zero-copy results, ``start_async`` to hide
latency, and ``outputs=[...]`` to transfer only what is needed. ``AsyncClient``
is the asyncio counterpart; ``shared_memory=True`` moves tensors through system
shared memory. Every error is an :class:`OvTritonError` subclass.
"""

from __future__ import annotations

from ovtriton_client._aio import AsyncClient, AsyncModel
from ovtriton_client._client import Client
from ovtriton_client._errors import (
    InvalidInputError,
    ModelNotReadyError,
    OutputNotFoundError,
    OvTritonError,
    PermissionDeniedError,
    RequestTimeoutError,
    ServerError,
    ServerUnreachableError,
    SharedMemoryError,
)
from ovtriton_client._metadata import ModelSpec, TensorSpec
from ovtriton_client._model import Model
from ovtriton_client._protocol import RegionStatus
from ovtriton_client._request import InferResult

__all__ = [
    "AsyncClient",
    "AsyncModel",
    "Client",
    "InferResult",
    "InvalidInputError",
    "Model",
    "ModelNotReadyError",
    "ModelSpec",
    "OutputNotFoundError",
    "OvTritonError",
    "PermissionDeniedError",
    "RegionStatus",
    "RequestTimeoutError",
    "ServerError",
    "ServerUnreachableError",
    "SharedMemoryError",
    "TensorSpec",
]
