"""Checks an HTTP inference request before Triton parses it.

Triton 2.51's HTTP front end trusts a JSON request's declared ``shape``: a
~100-byte body declaring ``[1000000000, 3]`` makes it allocate gigabytes and die,
and several malformed bodies get 500 instead of 400. These checks read only the
JSON part (the header of a binary-tensor request), never the tensor bytes, and
answer each mistake with a 400 message naming the input, what was expected and
what was sent. Pure logic: no sockets, no Triton.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Iterator
from typing import Any

from ovtriton.rules.datatypes import DATATYPES

INFER_PATH = re.compile(r"^/v2/models/[^/]+(/versions/[^/]+)?/infer/?$")

# Bytes per element of the fixed-size datatypes (BYTES is length-prefixed).
_ITEM_SIZE = {d.kserve: d.wire_size for d in DATATYPES if d.kserve != "BYTES"}


# zlib's wbits for the Content-Encodings Triton's HTTP front end accepts.
_ENCODINGS = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
_BYTES_PREFIX = 4  # each BYTES element is sent as a 4-byte length, then its bytes


class GuardError(ValueError):
    """A request that must get HTTP 400; the message is the response's ``error``."""


def decode_body(body: bytes, encoding: str | None, limit: int) -> bytes:
    """The request body as Triton will read it: decompressed for gzip and deflate.

    tritonclient compresses the whole body (JSON header and binary tensors) when asked
    to; the checks must see what Triton sees after decompressing it.

    Args:
        body: The body as it arrived.
        encoding: Its ``Content-Encoding`` header, or None.
        limit: Largest decompressed size accepted, so a small "zip bomb" cannot exhaust memory.

    Raises:
        GuardError: For an encoding Triton does not accept, a body that does not decompress, or one
            that decompresses beyond ``limit``.
    """
    name = (encoding or "identity").strip().lower()
    if name == "identity":
        return body
    if name not in _ENCODINGS:
        raise GuardError(
            f"Content-Encoding {encoding!r} is not supported; expected gzip, deflate or none"
        )
    inflater = zlib.decompressobj(_ENCODINGS[name])
    try:
        plain = inflater.decompress(body, limit + 1)
    except zlib.error as error:
        raise GuardError(f"the {name} body does not decompress: {error}") from None
    if len(plain) > limit:
        raise GuardError(f"the {name} body decompresses to more than {limit} bytes")
    return plain


def is_infer_path(path: str) -> bool:
    """Whether ``path`` (query string allowed) is a KServe v2 inference endpoint."""
    return bool(INFER_PATH.match(path.split("?", 1)[0]))


def check_infer_request(body: bytes, header_length: int | None) -> dict[str, Any]:
    """Check an inference request body; return its parsed JSON (header).

    Args:
        body: The whole HTTP body.
        header_length: ``Inference-Header-Content-Length`` for a binary-tensor request, else None.

    Returns:
        The request's JSON object.

    Raises:
        GuardError: With a message for the client.
    """
    if header_length is not None and not 0 <= header_length <= len(body):
        raise GuardError(
            f"Inference-Header-Content-Length {header_length} is outside the body "
            f"of {len(body)} bytes"
        )
    header = body if header_length is None else body[:header_length]
    try:
        request = json.loads(header)
    except (ValueError, UnicodeDecodeError) as error:
        raise GuardError(f"failed to parse the request JSON: {error}") from None
    if not isinstance(request, dict):
        raise GuardError("the request JSON must be an object")
    inputs = request.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise GuardError("the request JSON must have a non-empty 'inputs' list")
    binary_total = 0
    for tensor in inputs:
        binary_total += _check_input(tensor)
    if header_length is not None and binary_total > len(body) - header_length:
        raise GuardError(
            f"binary_data_size adds up to {binary_total} bytes, but the body carries "
            f"{len(body) - header_length} after the JSON header"
        )
    return request


def _check_input(tensor: Any) -> int:
    """Check one input; return the binary bytes it claims (0 for JSON data)."""
    if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
        raise GuardError("each input must be an object with a string 'name'")
    name = tensor["name"]
    shape = tensor.get("shape")
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise GuardError(
            f"input '{name}': expected 'shape' as a list of non-negative integers, got {shape!r}"
        )
    datatype = tensor.get("datatype")
    if datatype not in _ITEM_SIZE and datatype != "BYTES":
        raise GuardError(f"input '{name}': unknown datatype {datatype!r}")
    elements = math.prod(shape)
    parameters = tensor.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise GuardError(f"input '{name}': 'parameters' must be an object")
    if "shared_memory_region" in parameters:
        return 0  # the data is in a registered region; Triton checks its size
    if "binary_data_size" in parameters:
        size = parameters["binary_data_size"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise GuardError(f"input '{name}': binary_data_size must be a non-negative integer")
        if datatype == "BYTES":
            # Element lengths are in the data, so only a lower bound is known.
            if size < elements * _BYTES_PREFIX:
                raise GuardError(
                    f"input '{name}': shape {shape} of BYTES needs at least "
                    f"{elements * _BYTES_PREFIX} bytes (a 4-byte length per element); "
                    f"binary_data_size is {size}"
                )
        elif size != elements * _ITEM_SIZE[datatype]:
            raise GuardError(
                f"input '{name}': shape {shape} of {datatype} needs "
                f"{elements * _ITEM_SIZE[datatype]} bytes; binary_data_size is {size}"
            )
        return size
    if "data" not in tensor:
        raise GuardError(f"input '{name}': no 'data', binary data or shared memory region")
    _check_data(name, shape, datatype, tensor["data"], elements)
    return 0


def _check_data(name: str, shape: list[int], datatype: str, data: Any, elements: int) -> None:
    count = 0
    for value in _flatten(data):
        count += 1
        if count > elements:
            break
        if not _fits(datatype, value):
            raise GuardError(f"input '{name}': expected {datatype} values in 'data', got {value!r}")
    if count != elements:
        sent = "more than" if count > elements else f"{count} values, not"
        raise GuardError(
            f"input '{name}': shape {shape} has {elements} elements, but 'data' holds "
            f"{sent} {elements}"
        )


def _flatten(data: Any) -> Iterator[Any]:
    stack = [iter([data])]
    while stack:
        for value in stack[-1]:
            if isinstance(value, list):
                stack.append(iter(value))
                break
            yield value
        else:
            stack.pop()


def _fits(datatype: str, value: Any) -> bool:
    if datatype == "BYTES":
        return isinstance(value, str)
    if datatype == "BOOL":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if datatype.startswith(("FP", "BF")):
        return isinstance(value, (int, float))
    return isinstance(value, int)
