"""Example models built in code with OpenVINO opsets (no downloads).

``ovtriton examples DIR`` writes the example model repository's model files; the
``config.pbtxt`` files are committed beside them. Tests build their models with the
same functions.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import openvino as ov
from openvino import opset13 as ops

ONNX_LIGHT_MODELS = "onnx/backend/test/data/light"


def _named(node: ov.Node, name: str) -> ov.Output:
    output = node.output(0)
    output.get_tensor().set_names({name})
    return output


def classifier(batch: int = 1, classes: int = 10, size: int = 224) -> ov.Model:
    """An NCHW image classifier: conv, relu, global average pool, dense, softmax."""
    rng = np.random.default_rng(0)
    image = ops.parameter([batch, 3, size, size], ov.Type.f32, name="image")
    image.output(0).get_tensor().set_names({"image"})
    weights = ops.constant(rng.standard_normal((8, 3, 3, 3)).astype(np.float32) * 0.1)
    conv = ops.convolution(image, weights, [2, 2], [1, 1], [1, 1], [1, 1])
    pooled = ops.reduce_mean(ops.relu(conv), ops.constant(np.array([2, 3])), keep_dims=False)
    dense = ops.matmul(
        pooled, ops.constant(rng.standard_normal((8, classes)).astype(np.float32)), False, False
    )
    probabilities = _named(ops.softmax(dense, 1), "probabilities")
    return ov.Model([probabilities], [image], "classifier")


def two_io() -> ov.Model:
    """Two inputs, two outputs: ``sum = a + b`` and ``product = a * b`` (INT32 and FP32)."""
    a = ops.parameter([-1, 4], ov.Type.f32, name="a")
    b = ops.parameter([-1, 4], ov.Type.f32, name="b")
    a.output(0).get_tensor().set_names({"a"})
    b.output(0).get_tensor().set_names({"b"})
    total = _named(ops.add(a, b), "sum")
    product = _named(ops.multiply(a, b), "product")
    return ov.Model([total, product], [a, b], "two_io")


def dynamic_sequence(features: int = 8) -> ov.Model:
    """``[batch, length, features]`` with a dynamic length: ``y = cumulative sum * 2``."""
    x = ops.parameter([-1, -1, features], ov.Type.f32, name="tokens")
    x.output(0).get_tensor().set_names({"tokens"})
    summed = ops.cumsum(x, ops.constant(np.int64(1)))
    y = _named(ops.multiply(summed, ops.constant(np.float32(2))), "scores")
    return ov.Model([y], [x], "dynamic_sequence")


def add_one(shape: tuple[int, ...] = (-1, 16), element: ov.Type = ov.Type.f32) -> ov.Model:
    """A tiny elementwise model: ``y = x + 1``."""
    x = ops.parameter(list(shape), element, name="x")
    x.output(0).get_tensor().set_names({"x"})
    one = ops.constant(np.ones((), dtype=element.to_dtype()))
    return ov.Model([_named(ops.add(x, one), "y")], [x], "add_one")


def onnx_light_model(name: str) -> Path:
    """Path of a real architecture the ``onnx`` wheel ships (e.g. ``light_resnet50``)."""
    import onnx

    path = Path(onnx.__file__).parent.parent / ONNX_LIGHT_MODELS / f"{name}.onnx"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is not in the installed onnx wheel")
    return path


EXAMPLE_MODELS: dict[str, Callable[[], ov.Model]] = {
    "classifier": classifier,
    "two_io": two_io,
    "dynamic_sequence": dynamic_sequence,
    "add_one": add_one,
}


def write_example_models(repository: Path) -> list[Path]:
    """Write each example's ``1/model.xml`` (and ``resnet50/1/model.onnx``)."""
    written = []
    for name, build in EXAMPLE_MODELS.items():
        target = repository / name / "1" / "model.xml"
        target.parent.mkdir(parents=True, exist_ok=True)
        # Keep FP32 weights: save_model compresses to FP16 by default.
        ov.save_model(build(), target, compress_to_fp16=False)
        written.append(target)
    resnet = repository / "resnet50" / "1" / "model.onnx"
    resnet.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(onnx_light_model("light_resnet50"), resnet)
    written.append(resnet)
    return written
