"""Each OVMS model option and form -> ovtriton parameters / Triton config (pure)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ovtriton.rules.parameters import parse_parameters
from ovtriton_serve.ovms_import import mapping
from ovtriton_serve.ovms_import.errors import OvmsImportError


def params(cache_dir: str | None = None, **config: Any) -> dict[str, str]:
    return mapping.backend_parameters({"name": "m", "base_path": "m", **config}, cache_dir)


def test_no_options_give_no_parameters() -> None:
    assert params() == {}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"batch_size": 8}, {"batch_size": "8"}),
        ({"batch_size": "8"}, {"batch_size": "8"}),
        ({"batch_size": "auto"}, {"batch_size": "auto"}),
        ({"batch_size": "1:16"}, {"batch_size": "1:16"}),
        ({"batch_size": "-1"}, {"batch_size": "-1"}),
        ({"shape": "auto"}, {"shape": "auto"}),
        ({"shape": "(1,3,224,224)"}, {"shape": "(1,3,224,224)"}),
        ({"shape": "(1:4,3,-1,224)"}, {"shape": "(1:4,3,-1,224)"}),
        ({"shape": {"a": "(1,4)", "b": "auto"}}, {"shape": '{"a": "(1,4)", "b": "auto"}'}),
        ({"layout": "NHWC:NCHW"}, {"layout": "NHWC:NCHW"}),
        ({"layout": "nhwc:nchw"}, {"layout": "nhwc:nchw"}),
        (
            {"layout": {"in": "nhwc:nchw", "out": "NC"}},
            {"layout": '{"in": "nhwc:nchw", "out": "NC"}'},
        ),
        ({"nireq": 4}, {"nireq": "4"}),
        ({"nireq": 0}, {}),  # OVMS's "let OpenVINO choose", ovtriton's default
        ({"target_device": "CPU"}, {"target_device": "CPU"}),
        ({"target_device": "HETERO:GPU,CPU"}, {"target_device": "HETERO:GPU,CPU"}),
        ({"plugin_config": {}}, {}),
        (
            {"plugin_config": {"PERFORMANCE_HINT": "LATENCY"}},
            {"plugin_config": '{"PERFORMANCE_HINT": "LATENCY"}'},
        ),
    ],
)
def test_each_option_and_form_becomes_its_parameter(
    config: dict[str, Any], expected: dict[str, str]
) -> None:
    assert params(**config) == expected


def test_numeric_and_boolean_plugin_config_values_pass_through_to_openvino() -> None:
    written = params(plugin_config={"NUM_STREAMS": 2, "PERF_COUNT": True, "X": 1.5, "H": "T"})
    assert json.loads(written["plugin_config"]) == {
        "NUM_STREAMS": 2,
        "PERF_COUNT": True,
        "X": 1.5,
        "H": "T",
    }
    # What the backend's own parser then hands to OpenVINO.
    assert dict(parse_parameters(written).plugin_config) == {
        "NUM_STREAMS": "2",
        "PERF_COUNT": "YES",
        "X": "1.5",
        "H": "T",
    }


@pytest.mark.parametrize(
    ("allow_cache", "cache_dir", "expected"),
    [
        (None, "/cache", {"cache_dir": "/cache"}),  # OVMS caches unless a model opts out
        (True, "/cache", {"cache_dir": "/cache"}),
        (False, "/cache", {}),
        (True, None, {}),  # no --cache_dir: no model cache, as in OVMS without one
    ],
)
def test_allow_cache_and_the_model_cache_become_cache_dir(
    allow_cache: bool | None, cache_dir: str | None, expected: dict[str, str]
) -> None:
    config = {} if allow_cache is None else {"allow_cache": allow_cache}
    assert params(cache_dir, **config) == expected


@pytest.mark.parametrize(
    ("config", "parameter"),
    [
        ({"batch_size": "abc"}, "batch_size"),
        ({"shape": "(1,x)"}, "shape"),
        ({"layout": "NC::NC"}, "layout"),
        ({"target_device": "C P U"}, "target_device"),
        ({"nireq": 10**9}, "nireq"),
    ],
)
def test_values_the_backend_refuses_fail_naming_model_and_parameter(
    config: dict[str, Any], parameter: str
) -> None:
    with pytest.raises(OvmsImportError) as caught:
        params(**config)
    assert str(caught.value).startswith("model 'm': ")
    assert f"parameter '{parameter}'" in str(caught.value)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (None, {"latest": {"num_versions": 1}}),
        ({}, {"latest": {"num_versions": 1}}),
        ({"latest": {"num_versions": 3}}, {"latest": {"num_versions": 3}}),
        ({"specific": {"versions": [1, 3]}}, {"specific": {"versions": [1, 3]}}),
        ({"all": {}}, {"all": {}}),
    ],
)
def test_version_policy(policy: dict[str, Any] | None, expected: dict[str, Any]) -> None:
    assert mapping.version_policy(policy) == expected


@pytest.mark.parametrize(
    ("policy", "served"),
    [
        ({"latest": {"num_versions": 1}}, [5]),
        ({"latest": {"num_versions": 2}}, [3, 5]),
        ({"latest": {"num_versions": 9}}, [1, 3, 5]),
        ({"specific": {"versions": [1, 4, 5]}}, [1, 5]),
        ({"all": {}}, [1, 3, 5]),
    ],
)
def test_served_versions(policy: dict[str, Any], served: list[int]) -> None:
    assert mapping.served_versions(policy, [5, 1, 3]) == served


def test_model_config() -> None:
    config = mapping.model_config("m", {"nireq": "2"}, {"all": {}}, "dummy.xml")
    assert config == {
        "name": "m",
        "backend": "ovtriton",
        "version_policy": {"all": {}},
        "default_model_filename": "dummy.xml",
        "parameters": {"nireq": {"string_value": "2"}},
    }
    assert "parameters" not in mapping.model_config("m", {}, {"all": {}}, "model.xml")


def test_one_file_name_per_model() -> None:
    assert mapping.single_model_filename("m", {1: "dummy.xml", 2: "dummy.xml"}) == "dummy.xml"
    with pytest.raises(OvmsImportError, match=r"model 'm'.*1: a.xml, 2: b.xml"):
        mapping.single_model_filename("m", {1: "a.xml", 2: "b.xml"})


@pytest.mark.parametrize(
    ("config", "options"),
    [
        ({"stateful": True}, ["stateful"]),
        ({"stateful": False}, []),
        ({"stateful": True, "max_sequence_number": 5}, ["stateful", "max_sequence_number"]),
        ({"idle_sequence_cleanup": True}, ["idle_sequence_cleanup"]),
        ({"low_latency_transformation": False}, ["low_latency_transformation"]),
        ({"custom_loader_options": {"loader_name": "l"}}, ["custom_loader_options"]),
        ({"graph_path": "g.pbtxt"}, ["graph_path"]),
        ({"subconfig": "s.json"}, ["subconfig"]),
    ],
)
def test_unsupported_model_options_are_named(config: dict[str, Any], options: list[str]) -> None:
    found = mapping.unsupported_in_model({"name": "m", "base_path": "m", **config})
    assert [u.option for u in found] == options
    assert all(str(u).startswith(f"model 'm': option '{u.option}'") for u in found)


def test_an_entry_without_base_path_is_a_mediapipe_graph() -> None:
    (found,) = mapping.unsupported_in_model({"name": "graph"})
    assert (found.entry, found.option) == ("model 'graph'", "base_path")
    assert "MediaPipe" in found.reason


def test_unsupported_pipeline_options_are_named() -> None:
    pipeline = {
        "name": "p",
        "demultiply_count": 0,
        "nodes": [
            {"name": "a", "type": "DL model", "model_name": "m", "demultiply_count": 4},
            {"name": "b", "type": "DL model", "model_name": "m", "gather_from_node": "a"},
            {"name": "c", "type": "custom", "library_name": "lib"},
        ],
    }
    found = [(u.entry, u.option) for u in mapping.unsupported_in_pipeline(pipeline)]
    assert found == [
        ("pipeline 'p'", "demultiply_count"),
        ("pipeline 'p' node 'a'", "demultiply_count"),
        ("pipeline 'p' node 'b'", "gather_from_node"),
        ("pipeline 'p' node 'c'", "library_name"),
    ]


def test_unsupported_top_level_lists_name_each_entry() -> None:
    document = {
        "mediapipe_config_list": [{"name": "graph"}],
        "custom_node_library_config_list": [{"name": "lib", "base_path": "/l.so"}],
        "custom_loader_config_list": [{"config": {"loader_name": "ld", "library_path": "/x"}}],
    }
    found = [str(u) for u in mapping.unsupported_lists(document)]
    assert any("mediapipe_config_list entry 'graph'" in f for f in found)
    assert any("custom_node_library_config_list entry 'lib'" in f for f in found)
    assert any("custom_loader_config_list entry 'ld'" in f for f in found)


@pytest.mark.parametrize("path", ["s3://bucket/m", "gs://bucket/m", "azure://c/m", "S3://B/m"])
def test_cloud_paths_are_refused_pointing_to_a_triton_repository(path: str) -> None:
    error = mapping.cloud_path_error("m", path)
    assert error is not None
    assert f"model 'm': base_path '{path}' is on cloud storage" in str(error)
    assert "use a Triton repository on that storage" in str(error)


@pytest.mark.parametrize("path", ["/models/m", "models/m", "./s3/m"])
def test_local_paths_are_not_cloud_paths(path: str) -> None:
    assert mapping.cloud_path_error("m", path) is None
