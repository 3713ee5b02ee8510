"""The blocking client: one server, over HTTP or gRPC.

``Client`` talks to a KServe v2 server (ovtriton, Triton, OVMS); ``Client.model``
returns a :class:`~ovtriton_client.Model` handle, and ``Client.infer`` is the
one-line form that keeps a handle per model behind the scenes.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from typing import Any

from ovtriton_client._errors import OvTritonError
from ovtriton_client._metadata import ModelSpec
from ovtriton_client._model import Model
from ovtriton_client._protocol import Endpoint, RegionStatus, parse_url
from ovtriton_client._readiness import ReadinessWait
from ovtriton_client._request import InferResult
from ovtriton_client._transport import open_transport

__all__ = ["Client"]

DEFAULT_TIMEOUT = 60.0


class Client:
    """A blocking client for a KServe v2 server (ovtriton, Triton, OVMS).

    Args:
        url: ``host:port``, or with a scheme that picks the protocol: ``http://``,
            ``https://``, ``grpc://``, ``grpcs://``.
        protocol: The protocol when ``url`` has no scheme (default ``"http"``).
        timeout: Seconds each call may take unless the call passes its own; None: no limit.
        admin_key: The server's admin key, sent only with shared-memory registrations
            (the administrative APIs an ``ovtriton serve`` restricts). Default:
            ``$OVTRITON_ADMIN_KEY``, else, for a loopback URL, the key file a local
            ``ovtriton serve`` of this user wrote; without a key, ``shared_memory=True``
            raises :class:`PermissionDeniedError` saying so.

    Raises:
        InvalidInputError: If ``url`` or ``protocol`` is not understood.
    """

    def __init__(
        self,
        url: str = "localhost:8000",
        *,
        protocol: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        admin_key: str | None = None,
    ) -> None:
        self.endpoint: Endpoint = parse_url(url, protocol)
        self._transport = open_transport(self.endpoint, timeout, admin_key)
        self._specs: dict[tuple[str, str], ModelSpec] = {}
        self._handles: dict[tuple[str, str], Model] = {}
        self._models: weakref.WeakSet[Model] = weakref.WeakSet()
        self._lock = threading.Lock()

    @property
    def protocol(self) -> str:
        """``"http"`` or ``"grpc"``."""
        return self.endpoint.protocol

    def is_live(self) -> bool:
        """Whether the server is live. Raises ServerUnreachableError if it cannot be reached."""
        return self._transport.is_live()

    def is_ready(self) -> bool:
        """Whether the server is ready. Raises ServerUnreachableError if it cannot be reached."""
        return self._transport.is_ready()

    def is_model_ready(self, name: str, version: str = "") -> bool:
        """Whether model ``name`` (at ``version``, default: the server's choice) is ready."""
        return self._transport.is_model_ready(name, version)

    def wait_until_ready(
        self, timeout: float = 60.0, *, models: Iterable[str] = (), interval: float = 0.25
    ) -> None:
        """Poll until the server (and each of ``models``) is ready.

        Raises:
            RequestTimeoutError: After ``timeout`` seconds, saying what was still not ready.
        """
        wait = ReadinessWait(self.endpoint, models, timeout, interval)
        while (problem := self._readiness_problem(wait)) is not None:
            time.sleep(wait.pause(problem))

    def model(
        self,
        name: str,
        version: str = "",
        *,
        shared_memory: bool = False,
        max_in_flight: int = 4,
        validate: bool = True,
    ) -> Model:
        """A handle on model ``name``; its metadata is fetched once per client.

        Args:
            name: The model.
            version: Its version (default: the server's choice).
            shared_memory: Move tensors through system shared memory (server on this host).
                Close the handle (or use ``with``) to release the regions promptly.
            max_in_flight: Most :meth:`Model.start_async` requests pending at once.
            validate: Check inputs against the metadata before sending.

        Raises:
            ModelNotReadyError: If the server does not know the model or it is not ready.
            ServerUnreachableError, RequestTimeoutError: If the metadata cannot be fetched.
            SharedMemoryError: With ``shared_memory=True``, if this system has no ``/dev/shm``.
            PermissionDeniedError: With ``shared_memory=True``, if the server needs an
                admin key the client does not have (the message says where it looked).
            InvalidInputError: If ``max_in_flight`` is below 1.
        """
        key = (name, version)
        spec = self._specs.get(key)
        if spec is None:
            spec = self._specs[key] = self._transport.model_spec(name, version)
        handle = Model(
            self._transport,
            spec,
            shared_memory=shared_memory,
            max_in_flight=max_in_flight,
            validate=validate,
        )
        self._models.add(handle)
        return handle

    def infer(
        self,
        model: str,
        inputs: Any,
        *,
        version: str = "",
        outputs: Sequence[str] | None = None,
        share_outputs: bool = False,
        timeout: float | None = None,
    ) -> InferResult:
        """Run one inference on ``model``: ``client.infer("m", {"x": x})["y"]``.

        Uses a handle kept per model, so metadata and request objects are reused.
        Parameters and errors are those of :meth:`Model.__call__`.
        """
        with self._lock:
            handle = self._handles.get((model, version))
            if handle is None:
                handle = self._handles[model, version] = self.model(model, version)
        return handle(inputs, outputs=outputs, share_outputs=share_outputs, timeout=timeout)

    def shared_memory_status(self) -> list[RegionStatus]:
        """Every system shared-memory region registered on the server (by anyone)."""
        return self._transport.regions()

    def close(self) -> None:
        """Close every handle made by this client, then the connection (idempotent)."""
        for handle in list(self._models):
            handle.close()
        self._transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client({str(self.endpoint)!r})"

    def _readiness_problem(self, wait: ReadinessWait) -> str | None:
        """What is not ready yet, or None when the server and the models all are."""
        try:
            for probe, problem in wait.probes(self._transport):
                if not probe():
                    return problem
        except OvTritonError as error:
            return str(error)
        return None
