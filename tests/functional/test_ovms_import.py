"""A converted OVMS deployment on the real server.

Names, shapes and versions as OVMS serves them, results equal to OpenVINO's own, and
``serve --ovms-config`` cleaning up after itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import openvino as ov
import pytest
import tritonclient.http as httpclient
from openvino import opset13 as ops

from ovtriton_serve.ovms_import import import_ovms
from ovtriton_serve.server.stubs import SHM_REGION_MARK, is_alive
from tests.functional.clients import PROTOCOLS, infer
from tests.functional.serving import Serve, add_model, descendants
from tests.support.models import scaled

pytestmark = pytest.mark.functional

CORE = ov.Core()
SCALE_FACTORS = {1: 2.0, 2: 3.0, 3: 4.0}
CHANNEL_WEIGHTS = np.array([1.0, 2.0, 3.0], np.float32).reshape(1, 3, 1, 1)


def channels() -> ov.Model:
    """NCHW 1x3x2x2, each channel times its own weight: the result depends on the layout."""
    x = ops.parameter([1, 3, 2, 2], ov.Type.f32, name="x")
    x.output(0).get_tensor().set_names({"x"})
    y = ops.multiply(x, ops.constant(CHANNEL_WEIGHTS))
    y.output(0).get_tensor().set_names({"y"})
    return ov.Model([y], [x], "channels")


def two_outputs() -> ov.Model:
    """``doubled = 2x`` and ``shifted = x + 1``: a pipeline may read just one of them."""
    x = ops.parameter([1, 4], ov.Type.f32, name="x")
    x.output(0).get_tensor().set_names({"x"})
    doubled = ops.multiply(x, ops.constant(np.float32(2)))
    doubled.output(0).get_tensor().set_names({"doubled"})
    shifted = ops.add(x, ops.constant(np.float32(1)))
    shifted.output(0).get_tensor().set_names({"shifted"})
    return ov.Model([doubled, shifted], [x], "two_outputs")


def save(model: ov.Model, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(model, path, compress_to_fp16=False)
    return path


def openvino_result(path: Path, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """What OpenVINO itself computes from the model file (first output)."""
    compiled = CORE.compile_model(str(path), "CPU")
    return np.asarray(compiled(inputs)[compiled.output(0)])


def write_ovms_deployment(root: Path) -> Path:
    """An OVMS layout and config.json, written as OVMS's documentation describes them."""
    for version, factor in SCALE_FACTORS.items():
        save(scaled([1, 4], factor=factor), root / "models" / "scale" / str(version) / "dummy.xml")
    save(scaled([1, -1], factor=5.0), root / "models" / "renamed" / "1" / "model.xml")
    (root / "models" / "renamed" / "1" / "mapping_config.json").write_text(
        json.dumps({"inputs": {"x": "input_image"}, "outputs": {"y": "scores"}})
    )
    save(channels(), root / "flat" / "channels.xml")
    save(two_outputs(), root / "models" / "two" / "1" / "model.xml")
    config = {
        "model_config_list": [
            {
                "config": {
                    "name": "scale",
                    "base_path": "models/scale",
                    "model_version_policy": {"latest": {"num_versions": 2}},
                    "nireq": 2,
                    "plugin_config": {"NUM_STREAMS": 1, "PERF_COUNT": False},
                }
            },
            # shape's JSON key is the mapped name, as OVMS requires.
            {
                "config": {
                    "name": "renamed",
                    "base_path": "models/renamed",
                    "shape": {"input_image": "(1,4)"},
                }
            },
            {"config": {"name": "single", "base_path": "flat/channels.xml", "layout": "nhwc:nchw"}},
            {"config": {"name": "two", "base_path": "models/two"}},
        ],
        "pipeline_config_list": [
            {
                "name": "pipe",
                "inputs": ["data"],
                "nodes": [
                    {
                        "name": "first",
                        "model_name": "scale",
                        "version": 2,
                        "type": "DL model",
                        "inputs": [{"x": {"node_name": "request", "data_item": "data"}}],
                        "outputs": [{"data_item": "y", "alias": "scaled"}],
                    },
                    {
                        "name": "second",
                        "model_name": "renamed",
                        "type": "DL model",
                        "inputs": [{"input_image": {"node_name": "first", "data_item": "scaled"}}],
                        "outputs": [{"data_item": "scores", "alias": "final"}],
                    },
                ],
                "outputs": [
                    {"result": {"node_name": "second", "data_item": "final"}},
                    {"intermediate": {"node_name": "first", "data_item": "scaled"}},
                ],
            },
            # A node output nothing reads ("shifted"): Triton refuses an unused ensemble
            # tensor, so the conversion must leave it out.
            {
                "name": "partial",
                "inputs": ["data"],
                "nodes": [
                    {
                        "name": "only",
                        "model_name": "two",
                        "type": "DL model",
                        "inputs": [{"x": {"node_name": "request", "data_item": "data"}}],
                        "outputs": [
                            {"data_item": "doubled", "alias": "d"},
                            {"data_item": "shifted", "alias": "s"},
                        ],
                    }
                ],
                "outputs": [{"doubled": {"node_name": "only", "data_item": "d"}}],
            },
        ],
    }
    path = root / "config.json"
    path.write_text(json.dumps(config, indent=2))
    return path


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_ovms_deployment(tmp_path_factory.mktemp("ovms"))


