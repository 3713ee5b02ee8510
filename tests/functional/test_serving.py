"""The ovtriton backend on a real Triton server, over HTTP and gRPC."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import numpy as np
import openvino as ov
import pytest

from ovtriton_serve.examples import EXAMPLE_MODELS
from tests.functional.clients import (
    PROTOCOLS,
    client,
    error_of,
    infer,
    model_config,
    model_metadata,
    status_of,
)
from tests.functional.serving import Serve
from tests.support.models import scaled

pytestmark = pytest.mark.functional
RNG = np.random.default_rng(7)

EXAMPLE_INPUTS: dict[str, dict[str, tuple[int, ...]]] = {
    "classifier": {"image": (3, 3, 224, 224)},
    "two_io": {"a": (2, 4), "b": (2, 4)},
    "dynamic_sequence": {"tokens": (2, 5, 8)},
    "add_one": {"x": (4, 16)},
    "resnet50": {"gpu_0/data_0": (2, 3, 224, 224)},
}


def openvino_reference(
    model: ov.Model | Path, inputs: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """What OpenVINO itself computes, sample by sample for fixed-batch models."""
    core = ov.Core()
    read = core.read_model(model) if isinstance(model, Path) else model
    batch = read.inputs[0].get_partial_shape()[0]
    rows = len(next(iter(inputs.values())))
    if batch.is_static and rows != batch.get_length():
        # A fixed-batch model: run each sample, as the backend splits them.
        results = [
            openvino_reference(model, {k: v[i : i + 1] for k, v in inputs.items()})
            for i in range(rows)
        ]
        return {k: np.concatenate([r[k] for r in results]) for k in results[0]}
    compiled = core.compile_model(read, "CPU", {"PERFORMANCE_HINT": "THROUGHPUT"})
    outputs = compiled(inputs)
    return {port.get_any_name(): outputs[port] for port in compiled.outputs}


def example_model(repository: Path, name: str) -> ov.Model | Path:
    """The model ``name`` serves: built in code, or resnet50's random-weight ONNX file."""
    if name == "resnet50":
        return repository / "resnet50" / "1" / "model.onnx"
    return EXAMPLE_MODELS[name]()


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("model", sorted(EXAMPLE_INPUTS))
def test_outputs_equal_openvino(
    example_server: Serve, example_repository: Path, protocol: str, model: str
) -> None:
    inputs = {n: RNG.random(s, dtype=np.float32) for n, s in EXAMPLE_INPUTS[model].items()}
    served = infer(protocol, example_server, model, inputs)
    expected = openvino_reference(example_model(example_repository, model), inputs)
    assert served.keys() == expected.keys()
    for name, value in expected.items():
        np.testing.assert_allclose(served[name], value, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_auto_completed_config(example_server: Serve, protocol: str) -> None:
    config = model_config(protocol, example_server, "classifier")
    assert int(config["max_batch_size"]) == 32
    assert "dynamic_batching" in config
    [image] = config["input"]
    assert (image["name"], image["data_type"]) == ("image", "TYPE_FP32")
    assert [int(d) for d in image["dims"]] == [3, 224, 224]
    [probabilities] = config["output"]
    assert [int(d) for d in probabilities["dims"]] == [10]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_metadata_keeps_names_with_slashes(example_server: Serve, protocol: str) -> None:
    metadata = model_metadata(protocol, example_server, "resnet50")
    assert metadata["gpu_0/data_0"] == ("FP32", [-1, 3, 224, 224])


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_bad_request_gets_400_and_server_carries_on(example_server: Serve, protocol: str) -> None:
    wrong_dtype = {"x": np.ones((1, 16), dtype=np.int32)}
    error = error_of(protocol, example_server, "add_one", wrong_dtype)
    assert status_of(protocol, error) in ("400", "StatusCode.INVALID_ARGUMENT")
    assert "INT32" in str(error) and "FP32" in str(error)
    good = infer(protocol, example_server, "add_one", {"x": np.zeros((1, 16), np.float32)})
    np.testing.assert_array_equal(good["y"], np.ones((1, 16), np.float32))


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_postponed_return_sends_only_requested_output(example_server: Serve, protocol: str) -> None:
    inputs = {"a": np.ones((1, 4), np.float32), "b": np.full((1, 4), 3, np.float32)}
    served = infer(protocol, example_server, "two_io", inputs, outputs=["product"])
    assert list(served) == ["product"]
    np.testing.assert_array_equal(served["product"], np.full((1, 4), 3, np.float32))


def _scalar_and_aliases() -> ov.Model:
    from openvino import opset13 as ops

    x = ops.parameter([], ov.Type.f32, name="x")
    x.output(0).get_tensor().set_names({"x"})
    y = ops.multiply(x, ops.constant(np.float32(2)))
    y.output(0).get_tensor().set_names({"y", "y_alias"})
    return ov.Model([y], [x], "scalar")


SERVABLE_TYPES = (
    "f32",
    "f16",
    "f64",
    "i8",
    "i16",
    "i32",
    "i64",
    "u8",
    "u16",
    "u32",
    "u64",
    "boolean",
)


def _all_types() -> ov.Model:
    from openvino import opset13 as ops

    params, results = [], []
    for name in SERVABLE_TYPES:
        p = ops.parameter([-1, 3], getattr(ov.Type, name), name=f"in_{name}")
        p.output(0).get_tensor().set_names({f"in_{name}"})
        flipped = ops.gather(
            p, ops.constant(np.array([2, 1, 0], np.int64)), ops.constant(np.int64(1))
        )
        flipped.output(0).get_tensor().set_names({f"out_{name}"})
        params.append(p)
        results.append(flipped.output(0))
    return ov.Model(results, params, "all_types")


def _bf16_scaled() -> ov.Model:
    from openvino import opset13 as ops

    x = ops.parameter([-1, 3], ov.Type.bf16, name="x")
    x.output(0).get_tensor().set_names({"x"})
    y = ops.multiply(x, ops.convert(ops.constant(np.float32(2)), "bf16"))
    y.output(0).get_tensor().set_names({"y"})
    return ov.Model([y], [x], "bf16")


def _string_gather() -> ov.Model:
    """Reverses a batch of strings: BYTES in, BYTES out."""
    from openvino import opset13 as ops

    s = ops.parameter([-1], ov.Type.string, name="s")
    s.output(0).get_tensor().set_names({"s"})
    reversed_order = ops.constant(np.array([1, 0], np.int64))
    t = ops.gather(s, reversed_order, ops.constant(np.int64(0)))
    t.output(0).get_tensor().set_names({"t"})
    return ov.Model([t.output(0)], [s], "strings")


@pytest.fixture(scope="module")
def special_server(tmp_path_factory: pytest.TempPathFactory):
    from tests.functional.serving import add_model

    repository = tmp_path_factory.mktemp("special")
    add_model(repository, "scalar", _scalar_and_aliases())
    add_model(repository, "all_types", _all_types())
    add_model(repository, "vector", scaled([-1]))
    add_model(repository, "bf16", _bf16_scaled())
    add_model(repository, "strings", _string_gather())
    two_versions = repository / "versioned"
    for version, offset in ((1, 1.0), (2, 2.0)):
        from ovtriton_serve.examples import add_one

        model = add_one()
        (two_versions / str(version)).mkdir(parents=True)
        if offset != 1.0:
            from openvino import opset13 as ops

            x = ops.parameter([-1, 16], ov.Type.f32, name="x")
            x.output(0).get_tensor().set_names({"x"})
            y = ops.add(x, ops.constant(np.float32(offset)))
            y.output(0).get_tensor().set_names({"y"})
            model = ov.Model([y], [x], "add_two")
        ov.save_model(model, two_versions / str(version) / "model.xml", compress_to_fp16=False)
    (two_versions / "config.pbtxt").write_text('backend: "ovtriton"\nversion_policy: { all: {} }\n')
    with Serve(repository) as server:
        assert "ovtriton: server ready" in server.output, server.output[-3000:]
        yield server


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_scalar_tensors_and_several_names(special_server: Serve, protocol: str) -> None:
    # Triton cannot declare rank 0 without `reshape`: scalars are served as shape [1].
    assert model_metadata(protocol, special_server, "scalar")["x"] == ("FP32", [1])
    served = infer(protocol, special_server, "scalar", {"x": np.array([3.5], np.float32)})
    [(name, value)] = served.items()
    assert name in ("y", "y_alias")
    np.testing.assert_array_equal(value, np.array([7.0], np.float32))


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_rank_one_dynamic_tensor_is_served_unbatched(special_server: Serve, protocol: str) -> None:
    assert int(model_config(protocol, special_server, "vector").get("max_batch_size", 0)) == 0
    x = np.arange(5, dtype=np.float32)
    np.testing.assert_array_equal(infer(protocol, special_server, "vector", {"x": x})["y"], x * 2)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_element_type_round_trips(special_server: Serve, protocol: str) -> None:
    inputs = {}
    for name in SERVABLE_TYPES:
        dtype = getattr(ov.Type, name).to_dtype()
        inputs[f"in_{name}"] = (np.arange(6).reshape(2, 3) % 2).astype(dtype)
    served = infer(protocol, special_server, "all_types", inputs)
    for name in SERVABLE_TYPES:
        expected = inputs[f"in_{name}"][:, ::-1]
        assert served[f"out_{name}"].dtype == expected.dtype
        np.testing.assert_array_equal(served[f"out_{name}"], expected)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_bf16_tensors_are_served_as_fp32(special_server: Serve, protocol: str) -> None:
    metadata = model_metadata(protocol, special_server, "bf16")
    assert metadata["x"] == ("FP32", [-1, 3]) and metadata["y"] == ("FP32", [-1, 3])
    x = np.array([[1.5, 2.25, -3.0], [0.5, 8.0, 0.125]], np.float32)  # exact in BF16
    np.testing.assert_array_equal(infer(protocol, special_server, "bf16", {"x": x})["y"], x * 2)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_string_tensors_are_served_as_bytes(special_server: Serve, protocol: str) -> None:
    metadata = model_metadata(protocol, special_server, "strings")
    assert metadata["s"] == ("BYTES", [-1]) and metadata["t"] == ("BYTES", [2])
    words = np.array([b"open", "vino \u00e9".encode()], dtype=np.object_)
    served = infer(protocol, special_server, "strings", {"s": words})["t"]
    assert list(served) == [words[1], words[0]]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_version_serves(special_server: Serve, protocol: str) -> None:
    x = np.zeros((1, 16), np.float32)
    for version, offset in (("1", 1.0), ("2", 2.0)):
        served = infer(protocol, special_server, "versioned", {"x": x}, version=version)
        np.testing.assert_array_equal(served["y"], x + offset)


def test_broken_models_fail_with_a_message_while_others_serve(tmp_path: Path) -> None:
    from ovtriton_serve.examples import add_one
    from tests.functional.serving import add_model

    add_model(tmp_path, "good", add_one())
    corrupt = add_model(tmp_path, "corrupt_xml", add_one())
    (corrupt / "1" / "model.xml").write_text("<net><this is not IR")
    (tmp_path / "missing_file" / "1").mkdir(parents=True)
    (tmp_path / "missing_file" / "config.pbtxt").write_text('backend: "ovtriton"\n')
    add_model(
        tmp_path,
        "unknown_parameter",
        add_one(),
        'parameters: { key: "batch_sise" value: { string_value: "4" } }',
    )
    add_model(
        tmp_path, "escaping_file", add_one(), 'default_model_filename: "../../good/1/model.xml"'
    )
    with Serve(tmp_path, ["--exit-on-error=false"]) as server:
        assert "some models failed to load" in server.output
        index = {m["name"]: m for m in client("http", server).get_model_repository_index()}
        assert index["good"]["state"] == "READY"
        reasons = {name: index[name].get("reason", "") for name in index if name != "good"}
        assert "could not read" in reasons["corrupt_xml"], reasons
        assert "no model file" in reasons["missing_file"], reasons
        assert "batch_sise" in reasons["unknown_parameter"], reasons
        assert "known parameters are" in reasons["unknown_parameter"], reasons
        assert "default_model_filename" in reasons["escaping_file"], reasons
        served = infer("http", server, "good", {"x": np.zeros((1, 16), np.float32)})
        np.testing.assert_array_equal(served["y"], np.ones((1, 16), np.float32))


def test_metrics_endpoint_answers(example_server: Serve) -> None:
    with urllib.request.urlopen(example_server.metrics_url, timeout=10) as reply:
        assert b"nv_inference_request_success" in reply.read()


def test_config_contradicting_model_names_the_tensor(tmp_path: Path) -> None:
    from ovtriton_serve.examples import add_one
    from tests.functional.serving import add_model

    add_model(tmp_path, "good", add_one())
    add_model(
        tmp_path,
        "contradicts",
        add_one(),
        'max_batch_size: 8\ninput [{ name: "x" data_type: TYPE_FP32 dims: [ 17 ] }]',
    )
    add_model(
        tmp_path,
        "extra_input",
        add_one(),
        'max_batch_size: 8\ninput [{ name: "nope" data_type: TYPE_FP32 dims: [ 16 ] }]',
    )
    with Serve(tmp_path, ["--exit-on-error=false"]) as server:
        index = {m["name"]: m for m in client("http", server).get_model_repository_index()}
        assert "'x'" in index["contradicts"]["reason"] and "17" in index["contradicts"]["reason"]
        assert "'nope'" in index["extra_input"]["reason"]
        assert index["good"]["state"] == "READY"
