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


def dense(features: int = 8, units: int = 4, batch: int = 1, seed: int = 0) -> ov.Model:
    """``y = tanh(x @ W + b)`` on ``[batch, features]`` with seeded random weights.

    Every output depends on its own row of input, so a mixed-up, stale or shifted
    result shows; the batch is fixed (1 by default), as in many exported models.
    """
    rng = np.random.default_rng(seed)
    x = named_parameter([batch, features], "x")
    weights = ops.constant(rng.standard_normal((features, units)).astype(np.float32))
    bias = ops.constant(rng.standard_normal(units).astype(np.float32))
    y = ops.tanh(ops.add(ops.matmul(x, weights, False, False), bias))
    y.output(0).get_tensor().set_names({"y"})
    return ov.Model([y], [x], "dense")


def batch_mixing(features: int = 8) -> ov.Model:
    """``y = x + sum(x over the batch)``: takes a batch range, but mixes the samples.

    At its own batch of 1 it is ``2 x``; run as a batch of several it would add the
    other rows in, so it must keep running a row at a time.
    """
    x = named_parameter([1, features], "x")
    total = ops.reduce_sum(x, ops.constant(np.array([0], dtype=np.int64)), keep_dims=True)
    y = ops.add(x, total)
    y.output(0).get_tensor().set_names({"y"})
    return ov.Model([y], [x], "batch_mixing")
