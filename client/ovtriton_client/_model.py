"""A model handle: one model on the server, used like ``openvino.CompiledModel``.

Made by :meth:`Client.model <ovtriton_client.Client.model>`. The handle holds the
model's metadata (fetched once), checks every request against it before sending,
and reuses its request objects (and, with ``shared_memory=True``, its
shared-memory regions) across calls. ``start_async`` runs requests on a bounded
pool of worker threads, each with a request path of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

import numpy as np

from ovtriton_client._errors import InvalidInputError, OvTritonError, SharedMemoryError
from ovtriton_client._futures import InFlightExecutor
from ovtriton_client._metadata import ModelSpec, TensorSpec
from ovtriton_client._request import InferResult
from ovtriton_client._runner import Runner
from ovtriton_client._transport import Transport

__all__ = ["HandleBase", "Model"]


class HandleBase:
    """What the blocking and the asyncio model handles share: the metadata and its checks.

    Parameters ``spec``, ``max_in_flight`` and ``validate`` are those of :class:`Model`;
    ``max_in_flight`` may be None (no bound), and each handle applies it its own way.

    Raises:
        InvalidInputError: If ``max_in_flight`` is below 1.
    """

    def __init__(self, spec: ModelSpec, max_in_flight: int | None, validate: bool) -> None:
        # Refused at once: the blocking handle applies the bound only later, when its
        # first start_async call makes the worker pool.
        if max_in_flight is not None and max_in_flight < 1:
            raise InvalidInputError(f"max_in_flight must be at least 1, not {max_in_flight}")
        self.spec = spec
        self._validate = validate

    @property
    def name(self) -> str:
        """The model's name."""
        return self.spec.name

    @property
    def inputs(self) -> tuple[TensorSpec, ...]:
        """The model's inputs (name, datatype, shape with -1 for dynamic)."""
        return self.spec.inputs

    @property
    def outputs(self) -> tuple[TensorSpec, ...]:
        """The model's outputs."""
        return self.spec.outputs

    def _prepare(
        self, inputs: Any, outputs: Sequence[str] | None
    ) -> tuple[dict[str, np.ndarray], tuple[str, ...] | None]:
        """Checked input arrays by name, and the output names to request (None: all).

        Raises:
            InvalidInputError: If the inputs or output names do not match the metadata.
        """
        return self.spec.prepare_inputs(inputs, self._validate), self.spec.select_outputs(outputs)


