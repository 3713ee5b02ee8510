"""OVMS's layout / shape / batch_size rules on the real server."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import openvino as ov
import pytest

from ovtriton_serve.examples import classifier
from tests.functional.clients import (
    INVALID,
    PROTOCOLS,
    client,
    error_of,
    infer,
    metric,
    model_config,
    model_metadata,
    status_of,
)
from tests.functional.serving import Serve, add_model, param
from tests.support.models import scaled

pytestmark = pytest.mark.functional
BROKEN = {
    "bad_batch_size": ("batch_size", "9..30"),
    "bad_shape": ("shape", "(1,2,3,4]"),
    "bad_layout": ("layout", "nc::nc"),
    "bad_nireq": ("nireq", "100001"),
    "bad_plugin_config": ("plugin_config", "{not json"),
    "unknown_device": ("target_device", "NPU"),
    "rank_mismatch": ("layout", "NCHWD"),
    "unreshapable": ("shape", "(1,3)"),
}


@pytest.fixture(scope="module")
def rules_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    repository = tmp_path_factory.mktemp("rules")
    add_model(repository, "nhwc", classifier(), param("layout", "NHWC:NCHW"))
    add_model(repository, "batch_auto", scaled([2, 3]), param("batch_size", "auto"))
    add_model(repository, "shape_auto", scaled([1, 3]), param("shape", "auto"))
    add_model(repository, "cn", scaled([3, 1]), param("layout", "CN") + param("batch_size", "1:4"))
    add_model(repository, "output_layout", scaled([4, 2]), param("layout", '{"y": "CN:NC"}'))
    add_model(repository, "ranged", classifier(), param("shape", "(1:4,3,224,224)"))
    add_model(
        repository,
        "dynamic_batching",
        scaled([-1, 3]),
        "max_batch_size: 16\ndynamic_batching { max_queue_delay_microseconds: 20000 }",
    )
    add_model(
        repository,
        "tuned",
        scaled([-1, 3]),
        param("plugin_config", '{"PERFORMANCE_HINT": "LATENCY"}')
        + param("INFERENCE_NUM_THREADS", "1")
        + param("nireq", "3")
        + param("cache_dir", str(repository / "ov_cache")),
    )
    for name, (key, value) in BROKEN.items():
        add_model(repository, name, classifier(), param(key, value))
    with Serve(repository, ["--exit-on-error=false"]) as server:
        assert "ovtriton: server live" in server.output, server.output[-3000:]
        yield server


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_nhwc_layout_serves_transposed_and_matches_openvino(
    rules_server: Serve, protocol: str
) -> None:
    assert model_metadata(protocol, rules_server, "nhwc")["image"] == ("FP32", [-1, 224, 224, 3])
    nchw = np.random.default_rng(1).random((2, 3, 224, 224), dtype=np.float32)
    served = infer(protocol, rules_server, "nhwc", {"image": nchw.transpose(0, 2, 3, 1).copy()})
    compiled = ov.Core().compile_model(classifier(), "CPU", {"PERFORMANCE_HINT": "THROUGHPUT"})
    expected = np.concatenate([compiled(nchw[i : i + 1])[0] for i in range(2)])
    np.testing.assert_allclose(served["probabilities"], expected, rtol=1e-5, atol=1e-6)


def test_batch_auto_compiles_each_batch_once(rules_server: Serve) -> None:
    before = metric(rules_server, "compile", "batch_auto")
    for batch in (1, 8, 1, 8):
        x = np.arange(batch * 3, dtype=np.float32).reshape(batch, 3)
        np.testing.assert_array_equal(
            infer("http", rules_server, "batch_auto", {"x": x})["y"], x * 2
        )
    assert metric(rules_server, "compile", "batch_auto") - before == 2
    assert metric(rules_server, "hit", "batch_auto") >= 2


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_shape_auto_serves_any_shape(rules_server: Serve, protocol: str) -> None:
    assert model_metadata(protocol, rules_server, "shape_auto")["x"] == ("FP32", [-1, -1])
    for shape in ((1, 3), (2, 7), (5, 1)):
        x = np.ones(shape, np.float32)
        np.testing.assert_array_equal(
            infer(protocol, rules_server, "shape_auto", {"x": x})["y"], x * 2
        )


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_cn_layout_takes_the_batch_at_position_one(rules_server: Serve, protocol: str) -> None:
    assert int(model_config(protocol, rules_server, "cn").get("max_batch_size", 0)) == 0
    assert model_metadata(protocol, rules_server, "cn")["x"] == ("FP32", [3, -1])
    x = np.ones((3, 4), np.float32)
    np.testing.assert_array_equal(infer(protocol, rules_server, "cn", {"x": x})["y"], x * 2)
    error = error_of(protocol, rules_server, "cn", {"x": np.ones((3, 5), np.float32)})
    assert status_of(protocol, error) in INVALID
    assert "Invalid input batch size - Expected: [1~4]; Actual: 5; input name: x" in str(error)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_output_layout_transposes_the_output(rules_server: Serve, protocol: str) -> None:
    assert model_metadata(protocol, rules_server, "output_layout")["y"] == ("FP32", [2, 4])
    x = np.arange(8, dtype=np.float32).reshape(4, 2)
    served = infer(protocol, rules_server, "output_layout", {"x": x})
    np.testing.assert_array_equal(served["y"], (x * 2).T)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_range_rejects_batch_outside_with_ovms_message(rules_server: Serve, protocol: str) -> None:
    images = np.zeros((5, 3, 224, 224), np.float32)
    error = error_of(protocol, rules_server, "ranged", {"image": images})
    assert status_of(protocol, error) in INVALID
    assert "Invalid input batch size - Expected: [1~4]; Actual: 5; input name: image" in str(error)
    served = infer(protocol, rules_server, "ranged", {"image": images[:3]})
    assert served["probabilities"].shape == (3, 10)


def test_invalid_parameters_fail_their_load_with_a_clear_message(rules_server: Serve) -> None:
    index = {m["name"]: m for m in client("http", rules_server).get_model_repository_index()}
    for name, (key, value) in BROKEN.items():
        assert index[name]["state"] == "UNAVAILABLE", name
        reason = index[name].get("reason", "")
        if key == "target_device":
            assert "NPU" in reason, reason
        elif name == "unreshapable":
            assert "Model could not be reshaped with requested shape" in reason, reason
        else:
            assert f"'{key}'" in reason and value in reason, reason
    assert "The provided layout is in wrong format" in index["bad_layout"]["reason"]
    assert "layout incompatible with shape" in index["rank_mismatch"]["reason"]
    for good in ("nhwc", "batch_auto", "tuned", "dynamic_batching"):
        assert index[good]["state"] == "READY", index[good]


def test_plugin_config_nireq_and_cache_dir(rules_server: Serve) -> None:
    x = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(infer("grpc", rules_server, "tuned", {"x": x})["y"], x * 2)
    assert re.search(
        r"model tuned from .* compiled for CPU in [\d.]+ s \(nireq 3,", rules_server.output
    )
    assert any((rules_server.repository / "ov_cache").iterdir())


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_dynamic_batching_returns_each_request_its_rows(rules_server: Serve, protocol: str) -> None:
    results: dict[int, np.ndarray] = {}
    inputs = {i: np.full((1 + i % 4, 3), i, dtype=np.float32) for i in range(24)}

    def send(i: int) -> None:
        results[i] = infer(protocol, rules_server, "dynamic_batching", {"x": inputs[i]})["y"]

    threads = [threading.Thread(target=send, args=(i,)) for i in inputs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == sorted(inputs)
    for i, x in inputs.items():
        np.testing.assert_array_equal(results[i], x * 2)


def test_serving_logs_warn_when_shape_and_batch_size_are_both_set(tmp_path: Path) -> None:
    add_model(tmp_path, "both", scaled([1, 3]), param("shape", "(2,3)") + param("batch_size", "8"))
    with Serve(tmp_path) as server:
        assert (
            "Both shape and batch size have been defined. Batch size parameter will be ignored."
            in server.output
        )
        assert model_metadata("http", server, "both")["x"] == ("FP32", [-1, 3])
