"""The stub side's one datatype table: KServe names, Triton config types, NumPy, OpenVINO.

Pure logic (NumPy only). Everything on the server side that names, sizes or
converts a tensor datatype reads it from here: the runtime (OpenVINO element
type to Triton config type), the request checks (NumPy dtype to the KServe name in
messages) and the front door (bytes per element on the wire). The client SDK keeps
its own table (``ovtriton_client._datatypes``); a unit test checks the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Datatype:
    """One tensor datatype as each party names it.

    Attributes:
        kserve: The KServe v2 / Open Inference Protocol name (``FP32``).
        config_type: Triton's ``config.pbtxt`` name (``TYPE_FP32``).
        numpy: The NumPy dtype Triton's Python backend hands over.
        wire_size: Bytes per element in a binary request body; 0 for BYTES,
            whose elements are length-prefixed.
        openvino: OpenVINO's element type name (``f32``), or "" if none maps here.
    """

    kserve: str
    config_type: str
    numpy: np.dtype
    wire_size: int
    openvino: str


def _entry(kserve: str, numpy: type, wire_size: int, openvino: str) -> Datatype:
    config = "TYPE_STRING" if kserve == "BYTES" else f"TYPE_{kserve}"
    return Datatype(kserve, config, np.dtype(numpy), wire_size, openvino)


DATATYPES: tuple[Datatype, ...] = (
    _entry("BOOL", np.bool_, 1, "boolean"),
    _entry("UINT8", np.uint8, 1, "u8"),
    _entry("UINT16", np.uint16, 2, "u16"),
    _entry("UINT32", np.uint32, 4, "u32"),
    _entry("UINT64", np.uint64, 8, "u64"),
    _entry("INT8", np.int8, 1, "i8"),
    _entry("INT16", np.int16, 2, "i16"),
    _entry("INT32", np.int32, 4, "i32"),
    _entry("INT64", np.int64, 8, "i64"),
    _entry("FP16", np.float16, 2, "f16"),
    _entry("FP32", np.float32, 4, "f32"),
    _entry("FP64", np.float64, 8, "f64"),
    # NumPy has no bfloat16. Clients may send BF16, but ovtriton serves BF16 model
    # tensors as FP32 (converted at the model's edge), so no OpenVINO type maps here.
    _entry("BF16", np.float32, 2, ""),
    _entry("BYTES", np.object_, 0, "string"),
)

BY_KSERVE: dict[str, Datatype] = {d.kserve: d for d in DATATYPES}
BY_CONFIG_TYPE: dict[str, Datatype] = {d.config_type: d for d in DATATYPES}
BY_OPENVINO: dict[str, Datatype] = {d.openvino: d for d in DATATYPES if d.openvino}
# NumPy dtype -> name; BF16 is left out because its NumPy stand-in is FP32's.
_BY_NUMPY: dict[np.dtype, Datatype] = {d.numpy: d for d in DATATYPES if d.kserve != "BF16"}


def kserve_name(dtype: np.dtype) -> str:
    """``float32`` -> ``FP32``: the datatype name requests and messages use.

    A dtype with no KServe counterpart gets a name in the same style (``complex64``
    -> ``C64``), so an error message can still say what was sent.
    """
    dtype = np.dtype(dtype)
    entry = _BY_NUMPY.get(dtype)
    if entry is not None:
        return entry.kserve
    kind = {"f": "FP", "i": "INT", "u": "UINT"}.get(dtype.kind, dtype.kind.upper())
    return f"{kind}{dtype.itemsize * 8}"


def config_kserve_name(config_type: str) -> str:
    """``TYPE_FP32`` -> ``FP32``; ``TYPE_STRING`` -> ``BYTES``."""
    return BY_CONFIG_TYPE[config_type].kserve