@pytest.fixture(scope="module")
def converted(deployment: Path) -> Iterator[Serve]:
    repository = deployment.parent / "repository"
    import_ovms(deployment, repository)
    with Serve(repository) as server:
        assert server.ready, server.errors()
        yield server


def metadata(server: Serve, model: str, version: str = "") -> dict[str, Any]:
    client = httpclient.InferenceServerClient(server.http_url)
    return dict(client.get_model_metadata(model, model_version=version))


def tensors(meta: dict[str, Any], kind: str) -> list[tuple[str, str, list[int]]]:
    return [(t["name"], t["datatype"], t["shape"]) for t in meta[kind]]


def test_versions_follow_ovms_version_policy(converted: Serve) -> None:
    assert sorted(metadata(converted, "scale")["versions"]) == ["2", "3"]
    index = httpclient.InferenceServerClient(converted.http_url).get_model_repository_index(
        headers=converted.admin_headers()  # an administrative API: it needs the key
    )
    ready = {(m["name"], m.get("version")) for m in index if m.get("state") == "READY"}
    assert {
        ("scale", "2"),
        ("scale", "3"),
        ("renamed", "1"),
        ("single", "1"),
        ("pipe", "1"),
    } <= ready
    assert ("scale", "1") not in ready


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("version", ["2", "3", ""])
def test_each_version_answers_like_openvino(
    converted: Serve, deployment: Path, protocol: str, version: str
) -> None:
    data = np.random.default_rng(int(version or 0)).standard_normal((1, 4)).astype(np.float32)
    served = infer(protocol, converted, "scale", {"x": data}, version=version)["y"]
    model_file = deployment.parent / "models" / "scale" / (version or "3") / "dummy.xml"
    np.testing.assert_allclose(served, openvino_result(model_file, {"x": data}), rtol=1e-6)


def test_renamed_tensors_are_served_under_the_mapped_names(converted: Serve) -> None:
    meta = metadata(converted, "renamed")
    # The original [1,-1] model, reshaped by shape's mapped key to (1,4).
    assert tensors(meta, "inputs") == [("input_image", "FP32", [-1, 4])]
    assert tensors(meta, "outputs") == [("scores", "FP32", [-1, 4])]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_renamed_model_answers_like_openvino(
    converted: Serve, deployment: Path, protocol: str
) -> None:
    data = np.arange(8, dtype=np.float32).reshape(2, 4) - 3
    served = infer(protocol, converted, "renamed", {"input_image": data})
    model_file = deployment.parent / "models" / "renamed" / "1" / "model.xml"
    expected = np.concatenate([openvino_result(model_file, {"x": row[None]}) for row in data])
    np.testing.assert_allclose(served["scores"], expected, rtol=1e-6)


def test_single_file_model_with_a_lower_case_layout(converted: Serve, deployment: Path) -> None:
    assert tensors(metadata(converted, "single"), "inputs") == [("x", "FP32", [-1, 2, 2, 3])]
    nhwc = np.random.default_rng(7).standard_normal((1, 2, 2, 3)).astype(np.float32)
    served = infer("http", converted, "single", {"x": nhwc})["y"]
    expected = openvino_result(
        deployment.parent / "flat" / "channels.xml", {"x": nhwc.transpose(0, 3, 1, 2)}
    )
    np.testing.assert_allclose(served, expected, rtol=1e-6)


