"""The benchmark's model repository: ovtriton models and their rivals.

- ``light_resnet50`` / ``light_squeezenet``: the ONNX files the ``onnx`` wheel
  ships, served by ovtriton with its default config (``backend: "ovtriton"`` and
  nothing else: what a new user writes first). Beside each, the same file
  served by its rivals (:data:`PEERS`, :data:`NAIVES`): Triton's C++ OpenVINO
  backend in four configs (``<name>_peer_*``, needs :mod:`benchmarks.peer`) and
  :mod:`benchmarks.handwritten.naive_openvino` with one and two instances
  (``<name>_naive1``, ``<name>_naive2``).
- ``tiny``: a few elementwise ops (``y = tanh(x * 0.5 + 1) * 2`` on ``[-1, 16]``) in
  ovtriton; ``tiny_numpy`` does the same in numpy
  (:mod:`benchmarks.handwritten.minimal_numpy`).
- ``large_io``: ``y = x + 1`` on 4 Mi FP32 values (16 MB in, 16 MB out), for the
  SDK's shared-memory path.

The tiny, large-io and naive models get :data:`SERVING_CONFIG` (Triton batching
up to 32, the dynamic batcher, one CPU instance unless said otherwise).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openvino as ov
from openvino import opset13 as ops

from ovtriton_serve.examples import add_one, onnx_light_model

HANDWRITTEN = Path(__file__).resolve().parent / "handwritten"
MAX_BATCH_SIZE = 32
SERVING_CONFIG = (
    f"max_batch_size: {MAX_BATCH_SIZE}\n"
    "dynamic_batching { }\n"
    "instance_group [ { kind: KIND_CPU count: 1 } ]\n"
)

TINY = "tiny"
TINY_NUMPY = "tiny_numpy"
TINY_FEATURES = 16
LARGE_IO = "large_io"
LARGE_ELEMENTS = 4 * 1024 * 1024  # FP32: 16 MB


@dataclass(frozen=True)
class Contender:
    """One way of serving an image model: who serves it, in which config.

    Attributes:
        side: ``"ovtriton"``, ``"peer"`` or ``"naive"``.
        label: The config, as the tables show it.
        suffix: Appended to the image model's name to name this model.
        instances: ``instance_group`` count (0: leave it to the backend's default).
        parameters: ``config.pbtxt`` parameters (string values).
    """

    side: str
    label: str
    suffix: str = ""
    instances: int = 0
    parameters: tuple[tuple[str, str], ...] = ()

    def model(self, image: str) -> str:
        """This contender's model name for an image model."""
        return image + self.suffix


OVTRITON = Contender("ovtriton", "default config")
# The peer's configs (see ../shared/peers/README.md): its instances share one compiled
# model and each runs one synchronous request, so its concurrency is the instance count.
PEERS = (
    Contender("peer", "1 instance, no hint", "_peer_default", 1),
    Contender(
        "peer", "1 instance, LATENCY", "_peer_latency", 1, (("PERFORMANCE_HINT", "LATENCY"),)
    ),
    Contender(
        "peer", "2 instances, THROUGHPUT", "_peer_throughput", 2,
        (("PERFORMANCE_HINT", "THROUGHPUT"),),
    ),
    Contender(
        "peer", "2 instances, 1 single-thread stream", "_peer_single", 2,
        (("NUM_STREAMS", "1"), ("INFERENCE_NUM_THREADS", "1")),
    ),
)  # fmt: skip
NAIVES = (
    Contender("naive", "1 instance", "_naive1", 1),
    Contender("naive", "2 instances", "_naive2", 2),
)

_TRITON_TYPES = {
    np.dtype(np.float32): "TYPE_FP32",
    np.dtype(np.float16): "TYPE_FP16",
    np.dtype(np.int64): "TYPE_INT64",
    np.dtype(np.int32): "TYPE_INT32",
    np.dtype(np.uint8): "TYPE_UINT8",
}


@dataclass(frozen=True)
class TensorSpec:
    """A served tensor: name, Triton type and dims without the batch dimension."""

    name: str
    data_type: str
    dims: tuple[int, ...]

    def config_entry(self) -> str:
        """The ``config.pbtxt`` tensor entry."""
        dims = ", ".join(str(d) for d in self.dims)
        return f'{{ name: "{self.name}" data_type: {self.data_type} dims: [ {dims} ] }}'


@dataclass(frozen=True)
class ImageModel:
    """An ONNX image model served twice: by ovtriton and by the naive model.py."""

    name: str
    path: Path
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    @classmethod
    def from_onnx_wheel(cls, name: str) -> ImageModel:
        """An image model from the onnx wheel's light graphs, read with OpenVINO."""
        path = onnx_light_model(name)
        inputs, outputs = tensor_specs(ov.Core().read_model(str(path)))
        return cls(name, path, inputs, outputs)


@dataclass(frozen=True)
class Repository:
    """The folder Triton serves and what is in it."""

    root: Path
    images: tuple[ImageModel, ...]
    tiny: bool
    large_io: bool


def tensor_specs(
    model: ov.Model, batched: bool = True
) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
    """The model's inputs and outputs as Triton tensors.

    Batched (batch first, left out of ``dims``) or as the model declares them.
    """

    def spec(port: ov.Output) -> TensorSpec:
        shape = list(port.get_partial_shape())
        dims = tuple(d.get_length() if d.is_static else -1 for d in shape[1 if batched else 0 :])
        dtype = np.dtype(port.get_element_type().to_dtype())
        return TensorSpec(port.get_any_name(), _TRITON_TYPES[dtype], dims)

    return tuple(spec(p) for p in model.inputs), tuple(spec(p) for p in model.outputs)


def tiny_model(features: int = TINY_FEATURES) -> ov.Model:
    """``y = tanh(x * 0.5 + 1) * 2`` on ``[-1, features]`` FP32: a few elementwise ops."""
    x = ops.parameter([-1, features], ov.Type.f32, name="x")
    x.output(0).get_tensor().set_names({"x"})
    scaled = ops.add(ops.multiply(x, ops.constant(np.float32(0.5))), ops.constant(np.float32(1)))
    y = ops.multiply(ops.tanh(scaled), ops.constant(np.float32(2))).output(0)
    y.get_tensor().set_names({"y"})
    return ov.Model([y], [x], "tiny")


def tiny_reference(x: np.ndarray) -> np.ndarray:
    """What both tiny models compute, for checking their answers."""
    return np.tanh(x * np.float32(0.5) + np.float32(1)) * np.float32(2)


def add_ovtriton_model(
    root: Path, name: str, model: ov.Model | Path, serving: str = SERVING_CONFIG
) -> Path:
    """``root/name`` served by ovtriton (tensors auto-completed from the model)."""
    version = root / name / "1"
    version.mkdir(parents=True, exist_ok=True)
    if isinstance(model, Path):
        shutil.copyfile(model, version / f"model{model.suffix}")
    else:
        ov.save_model(model, version / "model.xml", compress_to_fp16=False)
    (root / name / "config.pbtxt").write_text(f'backend: "ovtriton"\n{serving}')
    return root / name


def parameters_text(parameters: Sequence[tuple[str, str]]) -> str:
    """``config.pbtxt`` ``parameters`` entries with string values."""
    return "".join(
        f'parameters: {{ key: "{key}" value: {{ string_value: "{value}" }} }}\n'
        for key, value in parameters
    )


def _tensor_entries(inputs: Sequence[TensorSpec], outputs: Sequence[TensorSpec]) -> str:
    return "".join(
        f"{kind} [\n  " + ",\n  ".join(t.config_entry() for t in tensors) + "\n]\n"
        for kind, tensors in (("input", inputs), ("output", outputs))
    )


def add_peer_model(root: Path, name: str, model: Path, contender: Contender) -> Path:
    """``root/name`` served by Triton's C++ OpenVINO backend in ``contender``'s config.

    ``max_batch_size: 0`` and the model's own shapes: the peer compiles a static
    batch of exactly ``max_batch_size`` otherwise (see ../shared/peers/README.md).
    """
    version = root / name / "1"
    version.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model, version / "model.onnx")
    inputs, outputs = tensor_specs(ov.Core().read_model(str(model)), batched=False)
    (root / name / "config.pbtxt").write_text(
        'backend: "openvino"\ndefault_model_filename: "model.onnx"\nmax_batch_size: 0\n'
        f"{_tensor_entries(inputs, outputs)}"
        f"instance_group [ {{ count: {contender.instances} kind: KIND_CPU }} ]\n"
        f"{parameters_text(contender.parameters)}"
    )
    return root / name


