"""OpenVINO element types and the Triton data types that carry them."""

from __future__ import annotations

import numpy as np
import openvino as ov

from ovtriton.errors import ModelLoadError

# OpenVINO type name -> (Triton config type, KServe datatype, numpy dtype).
_TYPES: dict[str, tuple[str, str, type]] = {
    "f32": ("TYPE_FP32", "FP32", np.float32),
    "f16": ("TYPE_FP16", "FP16", np.float16),
    "f64": ("TYPE_FP64", "FP64", np.float64),
    "i8": ("TYPE_INT8", "INT8", np.int8),
    "i16": ("TYPE_INT16", "INT16", np.int16),
    "i32": ("TYPE_INT32", "INT32", np.int32),
    "i64": ("TYPE_INT64", "INT64", np.int64),
    "u8": ("TYPE_UINT8", "UINT8", np.uint8),
    "u16": ("TYPE_UINT16", "UINT16", np.uint16),
    "u32": ("TYPE_UINT32", "UINT32", np.uint32),
    "u64": ("TYPE_UINT64", "UINT64", np.uint64),
    "boolean": ("TYPE_BOOL", "BOOL", np.bool_),
    "string": ("TYPE_STRING", "BYTES", np.object_),
}


def triton_type(element_type: ov.Type, tensor: str) -> str:
    """The Triton config type (``TYPE_FP32``...) for an OpenVINO element type.

    Raises:
        ModelLoadError: The type has no Triton counterpart that the Python backend
            can hand over as NumPy (e.g. ``u4``; ``bf16`` is served as FP32 before this
            is asked); the message names the tensor.
    """
    name = element_type.get_type_name()
    if name not in _TYPES:
        raise ModelLoadError(
            f"tensor '{tensor}' has OpenVINO element type {name}, which ovtriton cannot serve "
            f"(supported: {', '.join(sorted(_TYPES))})"
        )
    return _TYPES[name][0]


def kserve_datatype(config_type: str) -> str:
    """``TYPE_FP32`` -> ``FP32`` (the name in requests and OVMS-style messages)."""
    return config_type.removeprefix("TYPE_").replace("STRING", "BYTES")


def numpy_dtype(config_type: str) -> np.dtype:
    for triton, _, dtype in _TYPES.values():
        if triton == config_type:
            return np.dtype(dtype)
    raise KeyError(config_type)