def test_the_pipeline_is_served_under_its_names(converted: Serve) -> None:
    meta = metadata(converted, "pipe")
    assert meta["platform"] == "ensemble"
    assert tensors(meta, "inputs") == [("data", "FP32", [-1, 4])]
    assert sorted(tensors(meta, "outputs")) == [
        ("intermediate", "FP32", [-1, 4]),
        ("result", "FP32", [-1, 4]),
    ]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_the_pipeline_answers_like_its_two_models_in_openvino(
    converted: Serve, deployment: Path, protocol: str
) -> None:
    data = np.random.default_rng(3).standard_normal((1, 4)).astype(np.float32)
    served = infer(protocol, converted, "pipe", {"data": data})
    models = deployment.parent / "models"
    first = openvino_result(models / "scale" / "2" / "dummy.xml", {"x": data})  # pinned version
    second = openvino_result(models / "renamed" / "1" / "model.xml", {"x": first})
    np.testing.assert_allclose(served["intermediate"], first, rtol=1e-6)
    np.testing.assert_allclose(served["result"], second, rtol=1e-6)


def test_a_pipeline_reading_one_of_two_outputs(converted: Serve, deployment: Path) -> None:
    data = np.random.default_rng(5).standard_normal((1, 4)).astype(np.float32)
    served = infer("grpc", converted, "partial", {"data": data})
    assert list(served) == ["doubled"]
    expected = openvino_result(
        deployment.parent / "models" / "two" / "1" / "model.xml", {"x": data}
    )
    np.testing.assert_allclose(served["doubled"], expected, rtol=1e-6)


def test_serve_ovms_config_serves_and_cleans_up(deployment: Path) -> None:
    server = Serve(Path("unused"))
    at = server.command.index("--model-repository")
    server.command[at : at + 2] = ["--ovms-config", str(deployment)]
    server.start()
    try:
        assert server.ready, server.errors()
        found = re.search(r"converted into (\S+) \(removed when the server stops\)", server.output)
        assert found, server.output[-2000:]
        repository = Path(found.group(1))
        assert (repository / "pipe" / "config.pbtxt").is_file()
        data = np.ones((1, 4), np.float32)
        served = infer("http", server, "pipe", {"data": data})
        np.testing.assert_allclose(served["result"], data * 3 * 5)
        assert server.process is not None
        family = descendants(server.process.pid)
        regions = [a for _, argv in family for a in argv if SHM_REGION_MARK in a]
        assert regions
    finally:
        assert server.stop() == 0
    assert not repository.exists()
    assert not repository.parent.exists()  # the temporary folder around it too
    assert not [pid for pid, _ in family if is_alive(pid)]
    assert not [r for r in regions if (Path("/dev/shm") / r).exists()]


def test_serve_ovms_config_refuses_an_unconvertible_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))  # where the command makes its repository
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"model_config_list": [{"config": {"name": "g"}}]}))
    server = Serve(Path("unused"))
    at = server.command.index("--model-repository")
    server.command[at : at + 2] = ["--ovms-config", str(config)]
    server.start()
    assert server.wait() == 2
    assert "model 'g': option 'base_path' cannot be converted" in server.output
    assert not list(scratch.glob("ovtriton-ovms-*"))


def test_a_mapping_that_does_not_fit_fails_the_load_by_name(tmp_path: Path) -> None:
    """The backend honours mapping_config.json in any repository, and refuses a bad one."""
    add_model(tmp_path, "good", scaled([1, 4]))
    (tmp_path / "good" / "1" / "mapping_config.json").write_text('{"inputs": {"x": "in"}}')
    add_model(tmp_path, "bad", scaled([1, 4]))
    (tmp_path / "bad" / "1" / "mapping_config.json").write_text('{"inputs": {"nope": "in"}}')
    with Serve(tmp_path, extra=["--exit-on-error=false"]) as server:
        index = httpclient.InferenceServerClient(server.http_url).get_model_repository_index(
            headers=server.admin_headers()  # an administrative API: it needs the key
        )
        reasons = {m["name"]: m.get("reason", "") for m in index}
        assert "mapping_config.json" in reasons["bad"] and "nope" in reasons["bad"], reasons
        assert tensors(metadata(server, "good"), "inputs") == [("in", "FP32", [-1, 4])]
        data = np.arange(4, dtype=np.float32).reshape(1, 4)
        np.testing.assert_allclose(infer("http", server, "good", {"in": data})["y"], data * 2)
