"""On the real server: what each OVMS rule serves, accepts and refuses.

One server holds a model per rule. Each test reads the served metadata and config
through tritonclient and sends requests that the rule must accept (answers checked
against the model's own arithmetic) or refuse (OVMS's message, INVALID_ARGUMENT).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import openvino as ov
import pytest
from openvino import opset13 as ops

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
from tests.support.models import identity, scaled, two_inputs

pytestmark = pytest.mark.functional
RNG = np.random.default_rng(33)


def with_layout_in_runtime_info(model: ov.Model, layout: str) -> ov.Model:
    """``model`` whose only input carries ``layout`` in the file's runtime info."""
    model.get_parameters()[0].set_layout(ov.Layout(layout))
    return model


def scalar_model() -> ov.Model:
    x = ops.parameter([], ov.Type.f32, name="s")
    x.output(0).get_tensor().set_names({"s"})
    y = ops.multiply(x, ops.constant(np.float32(2)))
    y.output(0).get_tensor().set_names({"y"})
    return ov.Model([y], [x], "scalar")


# name: (model, config, served metadata of x or a, max_batch_size)
SERVED: dict[str, tuple[ov.Model, str, list[int], int]] = {
    "batch_fixed": (scaled([1, 3]), param("batch_size", "4"), [-1, 3], 32),
    "batch_any": (scaled([1, 3]), param("batch_size", "-1"), [-1, 3], 32),
    "batch_range": (scaled([1, 3]), param("batch_size", "2:5"), [-1, 3], 32),
    "shape_tuple": (scaled([1, 3, 4]), param("shape", "(1,3,-1)"), [-1, 3, -1], 32),
    "shape_range": (scaled([1, 3, 5]), param("shape", "(1,3,1:5)"), [-1, 3, -1], 32),
    "shape_json": (
        two_inputs(),
        param("shape", '{"a": "(-1,4)", "b": [1, 4]}'),
        [-1, 4],
        32,
    ),
    "hwcn": (
        scaled([4, 4, 3, 1]),
        param("layout", "HWCN") + param("batch_size", "2"),
        [4, 4, 3, 2],
        0,
    ),
    "batch_third": (
        scaled([2, 3, 1, 5]),
        param("layout", "??N...") + param("batch_size", "3"),
        [2, 3, 3, 5],
        0,
    ),
    "layout_in_file": (
        with_layout_in_runtime_info(scaled([3, 1]), "CN"),
        param("batch_size", "2"),
        [3, 2],
        0,
    ),
}
# name: (model, config, what the failed load must say)
REFUSED: dict[str, tuple[ov.Model, str, str]] = {
    "anonymous_shape": (
        two_inputs(),
        param("shape", "(1,4)"),
        "Anonymous fixed shape is invalid for models with multiple inputs",
    ),
    "anonymous_layout": (
        two_inputs(),
        param("layout", "NC"),
        "Anonymous fixed layout is invalid for models with multiple inputs",
    ),
    "scalar_auto": (scalar_model(), param("batch_size", "auto"), "MODEL_WITH_SCALAR_AUTO"),
    "scalar_fixed": (scalar_model(), param("batch_size", "2"), "'s' is a scalar"),
    "shared_name": (identity(), param("layout", "NC"), "share a name"),
    "batch_not_first_with_max_batch_size": (
        scaled([3, 1]),
        param("layout", "CN") + "max_batch_size: 4",
        "max_batch_size 4 cannot be served: tensor 'x' has its batch at position 1",
    ),
    "contradicting_dims": (
        scaled([1, 3]),
        'input { name: "x" data_type: TYPE_FP32 dims: [ 5 ] }',
        "input 'x': config.pbtxt says dims [5], the model serves [3]",
    ),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    repository = tmp_path_factory.mktemp("served")
    for name, (model, config, *_) in SERVED.items():
        add_model(repository, name, model, config)
    for name, (model, config, _) in REFUSED.items():
        add_model(repository, name, model, config)
    add_model(
        repository,
        "evicting",
        scaled([1, 3]),
        param("shape", "auto") + param("reshape_cache_size", "2"),
    )
    add_model(repository, "streams2", scaled([-1, 3]), param("NUM_STREAMS", "2"))
    add_model(
        repository,
        "streams1",
        scaled([-1, 3]),
        param("PERFORMANCE_HINT", "THROUGHPUT") + param("NUM_STREAMS", "1"),
    )
    with Serve(repository, ["--exit-on-error=false"]) as served:
        assert "ovtriton: server live" in served.output, served.output[-3000:]
        yield served


@pytest.mark.parametrize("name", sorted(SERVED))
def test_served_metadata_follows_the_rule(server: Serve, name: str) -> None:
    _, _, shape, max_batch_size = SERVED[name]
    for protocol in PROTOCOLS:
        served = model_metadata(protocol, server, name)
        assert served.get("x", served.get("a")) == ("FP32", shape), served
        config = model_config(protocol, server, name)
        assert int(config.get("max_batch_size", 0)) == max_batch_size, config


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("name", ["batch_fixed", "batch_any"])
def test_fixed_batch_pads_and_splits_any_batch(server: Serve, protocol: str, name: str) -> None:
    # batch_fixed compiles batch 4: 3 rows run padded, 6 rows as a 4 and a padded 2.
    for batch in (1, 3, 4, 6):
        x = RNG.random((batch, 3), dtype=np.float32)
        np.testing.assert_allclose(infer(protocol, server, name, {"x": x})["y"], x * 2)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_batch_range_serves_inside_and_refuses_outside(server: Serve, protocol: str) -> None:
    for batch in (2, 5):
        x = RNG.random((batch, 3), dtype=np.float32)
        np.testing.assert_allclose(infer(protocol, server, "batch_range", {"x": x})["y"], x * 2)
    for batch in (1, 6):
        error = error_of(protocol, server, "batch_range", {"x": np.ones((batch, 3), np.float32)})
        assert status_of(protocol, error) in INVALID
        assert f"Invalid input batch size - Expected: [2~5]; Actual: {batch}; input name: x" in str(
            error
        )


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_shape_rules_serve_their_shapes(server: Serve, protocol: str) -> None:
    x = RNG.random((2, 3, 7), dtype=np.float32)  # -1 takes any length; batch 1 runs twice
    np.testing.assert_allclose(infer(protocol, server, "shape_tuple", {"x": x})["y"], x * 2)
    x = RNG.random((2, 3, 5), dtype=np.float32)
    np.testing.assert_allclose(infer(protocol, server, "shape_range", {"x": x})["y"], x * 2)
    a, b = RNG.random((3, 4), dtype=np.float32), RNG.random((3, 4), dtype=np.float32)
    np.testing.assert_allclose(
        infer(protocol, server, "shape_json", {"a": a, "b": b})["s"], a + b, rtol=1e-6
    )


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_dimension_outside_its_range_gets_the_ovms_message(server: Serve, protocol: str) -> None:
    error = error_of(protocol, server, "shape_range", {"x": np.ones((1, 3, 6), np.float32)})
    assert status_of(protocol, error) in INVALID
    assert "Invalid input shape - Expected: (1,3,[1~5]); Actual: (1,3,6); input name: x" in str(
        error
    )
    # The server and the model carry on.
    x = np.ones((1, 3, 2), np.float32)
    np.testing.assert_array_equal(infer(protocol, server, "shape_range", {"x": x})["y"], x * 2)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("name", ["hwcn", "batch_third", "layout_in_file"])
def test_batch_away_from_position_zero_is_served_whole(
    server: Serve, protocol: str, name: str
) -> None:
    shape = SERVED[name][2]
    x = RNG.random(shape, dtype=np.float32)
    np.testing.assert_allclose(infer(protocol, server, name, {"x": x})["y"], x * 2)


def test_rules_that_cannot_apply_fail_their_load_by_name(server: Serve) -> None:
    index = {m["name"]: m for m in client("http", server).get_model_repository_index()}
    for name, (_, _, message) in REFUSED.items():
        assert index[name]["state"] == "UNAVAILABLE", name
        assert message in index[name].get("reason", ""), (name, index[name])
    for name in SERVED:
        assert index[name]["state"] == "READY", index[name]


def test_the_variant_cache_is_bounded(server: Serve) -> None:
    compiles, evictions = metric(server, "compile", "evicting"), metric(server, "evict", "evicting")
    # The load compiled (1,3); a cache of 2 then holds (1,3),(2,3), then (2,3),(3,3), ...
    for rows in (2, 3, 1):
        x = np.ones((rows, 3), np.float32)
        np.testing.assert_array_equal(infer("grpc", server, "evicting", {"x": x})["y"], x * 2)
    assert metric(server, "compile", "evicting") - compiles == 3
    assert metric(server, "evict", "evicting") - evictions == 2
    assert re.search(r"ovtriton: model evicting: evict variant \(\(1, 3\),\)", server.output)


def test_triton_openvino_backend_parameters_reach_openvino(server: Serve) -> None:
    # OPTIMAL_NUMBER_OF_INFER_REQUESTS follows NUM_STREAMS on CPU: the log shows it.
    for name, nireq in (("streams2", 2), ("streams1", 1)):
        assert re.search(rf"ovtriton: model {name} from .* \(nireq {nireq},", server.output), name
        x = np.ones((2, 3), np.float32)
        np.testing.assert_array_equal(infer("http", server, name, {"x": x})["y"], x * 2)


def test_a_contradicting_config_fails_without_auto_complete(tmp_path: Path) -> None:
    full = (
        "max_batch_size: 0\n"
        'input { name: "x" data_type: TYPE_INT32 dims: [ 1, 3 ] }\n'
        'output { name: "y" data_type: TYPE_FP32 dims: [ 1, 3 ] }'
    )
    add_model(tmp_path, "contradicting", scaled([1, 3]), full)
    add_model(tmp_path, "agreeing", scaled([1, 3]), full.replace("TYPE_INT32", "TYPE_FP32"))
    extra = ["--exit-on-error=false", "--disable-auto-complete-config"]
    with Serve(tmp_path, extra) as served:
        index = {m["name"]: m for m in client("http", served).get_model_repository_index()}
        assert index["agreeing"]["state"] == "READY", index["agreeing"]
        assert index["contradicting"]["state"] == "UNAVAILABLE"
        assert (
            "input 'x': config.pbtxt says TYPE_INT32, the model serves TYPE_FP32"
            in (index["contradicting"]["reason"])
        )
