"""The asyncio client, on tritonclient's ``http.aio`` and ``grpc.aio`` clients.

``await client.model(name)`` gives an :class:`AsyncModel`; ``await model(inputs)``
runs one inference. Many calls run concurrently with ``asyncio.gather``; each call
returns its own result, so results always match their inputs. Validation, request
objects and results are the same as the blocking client's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from typing import Any

from ovtriton_client._errors import OvTritonError, ServerUnreachableError
from ovtriton_client._metadata import ModelSpec
from ovtriton_client._model import HandleBase
from ovtriton_client._protocol import Endpoint, RegionStatus, parse_url
from ovtriton_client._readiness import ReadinessWait
from ovtriton_client._request import InferResult, RequestBuilder
from ovtriton_client._transport import BaseTransport, build_spec

__all__ = ["AsyncClient", "AsyncModel"]


class _AsyncTransport(BaseTransport):
    """Async calls to one server; the client is made on first use, inside the loop."""

    def __init__(
        self, endpoint: Endpoint, timeout: float | None, admin_key: str | None = None
    ) -> None:
        super().__init__(endpoint, timeout, admin_key)
        self._client: Any = None

    async def regions(self) -> list[RegionStatus]:
        """Every system shared-memory region the server has registered (needs the key)."""
        try:
            status = await self._call(
                "get_system_shared_memory_status",
                headers=self.admin_headers(),
                **self.dialect.json_kwargs,
            )
        except OvTritonError as error:
            raise self.refused(error, "get system shared memory status") from error
        return self.dialect.regions(status)

    async def is_ready(self, timeout: float | None = None) -> bool:
        return bool(await self._call("is_server_ready", timeout=timeout))

    async def is_live(self) -> bool:
        return bool(await self._call("is_server_live"))

    async def is_model_ready(
        self, model: str, version: str = "", timeout: float | None = None
    ) -> bool:
        return bool(
            await self._call("is_model_ready", model, version, model=model, timeout=timeout)
        )

    async def model_spec(self, model: str, version: str = "") -> ModelSpec:
        json = self.dialect.json_kwargs
        metadata = await self._call("get_model_metadata", model, version, model=model, **json)
        ready = await self.is_model_ready(model, version)
        try:
            config = await self._call("get_model_config", model, version, model=model, **json)
        except OvTritonError:
            config = None
        return build_spec(self.dialect, model, version, metadata, ready, config)

    async def infer(
        self,
        model: str,
        version: str,
        inputs: list[Any],
        outputs: list[Any] | None,
        timeout: float | None,
    ) -> Any:
        return await self._call(
            "infer",
            model,
            inputs,
            model_version=version,
            outputs=outputs,
            timeout=timeout,
            model=model,
        )

    async def close(self) -> None:
        self._closed = True
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    def _get_client(self) -> Any:
        if self._client is None:
            if self.endpoint.protocol == "http":
                import tritonclient.http.aio as http_aio

                # No session-wide limit: _call bounds each call, possibly beyond it.
                self._client = http_aio.InferenceServerClient(
                    self.endpoint.address, ssl=self.endpoint.ssl, conn_timeout=None
                )
            else:
                import tritonclient.grpc.aio as grpc_aio

                self._client = grpc_aio.InferenceServerClient(
                    self.endpoint.address, ssl=self.endpoint.ssl
                )
        return self._client

    async def _call(
        self,
        method: str,
        *args: Any,
        timeout: float | None = None,
        model: str | None = None,
        **kwargs: Any,
    ) -> Any:
        limit = self._limit(timeout, model)
        call = getattr(self._get_client(), method)
        try:
            return await asyncio.wait_for(
                call(*args, **kwargs, **self.dialect.timeout_kwargs(limit)), limit
            )
        except Exception as error:
            raise self._failure(error, method, limit, model) from error

    def _failure(
        self, error: Exception, method: str, limit: float | None, model: str | None
    ) -> OvTritonError:
        import aiohttp

        # aiohttp's disconnects are not all OSErrors.
        if isinstance(error, aiohttp.ClientConnectionError) and not isinstance(error, TimeoutError):
            return ServerUnreachableError(f"cannot reach {self.endpoint}: {error}", model=model)
        return super()._failure(error, method, limit, model)


class AsyncModel(HandleBase):
    """A model on the server, awaited like ``await model(inputs)``.

    Made by :meth:`AsyncClient.model`. Safe for many concurrent calls: each takes
    a request builder from a free list and gives it back afterwards.

    Args:
        transport: The client's connection.
        spec: The model's metadata.
        max_in_flight: Most calls in flight at once; more wait their turn. None: no bound.
        validate: Check inputs against the metadata before sending.
    """

    def __init__(
        self,
        transport: _AsyncTransport,
        spec: ModelSpec,
        *,
        max_in_flight: int | None = None,
        validate: bool = True,
    ) -> None:
        super().__init__(spec, max_in_flight, validate)
        self._transport = transport
        self._slots = asyncio.Semaphore(max_in_flight) if max_in_flight else None
        self._builders: list[RequestBuilder] = []

    async def __call__(
        self,
        inputs: Any = None,
        *,
        outputs: Sequence[str] | None = None,
        share_outputs: bool = False,
        timeout: float | None = None,
    ) -> InferResult:
        """Run one inference. Parameters, result and errors as for ``Model.__call__``."""
        arrays, names = self._prepare(inputs, outputs)
        async with self._slots or contextlib.nullcontext():
            builder = (
                self._builders.pop()
                if self._builders
                else RequestBuilder(self._transport.dialect, self.spec)
            )
            try:
                raw = await self._transport.infer(
                    self.spec.name,
                    self.spec.version,
                    builder.inputs(arrays),
                    builder.outputs(names),
                    timeout,
                )
            finally:
                self._builders.append(builder)
        return InferResult(raw, self._transport.dialect, copy=not share_outputs)

    infer = __call__

    def __repr__(self) -> str:
        return f"AsyncModel({self.name!r})"


class AsyncClient:
    """An asyncio client for a KServe v2 server; the counterpart of :class:`Client`.

    Args:
        url, protocol, timeout, admin_key: As for :class:`Client`.
    """

    def __init__(
        self,
        url: str = "localhost:8000",
        *,
        protocol: str | None = None,
        timeout: float | None = 60.0,
        admin_key: str | None = None,
    ) -> None:
        self.endpoint = parse_url(url, protocol)
        self._transport = _AsyncTransport(self.endpoint, timeout, admin_key)
        self._specs: dict[tuple[str, str], ModelSpec] = {}
        self._handles: dict[tuple[str, str], AsyncModel] = {}

    @property
    def protocol(self) -> str:
        return self.endpoint.protocol

    async def is_live(self) -> bool:
        return await self._transport.is_live()

    async def is_ready(self) -> bool:
        return await self._transport.is_ready()

    async def is_model_ready(self, name: str, version: str = "") -> bool:
        return await self._transport.is_model_ready(name, version)

    async def wait_until_ready(
        self, timeout: float = 60.0, *, models: Iterable[str] = (), interval: float = 0.25
    ) -> None:
        """Poll until the server (and each of ``models``) is ready.

        Parameters and errors as for :meth:`Client.wait_until_ready`.
        """
        wait = ReadinessWait(self.endpoint, models, timeout, interval)
        while (problem := await self._readiness_problem(wait)) is not None:
            await asyncio.sleep(wait.pause(problem))

    async def model(
        self,
        name: str,
        version: str = "",
        *,
        max_in_flight: int | None = None,
        validate: bool = True,
    ) -> AsyncModel:
        """A handle on model ``name``; metadata is fetched once per client.

        Raises:
            ModelNotReadyError: If the server does not know the model or it is not ready.
        """
        key = (name, version)
        if key not in self._specs:
            self._specs[key] = await self._transport.model_spec(name, version)
        return AsyncModel(
            self._transport, self._specs[key], max_in_flight=max_in_flight, validate=validate
        )

    async def infer(
        self,
        model: str,
        inputs: Any,
        *,
        version: str = "",
        outputs: Sequence[str] | None = None,
        share_outputs: bool = False,
        timeout: float | None = None,
    ) -> InferResult:
        """Run one inference on ``model`` through a handle kept per model."""
        handle = self._handles.get((model, version))
        if handle is None:
            handle = self._handles[model, version] = await self.model(model, version)
        return await handle(inputs, outputs=outputs, share_outputs=share_outputs, timeout=timeout)

    async def shared_memory_status(self) -> list[RegionStatus]:
        """Every system shared-memory region registered on the server (by anyone)."""
        return await self._transport.regions()

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        await self._transport.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncClient({str(self.endpoint)!r})"

    async def _readiness_problem(self, wait: ReadinessWait) -> str | None:
        """What is not ready yet, or None when the server and the models all are."""
        try:
            for probe, problem in wait.probes(self._transport):
                if not await probe():
                    return problem
        except OvTritonError as error:
            return str(error)
        return None