def add_python_model(
    root: Path,
    name: str,
    source: Path,
    inputs: Sequence[TensorSpec],
    outputs: Sequence[TensorSpec],
    files: Sequence[Path] = (),
    instances: int = 1,
    parameters: Sequence[tuple[str, str]] = (),
) -> Path:
    """``root/name`` served by Triton's Python backend with ``source`` as its model.py."""
    version = root / name / "1"
    version.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, version / "model.py")
    for file in files:
        shutil.copyfile(file, version / f"model{file.suffix}")
    serving = SERVING_CONFIG.replace("count: 1", f"count: {instances}")
    (root / name / "config.pbtxt").write_text(
        f'backend: "python"\n{serving}{_tensor_entries(inputs, outputs)}'
        f"{parameters_text(parameters)}"
    )
    return root / name


def build_repository(
    root: Path,
    image_models: Sequence[str],
    rivals: Sequence[Contender] = (),
    tiny: bool = True,
    large_io: bool = True,
    ovtriton_serving: str = "",
    naive_parameters: Sequence[tuple[str, str]] = (),
) -> Repository:
    """Write the repository for the models a benchmark plan needs.

    Args:
        root: The repository folder (created).
        image_models: ONNX models from the onnx wheel, served by ovtriton.
        rivals: The peer and naive configs each image model also gets.
        tiny: Add ``tiny`` and ``tiny_numpy``.
        large_io: Add ``large_io``.
        ovtriton_serving: More ``config.pbtxt`` text for ovtriton's image models
            (default none: ovtriton's default config).
        naive_parameters: ``config.pbtxt`` parameters of the naive models (the
            precision, see ``benchmarks.machine.precision_properties``).
    """
    root.mkdir(parents=True, exist_ok=True)
    images = tuple(ImageModel.from_onnx_wheel(name) for name in image_models)
    for image in images:
        add_ovtriton_model(root, image.name, image.path, ovtriton_serving)
        for rival in rivals:
            if rival.side == "peer":
                add_peer_model(root, rival.model(image.name), image.path, rival)
            else:
                add_python_model(
                    root,
                    rival.model(image.name),
                    HANDWRITTEN / "naive_openvino.py",
                    image.inputs,
                    image.outputs,
                    files=[image.path],
                    instances=rival.instances,
                    parameters=naive_parameters,
                )
    if tiny:
        model = tiny_model()
        add_ovtriton_model(root, TINY, model)
        inputs, outputs = tensor_specs(model)
        add_python_model(root, TINY_NUMPY, HANDWRITTEN / "minimal_numpy.py", inputs, outputs)
    if large_io:
        add_ovtriton_model(root, LARGE_IO, add_one((-1, LARGE_ELEMENTS)))
    return Repository(root, images, tiny, large_io)
