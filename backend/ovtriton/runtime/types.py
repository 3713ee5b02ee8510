"""OpenVINO element types and the Triton data types that carry them.

The table itself is :mod:`ovtriton.rules.datatypes`; this module adds what needs
OpenVINO's ``ov.Type``.
"""

from __future__ import annotations

import numpy as np
import openvino as ov

from ovtriton.errors import ModelLoadError
from ovtriton.rules.datatypes import BY_CONFIG_TYPE, BY_OPENVINO


def triton_type(element_type: ov.Type, tensor: str) -> str:
    """The Triton config type (``TYPE_FP32``...) for an OpenVINO element type.

    Raises:
        ModelLoadError: The type has no Triton counterpart that the Python backend
            can hand over as NumPy (e.g. ``u4``; ``bf16`` is served as FP32 before this
            is asked); the message names the tensor.
    """
    name = element_type.get_type_name()
    if name not in BY_OPENVINO:
        raise ModelLoadError(
            f"tensor '{tensor}' has OpenVINO element type {name}, which ovtriton cannot serve "
            f"(supported: {', '.join(sorted(BY_OPENVINO))})"
        )
    return BY_OPENVINO[name].config_type


def numpy_dtype(config_type: str) -> np.dtype:
    """The NumPy dtype Triton's Python backend uses for a config type (``TYPE_FP32``)."""
    return BY_CONFIG_TYPE[config_type].numpy
