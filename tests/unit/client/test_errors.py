"""Mapping tritonclient and network errors onto the SDK's exception types."""

from __future__ import annotations

import socket

import pytest
from tritonclient.utils import InferenceServerException

from ovtriton_client import (
    InvalidInputError,
    ModelNotReadyError,
    OvTritonError,
    RequestTimeoutError,
    ServerError,
    ServerUnreachableError,
)
from ovtriton_client._errors import map_error


@pytest.mark.parametrize(
    ("status", "message", "kind"),
    [
        ("404", "Request for unknown model: 'nope' is not found", ModelNotReadyError),
        (
            "StatusCode.NOT_FOUND",
            "Request for unknown model: 'm' has no available versions",
            ModelNotReadyError,
        ),
        ("400", "unexpected shape for input 'x' for model 'add_one'", InvalidInputError),
        ("StatusCode.INVALID_ARGUMENT", "unexpected shape", InvalidInputError),
        ("StatusCode.DEADLINE_EXCEEDED", "Deadline Exceeded", RequestTimeoutError),
        ("StatusCode.UNAVAILABLE", "failed to connect to all addresses", ServerUnreachableError),
        ("500", "shared memory size specified ... should be at least 128 bytes", ServerError),
        ("StatusCode.INTERNAL", "OpenVINO failed", ServerError),
        ("StatusCode.CANCELLED", "Locally cancelled by application!", ServerError),
        (None, "something odd", ServerError),
    ],
)
def test_server_statuses_map_to_types_and_keep_the_message(
    status: str | None, message: str, kind: type[OvTritonError]
) -> None:
    error = map_error(InferenceServerException(msg=message, status=status), model="m")
    assert type(error) is kind
    assert error.message == message
    assert error.status == status
    assert error.model == "m"
    assert str(error) == (f"[{status}] {message}" if status else message)


def test_network_errors() -> None:
    refused = map_error(ConnectionRefusedError(111, "Connection refused"), endpoint="http://h:1")
    assert isinstance(refused, ServerUnreachableError)
    assert str(refused) == "cannot reach http://h:1: Connection refused"
    assert isinstance(
        map_error(socket.gaierror(-2, "Name or service not known")), ServerUnreachableError
    )
    assert isinstance(map_error(TimeoutError("timed out")), RequestTimeoutError)


def test_sdk_errors_pass_through_and_others_are_wrapped() -> None:
    original = InvalidInputError("bad")
    assert map_error(original) is original
    wrapped = map_error(RuntimeError("boom"))
    assert type(wrapped) is OvTritonError and "RuntimeError: boom" in str(wrapped)


def test_types_are_also_the_matching_builtins() -> None:
    # So code that catches ValueError / TimeoutError / ConnectionError keeps working.
    assert issubclass(InvalidInputError, ValueError)
    assert issubclass(RequestTimeoutError, TimeoutError)
    assert issubclass(ServerUnreachableError, ConnectionError)
    for kind in (
        InvalidInputError,
        RequestTimeoutError,
        ServerUnreachableError,
        ModelNotReadyError,
        ServerError,
    ):
        assert issubclass(kind, OvTritonError)


def test_every_exception_the_sdk_exports_is_an_ovtriton_error() -> None:
    import ovtriton_client as ovc

    exported = [getattr(ovc, name) for name in ovc.__all__]
    errors = [e for e in exported if isinstance(e, type) and issubclass(e, BaseException)]
    assert ovc.OutputNotFoundError in errors
    assert all(issubclass(e, ovc.OvTritonError) for e in errors)
    # A missing output is still a KeyError, so results keep behaving like mappings.
    assert issubclass(ovc.OutputNotFoundError, KeyError)
