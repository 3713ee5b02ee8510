"""The client side's one datatype table: KServe name -> NumPy dtype, wire size, raw layout.

The server keeps its own (``ovtriton.rules.datatypes``; the SDK must not depend on
the backend package); a unit test checks that the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Datatype:
    """How the SDK handles one KServe datatype.

    Attributes:
        numpy: The dtype arrays for such a tensor must have.
        wire_size: Bytes per element in a binary body; 0 for BYTES (length-prefixed).
        raw: Whether the wire format is the NumPy memory layout, so the tensor
            can travel through shared memory (not BYTES, not BF16).
    """

    numpy: np.dtype
    wire_size: int
    raw: bool


def _raw(numpy: type) -> Datatype:
    dtype: np.dtype = np.dtype(numpy)
    return Datatype(dtype, dtype.itemsize, True)


DATATYPES: dict[str, Datatype] = {
    "BOOL": _raw(np.bool_),
    "INT8": _raw(np.int8),
    "INT16": _raw(np.int16),
    "INT32": _raw(np.int32),
    "INT64": _raw(np.int64),
    "UINT8": _raw(np.uint8),
    "UINT16": _raw(np.uint16),
    "UINT32": _raw(np.uint32),
    "UINT64": _raw(np.uint64),
    "FP16": _raw(np.float16),
    "FP32": _raw(np.float32),
    "FP64": _raw(np.float64),
    # NumPy has no bfloat16: tritonclient takes float32 arrays and truncates them.
    "BF16": Datatype(np.dtype(np.float32), 2, False),
    "BYTES": Datatype(np.dtype(np.object_), 0, False),
}
