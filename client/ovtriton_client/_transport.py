"""Blocking calls to one server over tritonclient, with timeouts and typed errors.

A :class:`Transport` is the only object that touches a tritonclient client. It is
safe to share between threads: gRPC's client is, and for HTTP (whose gevent-based
client is bound to the thread that made it) each thread gets its own client.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ovtriton_client._errors import (
    ModelNotReadyError,
    OvTritonError,
    PermissionDeniedError,
    RequestTimeoutError,
    map_error,
)
from ovtriton_client._local import find_admin_key
from ovtriton_client._metadata import ModelSpec
from ovtriton_client._names import key_for, validate_region_name
from ovtriton_client._protocol import Dialect, Endpoint, RegionStatus, dialect_for

__all__ = ["BaseTransport", "Transport", "build_spec", "open_transport", "translate"]


class BaseTransport:
    """What the blocking and the asyncio transports share: one server, one time limit.

    Only how a call is made differs between them; when a call is refused, how long
    it may take and what its failure becomes are decided here, once for both.

    Args:
        endpoint: Where the server is.
        timeout: Seconds any call may take unless the call says otherwise; None: no limit.
        admin_key: The server's admin key, sent with the administrative calls
            (shared-memory registration) only. None: found as
            :func:`~ovtriton_client._local.find_admin_key` says, when first needed.
    """

    def __init__(
        self, endpoint: Endpoint, timeout: float | None, admin_key: str | None = None
    ) -> None:
        self.endpoint = endpoint
        self.dialect = dialect_for(endpoint.protocol)
        self.timeout = timeout
        self.admin_key = admin_key
        self._closed = False

    def admin_headers(self) -> dict[str, str]:
        """Headers for an administrative call: the key, if one is given or found."""
        key = self.admin_key
        if key is None:
            key, _ = find_admin_key(self.endpoint.address)
        return {self.dialect.admin_header: key} if key else {}

    def refused(self, error: OvTritonError, what: str) -> OvTritonError:
        """``error`` with a message saying what is missing, if the key was refused."""
        if not isinstance(error, PermissionDeniedError):
            return error
        if self.admin_key is not None:
            missing = "refused the admin_key given to the client"
        else:
            _, looked = find_admin_key(self.endpoint.address)
            missing = f"needs its admin key, and none was given (looked in {looked})"
        return PermissionDeniedError(
            f"{what} on {self.endpoint} {missing}: pass Client(url, admin_key=...) or set "
            f"$OVTRITON_ADMIN_KEY (`ovtriton serve` prints where its key is); "
            f"server said: {error.message}",
            status=error.status,
            model=error.model,
        )

    def _limit(self, timeout: float | None, model: str | None) -> float | None:
        """The bound on a call: ``timeout``, else the client's.

        Raises:
            OvTritonError: If the transport has been closed.
        """
        if self._closed:
            raise OvTritonError(f"the client for {self.endpoint} is closed", model=model)
        return self.timeout if timeout is None else timeout

    def _failure(
        self, error: Exception, method: str, limit: float | None, model: str | None
    ) -> OvTritonError:
        """``error``, raised by tritonclient's ``method``, as the SDK's type."""
        return translate(error, method, self.endpoint, limit, model)


class Transport(BaseTransport):
    """Blocking calls to one server; the protocol-neutral half.

    Parameters as for :class:`BaseTransport`.
    """

    # -- server and model state ------------------------------------------------------

    def is_live(self, timeout: float | None = None) -> bool:
        return bool(self._call("is_server_live", timeout=timeout))

    def is_ready(self, timeout: float | None = None) -> bool:
        return bool(self._call("is_server_ready", timeout=timeout))

    def is_model_ready(self, model: str, version: str = "", timeout: float | None = None) -> bool:
        return bool(self._call("is_model_ready", model, version, model=model, timeout=timeout))

    def model_spec(self, model: str, version: str = "") -> ModelSpec:
        """Fetch metadata and batching limit of a ready model.

        Raises:
            ModelNotReadyError: If the server does not know the model or it is not ready.
        """
        json = self.dialect.json_kwargs
        metadata = self._call("get_model_metadata", model, version, model=model, **json)
        ready = self.is_model_ready(model, version)
        try:
            config = self._call("get_model_config", model, version, model=model, **json)
        except OvTritonError:
            config = None
        return build_spec(self.dialect, model, version, metadata, ready, config)

    # -- inference -----------------------------------------------------------------

    def infer(
        self,
        model: str,
        version: str,
        inputs: Sequence[Any],
        outputs: Sequence[Any] | None,
        timeout: float | None = None,
    ) -> Any:
        """Run one request; returns tritonclient's ``InferResult``."""
        return self._call(
            "infer",
            model,
            list(inputs),
            model_version=version,
            outputs=None if outputs is None else list(outputs),
            timeout=timeout,
            model=model,
        )

    # -- system shared memory ------------------------------------------------------------

    def regions(self) -> list[RegionStatus]:
        """Every system shared-memory region the server has registered."""
        return self.dialect.regions(
            self._admin_call("get_system_shared_memory_status", **self.dialect.json_kwargs)
        )

    def register_region(self, name: str, byte_size: int) -> None:
        """Register region ``name``, whose key is always ``"/" + name``."""
        self._admin_call("register_system_shared_memory", name, key_for(name), byte_size)

    def unregister_region(self, name: str) -> None:
        # Validation refuses "", which the server would read as "every region".
        self._admin_call("unregister_system_shared_memory", validate_region_name(name))

    def _admin_call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return self._call(method, *args, headers=self.admin_headers(), **kwargs)
        except OvTritonError as error:
            raise self.refused(error, method.replace("_", " ")) from error

    # -- lifetime ------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        self._closed = True

    def _call(
        self,
        method: str,
        *args: Any,
        timeout: float | None = None,
        model: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """Invoke tritonclient's ``method``, bounded by ``timeout`` (default: the client's)."""
        limit = self._limit(timeout, model)
        try:
            return self._invoke(
                method, args, {**kwargs, **self.dialect.timeout_kwargs(limit)}, limit
            )
        except Exception as error:
            raise self._failure(error, method, limit, model) from error

    def _invoke(
        self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any], limit: float | None
    ) -> Any:
        raise NotImplementedError


