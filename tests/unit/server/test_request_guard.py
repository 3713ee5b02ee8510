"""The front door's request checks (pure logic)."""

from __future__ import annotations

import contextlib
import gzip
import json
import zlib
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ovtriton_serve.server.request_guard import (
    GuardError,
    check_infer_request,
    decode_body,
    is_infer_path,
)


def body(**tensor: object) -> bytes:
    base: dict[str, object] = {"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}
    base.update(tensor)
    return json.dumps({"inputs": [base]}).encode()


def test_infer_paths() -> None:
    assert is_infer_path("/v2/models/m/infer")
    assert is_infer_path("/v2/models/m/versions/2/infer")
    assert not is_infer_path("/v2/models/m")
    assert not is_infer_path("/v2/repository/index")


def test_good_requests_pass() -> None:
    check_infer_request(body(), None)
    check_infer_request(body(data=[[1, 2, 3]]), None)
    check_infer_request(body(datatype="BOOL", data=[True, False, True]), None)
    check_infer_request(body(datatype="BYTES", data=["a", "b", "c"]), None)
    header = json.dumps(
        {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32",
                     "parameters": {"binary_data_size": 12}}]}
    ).encode()  # fmt: skip
    check_infer_request(header + bytes(12), len(header))
    shm = body(parameters={"shared_memory_region": "r", "shared_memory_byte_size": 12})
    check_infer_request(shm, None)


@pytest.mark.parametrize(
    ("request_body", "fragment"),
    [
        (body(shape=[1000000000, 3]), "has 3000000000 elements, but 'data' holds 3 values"),
        (body(shape=[1, 4]), "holds 3 values, not 4"),
        (body(shape=[1, 2]), "holds more than 2"),
        (body(data=[1, "two", 3]), "expected FP32 values in 'data', got 'two'"),
        (body(shape=[1, -3]), "non-negative integers"),
        (body(shape="13"), "non-negative integers"),
        (body(datatype="FP128"), "unknown datatype"),
        (body(datatype="INT32", data=[1.5, 2, 3]), "expected INT32 values"),
        (body(data=None, parameters={"binary_data_size": 5}), "needs 12 bytes"),
        (
            body(datatype="BYTES", shape=[1000000], data=None, parameters={"binary_data_size": 8}),
            "needs at least 4000000 bytes (a 4-byte length per element)",
        ),
        (b"{not json", "failed to parse the request JSON"),
        (b"[1, 2]", "must be an object"),
        (b'{"inputs": []}', "non-empty 'inputs'"),
        (json.dumps({"inputs": [{"shape": [1]}]}).encode(), "string 'name'"),
    ],
)
def test_bad_requests_are_named(request_body: bytes, fragment: str) -> None:
    with pytest.raises(GuardError) as error:
        check_infer_request(request_body, None)
    assert fragment in str(error.value)


def test_binary_sizes_must_fit_the_body() -> None:
    header = json.dumps(
        {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32",
                     "parameters": {"binary_data_size": 12}}]}
    ).encode()  # fmt: skip
    with pytest.raises(GuardError, match="carries 4"):
        check_infer_request(header + bytes(4), len(header))
    with pytest.raises(GuardError, match="outside the body"):
        check_infer_request(header, len(header) + 10)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash(raw: bytes) -> None:
    with contextlib.suppress(GuardError):
        check_infer_request(raw, None)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
        lambda children: st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(["inputs", "name", "shape", "datatype", "data",
                                           "parameters", "binary_data_size"]), children,
                          max_size=5),
        max_leaves=20,
    )
)  # fmt: skip
def test_arbitrary_json_never_crashes(document: object) -> None:
    with contextlib.suppress(GuardError):
        check_infer_request(json.dumps(document).encode(), None)


def test_bytes_binary_size_is_a_lower_bound() -> None:
    header = json.dumps(
        {"inputs": [{"name": "s", "shape": [2], "datatype": "BYTES",
                     "parameters": {"binary_data_size": 13}}]}
    ).encode()  # fmt: skip
    check_infer_request(header + bytes(13), len(header))  # "hello" and "" with prefixes


@pytest.mark.parametrize("encoding", ["gzip", "deflate", " GZip ", None, "identity"])
def test_compressed_bodies_are_checked_as_triton_reads_them(encoding: str | None) -> None:
    plain = body()
    name = (encoding or "identity").strip().lower()
    compressors: dict[str, Callable[[bytes], bytes]] = {
        "gzip": gzip.compress,
        "deflate": zlib.compress,
    }
    sent = compressors.get(name, bytes)(plain)
    assert decode_body(sent, encoding, limit=1 << 20) == plain


@pytest.mark.parametrize(
    ("sent", "encoding", "fragment"),
    [
        (body(), "br", "Content-Encoding 'br' is not supported"),
        (b"not gzip at all", "gzip", "does not decompress"),
        (gzip.compress(bytes(1 << 20)), "gzip", "decompresses to more than 65536 bytes"),
    ],
)
def test_bad_compressed_bodies_are_named(sent: bytes, encoding: str, fragment: str) -> None:
    with pytest.raises(GuardError, match=fragment):
        decode_body(sent, encoding, limit=1 << 16)


@given(st.binary(max_size=300), st.sampled_from(["gzip", "deflate", "x"]))
def test_arbitrary_compressed_bytes_never_crash(raw: bytes, encoding: str) -> None:
    with contextlib.suppress(GuardError):
        decode_body(raw, encoding, limit=1 << 16)
