"""Example models built in code with OpenVINO opsets (no downloads).

``ovtriton examples DIR`` writes the example model repository's model files; the
``config.pbtxt`` files are committed beside them. Tests build their models with the
same functions.
"""

from __future__ import annotations

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


def with_random_weights(source: Path, target: Path, seed: int = 0) -> Path:
    """Write ``source`` (an onnx-wheel ``light_*`` graph) with seeded random weights.

    The wheel's light graphs make every weight with ``ConstantOfShape`` (one value
    per tensor), so their output is the same whatever the input: fine for timing,
    useless for checking served values. Each such weight becomes an initializer of
    the same shape: He-scaled normal for convolution and dense weights, and an
    identity batch normalisation, so the activations stay in range and the output
    depends on the input.
    """
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    shapes = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    rng = np.random.default_rng(seed)
    kept = []
    for node in graph.node:
        if node.op_type != "ConstantOfShape" or node.input[0] not in shapes:
            kept.append(node)
            continue
        name = node.output[0]
        shape = tuple(int(d) for d in shapes[node.input[0]])
        if name.endswith("branch2c_bn_s_0"):
            # A residual branch's last scale kept small, so the sums do not blow up.
            value = np.full(shape, 0.2, np.float32)
        elif name.endswith(("_bn_s_0", "_bn_riv_0")):  # scale, running variance
            value = np.ones(shape, np.float32)
        elif name.endswith("_bn_rm_0"):  # running mean
            value = np.zeros(shape, np.float32)
        elif len(shape) > 1:  # convolution or dense weights: He initialisation
            fan_in = int(np.prod(shape[1:]))
            # The classifier's dense layer is kept soft, so the softmax does not saturate.
            gain = 0.05 if len(shape) == 2 else 1.0
            scale = gain * np.sqrt(2.0 / fan_in)
            value = (rng.standard_normal(shape) * scale).astype(np.float32)
        else:  # biases
            value = (rng.standard_normal(shape) * 0.1).astype(np.float32)
        graph.initializer.append(numpy_helper.from_array(value, name))
    del graph.node[:]
    graph.node.extend(kept)
    target.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(target))
    return target


EXAMPLE_MODELS: dict[str, Callable[[], ov.Model]] = {
    "classifier": classifier,
    "two_io": two_io,
    "dynamic_sequence": dynamic_sequence,
    "add_one": add_one,
}


def write_example_models(repository: Path) -> list[Path]:
    """Write each example's ``1/model.xml``, and ``resnet50/1/model.onnx``.

    ``resnet50`` is the onnx wheel's ResNet-50 graph with seeded random weights
    (:func:`with_random_weights`), so its answers depend on its input.
    """
    written = []
    for name, build in EXAMPLE_MODELS.items():
        target = repository / name / "1" / "model.xml"
        target.parent.mkdir(parents=True, exist_ok=True)
        # Keep FP32 weights: save_model compresses to FP16 by default.
        ov.save_model(build(), target, compress_to_fp16=False)
        written.append(target)
    resnet = repository / "resnet50" / "1" / "model.onnx"
    written.append(with_random_weights(onnx_light_model("light_resnet50"), resnet))
    return written
