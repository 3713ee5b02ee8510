"""HTTP versus gRPC: choosing the protocol, and the few places where they differ.

tritonclient's HTTP and gRPC modules share method names but differ in details:
gRPC answers protobuf messages (JSON on request, with int64 as strings), takes a
``client_timeout`` per call, and reports output shapes on a message rather than a
dict. A :class:`Dialect` absorbs those differences once, so the sync and asyncio
transports and the request code above them never branch on the protocol.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ClassVar, NamedTuple

import tritonclient.grpc
import tritonclient.http

from ovtriton_client._errors import InvalidInputError
from ovtriton_client._local import ADMIN_GRPC_HEADER, ADMIN_HEADER

__all__ = ["GRPC", "HTTP", "Dialect", "Endpoint", "RegionStatus", "dialect_for", "parse_url"]

_SCHEMES = {
    "http": ("http", False),
    "https": ("http", True),
    "grpc": ("grpc", False),
    "grpcs": ("grpc", True),
}


@dataclass(frozen=True)
class Endpoint:
    """Where the server is and how to talk to it.

    Attributes:
        protocol: ``"http"`` or ``"grpc"``.
        address: ``host:port`` (HTTP may add a base path), without a scheme.
        ssl: Whether the connection is encrypted (``https://`` / ``grpcs://``).
    """

    protocol: str
    address: str
    ssl: bool = False

    def __str__(self) -> str:
        return f"{self.protocol}{'s' if self.ssl else ''}://{self.address}"


def parse_url(url: str, protocol: str | None = None) -> Endpoint:
    """Split ``url`` into protocol, address and TLS flag.

    Args:
        url: ``host:port`` or ``scheme://host:port`` with scheme ``http``, ``https``,
            ``grpc`` or ``grpcs``.
        protocol: Used when ``url`` has no scheme (default ``"http"``); must agree with it
            otherwise.

    Raises:
        InvalidInputError: On an unknown scheme or protocol, a conflict between them, or no address.
    """
    if protocol is not None and protocol not in ("http", "grpc"):
        raise InvalidInputError(f"protocol must be 'http' or 'grpc', not {protocol!r}")
    scheme, separator, rest = url.partition("://")
    if separator:
        if scheme.lower() not in _SCHEMES:
            raise InvalidInputError(
                f"unsupported URL scheme {scheme!r} in {url!r}; use {', '.join(_SCHEMES)}"
            )
        chosen, ssl = _SCHEMES[scheme.lower()]
        if protocol is not None and protocol != chosen:
            raise InvalidInputError(f"URL {url!r} is {chosen}, but protocol={protocol!r}")
    else:
        rest, chosen, ssl = url, protocol or "http", False
    address = rest.strip().rstrip("/")
    if not address:
        raise InvalidInputError(f"URL {url!r} has no host:port")
    return Endpoint(chosen, address, ssl)


class RegionStatus(NamedTuple):
    """One system shared-memory region the server has registered."""

    name: str
    key: str
    byte_size: int


class Dialect:
    """The protocol-specific half of every call; one instance per protocol."""

    name: str
    module: ModuleType
    #: Extra arguments that make tritonclient answer with plain dicts.
    json_kwargs: ClassVar[Mapping[str, Any]] = {}
    #: The header (gRPC: metadata key) that carries the admin key.
    admin_header: ClassVar[str] = ADMIN_HEADER

    def infer_input(self, name: str, shape: list[int], datatype: str) -> Any:
        """A new tritonclient ``InferInput`` of this protocol."""
        return self.module.InferInput(name, shape, datatype)

    def requested_output(self, name: str) -> Any:
        """A new tritonclient ``InferRequestedOutput`` (binary data over HTTP)."""
        return self.module.InferRequestedOutput(name)

    def timeout_kwargs(self, timeout: float | None) -> dict[str, Any]:
        """Arguments that bound a call to ``timeout`` seconds, if the protocol has them."""
        return {}

    def max_batch_size(self, config: Mapping[str, Any]) -> int:
        """``max_batch_size`` from ``get_model_config`` (0 when absent)."""
        return int(config.get("max_batch_size", 0))

    def regions(self, status: Any) -> list[RegionStatus]:
        """``get_system_shared_memory_status`` as a list."""
        raise NotImplementedError

    def output_names(self, result: Any) -> tuple[str, ...]:
        """Names of the outputs a response carries, in order."""
        raise NotImplementedError

    def output_shape(self, result: Any, name: str) -> tuple[int, ...]:
        """The shape the response reports for output ``name``."""
        raise NotImplementedError


class _Http(Dialect):
    name = "http"
    module = tritonclient.http

    def regions(self, status: Any) -> list[RegionStatus]:
        return [RegionStatus(r["name"], r["key"], int(r["byte_size"])) for r in status]

    def output_names(self, result: Any) -> tuple[str, ...]:
        return tuple(o["name"] for o in result.get_response().get("outputs", ()))

    def output_shape(self, result: Any, name: str) -> tuple[int, ...]:
        return tuple(int(d) for d in result.get_output(name)["shape"])


class _Grpc(Dialect):
    name = "grpc"
    module = tritonclient.grpc
    json_kwargs: ClassVar[Mapping[str, Any]] = {"as_json": True}
    admin_header: ClassVar[str] = ADMIN_GRPC_HEADER

    def timeout_kwargs(self, timeout: float | None) -> dict[str, Any]:
        return {"client_timeout": timeout}

    def max_batch_size(self, config: Mapping[str, Any]) -> int:
        # The JSON form nests the config and omits zero-valued fields.
        return int(config.get("config", {}).get("max_batch_size", 0))

    def regions(self, status: Any) -> list[RegionStatus]:
        return [
            RegionStatus(r["name"], r["key"], int(r["byte_size"]))
            for r in status.get("regions", {}).values()
        ]

    def output_names(self, result: Any) -> tuple[str, ...]:
        return tuple(o.name for o in result.get_response().outputs)

    def output_shape(self, result: Any, name: str) -> tuple[int, ...]:
        return tuple(int(d) for d in result.get_output(name).shape)


HTTP: Dialect = _Http()
GRPC: Dialect = _Grpc()


def dialect_for(protocol: str) -> Dialect:
    """The dialect of ``"http"`` or ``"grpc"``."""
    return HTTP if protocol == "http" else GRPC
