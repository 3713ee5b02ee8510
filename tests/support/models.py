"""Small OpenVINO models for runtime tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openvino as ov
from openvino import opset13 as ops


def named_parameter(shape: list[int], name: str, element: ov.Type = ov.Type.f32) -> ov.Node:
    parameter = ops.parameter(shape, element, name=name)
    parameter.output(0).get_tensor().set_names({name})
    return parameter


def scaled(shape: list[int], name: str = "x", out: str = "y", factor: float = 2.0) -> ov.Model:
    """``out = name * factor`` for any shape."""
    x = named_parameter(shape, name)
    y = ops.multiply(x, ops.constant(np.float32(factor)))
    y.output(0).get_tensor().set_names({out})
    return ov.Model([y], [x], "scaled")


def two_inputs() -> ov.Model:
    a, b = named_parameter([1, 4], "a"), named_parameter([1, 4], "b")
    s = ops.add(a, b)
    s.output(0).get_tensor().set_names({"s"})
    return ov.Model([s], [a, b], "two_inputs")


def save(model: ov.Model, folder: Path) -> Path:
    path = folder / "model.xml"
    ov.save_model(model, path, compress_to_fp16=False)
    return path


def identity() -> ov.Model:
    """The input tensor is also the output: one name for both."""
    t = named_parameter([1, 3], "t")
    return ov.Model([t.output(0)], [t], "identity")