class Model(HandleBase):
    """A model on the server, callable like ``openvino.CompiledModel``.

    Made by :meth:`Client.model`. Blocking calls on one handle are serialised
    (they share its request objects); use :meth:`start_async` for concurrency.

    Args:
        transport: The client's connection.
        spec: The model's metadata.
        shared_memory: Move inputs and outputs through system shared memory (server on this host).
        max_in_flight: Most :meth:`start_async` requests pending at once.
        validate: Check inputs against the metadata before sending.

    Raises:
        InvalidInputError: If ``max_in_flight`` is below 1.
        SharedMemoryError: With ``shared_memory=True``, if this system has no ``/dev/shm``.
    """

    def __init__(
        self,
        transport: Transport,
        spec: ModelSpec,
        *,
        shared_memory: bool = False,
        max_in_flight: int = 4,
        validate: bool = True,
    ) -> None:
        super().__init__(spec, max_in_flight, validate)
        self._transport = transport
        self._shared_memory = shared_memory
        self._max_in_flight = max_in_flight
        self._lock = threading.Lock()
        self._runner = Runner(transport, spec, shared_memory)
        self._executor: InFlightExecutor[Runner] | None = None
        self._closed = False

    @property
    def version(self) -> str:
        """The version requests go to (``""``: the server's choice)."""
        return self.spec.version

    @property
    def shared_memory_regions(self) -> list[str]:
        """Names of the regions the handle's blocking calls have registered."""
        return [] if self._runner.shm is None else self._runner.shm.region_names

    def __call__(
        self,
        inputs: Any = None,
        *,
        outputs: Sequence[str] | None = None,
        share_outputs: bool = False,
        timeout: float | None = None,
    ) -> InferResult:
        """Run one inference and wait for it.

        Args:
            inputs: ``{name: array}``, arrays in input order, or one array for a
                one-input model.
            outputs: Request only these outputs (postponed return: the others are never
                transferred). Default: all.
            share_outputs: Return zero-copy views instead of writable copies: of the response
                buffer or, with shared memory, read-only views of the output regions
                that the handle's next call overwrites (as OpenVINO's share_outputs).
            timeout: Seconds this call may take (default: the client's timeout).

        Returns:
            Mapping of output name to numpy array.

        Raises:
            InvalidInputError: Inputs or output names do not match the metadata (nothing was sent),
                or the server rejected the request.
            ModelNotReadyError: As the server or network fails; likewise
                ServerUnreachableError, RequestTimeoutError and ServerError.
        """
        arrays, names = self._prepare(inputs, outputs)
        with self._lock:
            self._check_open()
            return self._runner.run(arrays, names, share_outputs=share_outputs, timeout=timeout)

    infer = __call__

    def start_async(
        self,
        inputs: Any = None,
        *,
        outputs: Sequence[str] | None = None,
        share_inputs: bool = False,
        share_outputs: bool = False,
        timeout: float | None = None,
    ) -> Future[InferResult]:
        """Start an inference and return at once; ``.result()`` waits for it.

        Inputs are checked here, so mistakes raise immediately. Blocks only while
        ``max_in_flight`` requests are already pending.

        Args:
            inputs: As for :meth:`__call__`.
            outputs: As for :meth:`__call__`.
            timeout: As for :meth:`__call__`.
            share_inputs: Use the arrays as they are instead of copying them now: faster, but
                they must not be modified until the request completes.
            share_outputs: As for :meth:`__call__`; ignored with shared memory, where worker
                threads reuse their regions and results are always copies.

        Returns:
            concurrent.futures.Future of InferResult
        """
        arrays, names = self._prepare(inputs, outputs)
        if not share_inputs:
            # The caller may refill its buffers as soon as this returns.
            arrays = {name: np.array(array, copy=True) for name, array in arrays.items()}
        views = share_outputs and not self._shared_memory
        return self._pool().submit(
            lambda runner: runner.run(arrays, names, share_outputs=views, timeout=timeout)
        )

    def wait_all(self, timeout: float | None = None) -> None:
        """Wait until every request started with :meth:`start_async` has finished.

        Raises:
            RequestTimeoutError: If some are still pending after ``timeout`` seconds.
        """
        if self._executor is not None:
            self._executor.wait_all(timeout)

    def input_buffer(self, name: str, shape: Sequence[int]) -> np.ndarray:
        """A writable array inside input ``name``'s shared-memory region.

        Fill it and pass it as that input: it is sent without any copy.

        Raises:
            SharedMemoryError: If the handle was not made with ``shared_memory=True``.
        """
        if self._runner.shm is None:
            raise SharedMemoryError("input_buffer needs a handle made with shared_memory=True")
        with self._lock:
            return self._runner.shm.input_buffer(name, shape)

    def close(self) -> None:
        """Finish pending requests and release shared-memory regions (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._executor is not None:
            self._executor.shutdown()
        self._runner.close()

    def __enter__(self) -> Model:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Model({self.name!r}, inputs=[{', '.join(map(str, self.inputs))}], "
            f"outputs=[{', '.join(map(str, self.outputs))}])"
        )

    def _pool(self) -> InFlightExecutor[Runner]:
        with self._lock:
            self._check_open()
            if self._executor is None:
                self._executor = InFlightExecutor(
                    lambda: Runner(self._transport, self.spec, self._shared_memory),
                    Runner.close,
                    self._max_in_flight,
                    name=f"ovtriton-{self.name}",
                )
            return self._executor

    def _check_open(self) -> None:
        if self._closed:
            raise OvTritonError(f"the handle of model '{self.name}' is closed", model=self.name)