class _GrpcTransport(Transport):
    """One tritonclient gRPC client, shared by all threads (it is thread-safe)."""

    def __init__(
        self, endpoint: Endpoint, timeout: float | None, admin_key: str | None = None
    ) -> None:
        super().__init__(endpoint, timeout, admin_key)
        self._client = self.dialect.module.InferenceServerClient(endpoint.address, ssl=endpoint.ssl)

    def _invoke(
        self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any], limit: float | None
    ) -> Any:
        # The deadline travels in kwargs as client_timeout.
        return getattr(self._client, method)(*args, **kwargs)

    def close(self) -> None:
        if not self._closed:
            super().close()
            self._client.close()


class _HttpTransport(Transport):
    """tritonclient HTTP clients, one per thread (they run on the thread's gevent hub)."""

    def __init__(
        self, endpoint: Endpoint, timeout: float | None, admin_key: str | None = None
    ) -> None:
        super().__init__(endpoint, timeout, admin_key)
        self._local = threading.local()
        self._clients: list[Any] = []
        self._lock = threading.Lock()

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self.dialect.module.InferenceServerClient(
                self.endpoint.address,
                ssl=self.endpoint.ssl,
                connection_timeout=self.timeout or 60.0,
                # No socket timeout: _deadline bounds the whole call instead, and a
                # per-call timeout may be longer than the client's.
                network_timeout=None,
            )
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def _invoke(
        self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any], limit: float | None
    ) -> Any:
        client = self._client()
        try:
            with self._deadline(limit):
                return getattr(client, method)(*args, **kwargs)
        except (TimeoutError, OSError):
            # Interrupted mid-request, the connection pool keeps a socket it never
            # gets back (the next call would block forever): start afresh.
            self._discard(client)
            raise

    @staticmethod
    @contextlib.contextmanager
    def _deadline(limit: float | None) -> Iterator[None]:
        """Bound a gevent-based call to ``limit`` seconds, raising TimeoutError."""
        if limit is None:
            yield
            return
        import gevent

        timer = gevent.Timeout(limit)
        timer.start()
        try:
            yield
        except gevent.Timeout as expired:
            if expired is not timer:
                raise
            raise TimeoutError(f"no response within {limit:g} s") from None
        finally:
            timer.close()

    def _discard(self, client: Any) -> None:
        self._local.client = None
        with self._lock:
            if client in self._clients:
                self._clients.remove(client)
        with contextlib.suppress(Exception):
            client.close()

    def close(self) -> None:
        if self._closed:
            return
        super().close()
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            # A client made by a thread that has ended may fail to close: it is
            # released with its sockets anyway.
            with contextlib.suppress(Exception):
                client.close()


def build_spec(
    dialect: Dialect,
    model: str,
    version: str,
    metadata: Mapping[str, Any],
    ready: bool,
    config: Mapping[str, Any] | None,
) -> ModelSpec:
    """The :class:`ModelSpec` from a model's metadata, readiness and config answers.

    Raises:
        ModelNotReadyError: If the model is not ready.
    """
    if not ready:
        raise ModelNotReadyError(f"model '{model}' is not ready", model=model)
    # KServe servers need not expose a config: without one, batch checks are skipped.
    max_batch_size = None if config is None else dialect.max_batch_size(config)
    return ModelSpec.from_metadata(metadata, version, max_batch_size)


def translate(
    error: Exception, operation: str, endpoint: Endpoint, limit: float | None, model: str | None
) -> OvTritonError:
    """``error`` as the SDK's type; timeouts say the same thing whatever the protocol."""
    mapped = map_error(error, model=model, endpoint=str(endpoint))
    if isinstance(mapped, RequestTimeoutError) and limit is not None:
        mapped = RequestTimeoutError(
            f"{operation} on {endpoint} timed out after {limit:g} s",
            status=mapped.status,
            model=model,
        )
    return mapped


def open_transport(
    endpoint: Endpoint, timeout: float | None, admin_key: str | None = None
) -> Transport:
    """The transport for ``endpoint``'s protocol."""
    kind = _HttpTransport if endpoint.protocol == "http" else _GrpcTransport
    return kind(endpoint, timeout, admin_key)
