"""Typed exceptions, and the one place that maps tritonclient's errors onto them.

tritonclient raises a single ``InferenceServerException`` whose ``status()`` is an
HTTP code (``"404"``) or a gRPC code (``"StatusCode.NOT_FOUND"``), and lets socket
errors escape untouched. Callers should not have to know either protocol, so every
error leaving the SDK is one of the classes below, carrying the server's message.
"""

from __future__ import annotations

from tritonclient.utils import InferenceServerException

__all__ = [
    "InvalidInputError",
    "ModelNotReadyError",
    "OutputNotFoundError",
    "OvTritonError",
    "PermissionDeniedError",
    "RequestTimeoutError",
    "ServerError",
    "ServerUnreachableError",
    "SharedMemoryError",
    "map_error",
]


class OvTritonError(Exception):
    """Base class of every error the SDK raises.

    Args:
        message: What went wrong; for server-side errors, the server's own message.
        status: The protocol status as tritonclient reports it (``"400"``,
            ``"StatusCode.INVALID_ARGUMENT"``), or None for client-side errors.
        model: The model the failing call was about, if any.
    """

    def __init__(self, message: str, *, status: str | None = None, model: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.model = model

    def __str__(self) -> str:
        prefix = f"[{self.status}] " if self.status else ""
        return prefix + self.message


class ServerUnreachableError(OvTritonError, ConnectionError):
    """The server could not be contacted (refused, reset, unknown host)."""


class ModelNotReadyError(OvTritonError):
    """The model is unknown to the server, not loaded, or not ready."""


class InvalidInputError(OvTritonError, ValueError):
    """An argument or request is invalid: caught before sending, or rejected by the server."""


class OutputNotFoundError(OvTritonError, KeyError):
    """A result was asked for an output the response does not hold.

    A ``KeyError`` too, so a result keeps behaving like a mapping (``in``, ``get``).
    """


class RequestTimeoutError(OvTritonError, TimeoutError):
    """The call did not complete within its timeout."""


class ServerError(OvTritonError):
    """The server failed the request for a reason not covered by another class."""


class SharedMemoryError(OvTritonError):
    """A shared-memory region could not be created, registered or used."""


class PermissionDeniedError(OvTritonError, PermissionError):
    """The server restricts this API to holders of its admin key; the call had none or a wrong one.

    ``ovtriton serve`` restricts shared memory, the model repository, logging,
    trace and statistics; the message says what was missing and where it was sought.
    """


# How Triton (and ovtriton's front door) refuse a restricted API: HTTP 403, or gRPC
# UNAVAILABLE with this message ("This protocol is restricted" on gRPC).
_RESTRICTED = "is restricted, expecting header"


# Status codes in both spellings: HTTP numbers and the names of grpc.StatusCode.
_NOT_READY = {"404", "NOT_FOUND", "503"}
_INVALID = {"400", "INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE"}
_TIMEOUT = {"408", "504", "DEADLINE_EXCEEDED"}
_UNREACHABLE = {"UNAVAILABLE"}


def _status_code(status: str | None) -> str:
    """``"StatusCode.NOT_FOUND"`` -> ``"NOT_FOUND"``; HTTP codes pass through."""
    return (status or "").rsplit(".", 1)[-1].strip().upper()


def map_error(
    error: BaseException, *, model: str | None = None, endpoint: str | None = None
) -> OvTritonError:
    """Translate an exception raised by tritonclient (or the network) into the SDK's type.

    Args:
        error: What tritonclient, the socket layer or the SDK raised.
        model: The model the call was about; kept on the returned error.
        endpoint: The server's address, for messages about reaching it.

    Returns:
        ``error`` itself if it already is one, else the matching subclass whose
            message is the server's message when there is one.
    """
    if isinstance(error, OvTritonError):
        return error
    if isinstance(error, InferenceServerException):
        status = error.status()
        message = error.message() or str(error)
        code = _status_code(status)
        kind: type[OvTritonError] = ServerError
        if code == "403" or _RESTRICTED in message:
            kind = PermissionDeniedError
        elif code in _UNREACHABLE:
            # Triton uses UNAVAILABLE for "cannot connect", never for a model state.
            kind = ServerUnreachableError
        elif code in _NOT_READY:
            kind = ModelNotReadyError
        elif code in _INVALID:
            kind = InvalidInputError
        elif code in _TIMEOUT:
            kind = RequestTimeoutError
        return kind(message, status=status, model=model)
    # TimeoutError first: it is an OSError too (socket.timeout is an alias of it).
    if isinstance(error, TimeoutError):
        return RequestTimeoutError(str(error) or "the request timed out", model=model)
    if isinstance(error, OSError):
        reason = error.strerror or str(error) or type(error).__name__
        return ServerUnreachableError(
            f"cannot reach {endpoint or 'the server'}: {reason}", model=model
        )
    return OvTritonError(f"{type(error).__name__}: {error}", model=model)
