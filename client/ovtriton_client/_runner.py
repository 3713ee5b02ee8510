"""One model's request path: prepared request objects, optional shared memory.

A :class:`Runner` is what a blocking call and each ``start_async`` worker thread
own: not thread-safe itself, so that no lock sits on the request path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ovtriton_client._errors import ServerError
from ovtriton_client._metadata import ModelSpec
from ovtriton_client._request import InferResult, RequestBuilder
from ovtriton_client._shm import SharedMemorySession
from ovtriton_client._transport import Transport

__all__ = ["Runner"]


class Runner:
    """Sends requests for one model, reusing its request objects.

    Args:
        transport: The server connection.
        spec: The model.
        shared_memory: Move tensors through system shared memory (a session of its own).
    """

    def __init__(self, transport: Transport, spec: ModelSpec, shared_memory: bool) -> None:
        self._transport = transport
        self._spec = spec
        self._builder = RequestBuilder(transport.dialect, spec)
        self.shm = SharedMemorySession(transport, spec) if shared_memory else None

    def run(
        self,
        arrays: Mapping[str, np.ndarray],
        outputs: tuple[str, ...] | None,
        *,
        share_outputs: bool,
        timeout: float | None,
    ) -> InferResult:
        """Infer validated ``arrays``; request only ``outputs`` (None: all).

        Raises:
            OvTritonError: The subclass matching the failure, with the server's message.
        """
        shm = self.shm
        if shm is None:
            raw = self._send(self._builder.inputs(arrays), self._builder.outputs(outputs), timeout)
            return InferResult(raw, self._transport.dialect, copy=not share_outputs)
        # Every output the server sends must have a region to land in: name them all.
        names = outputs or tuple(t.name for t in self._spec.outputs)
        inputs = self._builder.inputs(arrays, shm.place_inputs(arrays))
        # A dynamic output may outgrow its estimated region: the server then fails the
        # request naming the size it needs; each retry fixes one output.
        for attempt in range(len(names) + 1):
            placed = shm.place_outputs(names, arrays)
            try:
                raw = self._send(inputs, self._builder.outputs(names, placed), timeout)
            except ServerError as error:
                if attempt == len(names) or not shm.grow_output(error):
                    raise
                continue
            copy = not share_outputs
            return InferResult(
                raw, self._transport.dialect, copy=copy, arrays=shm.read_outputs(raw, placed, copy)
            )
        raise AssertionError("unreachable: the last attempt returns or raises")

    def close(self) -> None:
        if self.shm is not None:
            self.shm.close()

    def _send(self, inputs: list[Any], outputs: list[Any] | None, timeout: float | None) -> Any:
        return self._transport.infer(self._spec.name, self._spec.version, inputs, outputs, timeout)
