"""config.json checked against OVMS's own schema (src/schema.cpp), as OVMS checks it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ovtriton_serve.ovms_import.convert import load_config
from ovtriton_serve.ovms_import.errors import OvmsImportError
from ovtriton_serve.ovms_import.schema import validate_config

# Every model option OVMS's config.json parameters page lists, in their documented forms.
FULL_MODEL: dict[str, Any] = {
    "name": "resnet",
    "base_path": "/models/resnet",
    "batch_size": "auto",
    "shape": {"data": "(1,3,224,224)"},
    "layout": {"data": "nhwc:nchw"},
    "model_version_policy": {"latest": {"num_versions": 2}},
    "nireq": 4,
    "target_device": "CPU",
    "allow_cache": True,
    "plugin_config": {"NUM_STREAMS": 2, "PERFORMANCE_HINT": "LATENCY", "PERF_COUNT": False},
}
# The DAG documentation's example: two DL-model nodes, an alias and the request node.
PIPELINE: dict[str, Any] = {
    "name": "chain",
    "inputs": ["image"],
    "nodes": [
        {
            "name": "first",
            "model_name": "a",
            "type": "DL model",
            "inputs": [{"x": {"node_name": "request", "data_item": "image"}}],
            "outputs": [{"data_item": "y", "alias": "features"}],
        }
    ],
    "outputs": [{"result": {"node_name": "first", "data_item": "features"}}],
}


def models(*configs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"model_config_list": [{"config": c} for c in configs], **extra}


def error_of(document: object) -> str:
    with pytest.raises(OvmsImportError) as caught:
        validate_config(document)
    return str(caught.value)


@pytest.mark.parametrize(
    "document",
    [
        models(FULL_MODEL),
        models({"name": "m", "base_path": "m", "batch_size": 8, "shape": "auto", "layout": "NC"}),
        models({"name": "m", "base_path": "m", "model_version_policy": {"all": {}}}),
        models(
            {
                "name": "m",
                "base_path": "m",
                "model_version_policy": {"specific": {"versions": [1, 3]}},
            }
        ),
        models({"name": "m", "base_path": "m", "plugin_config": {"X": 1.5}}),
        models({"name": "m", "base_path": "m", "stateful": True, "max_sequence_number": 10}),
        models({"name": "m", "base_path": "m"}, pipeline_config_list=[PIPELINE]),
        models({"name": "m", "base_path": "m"}, monitoring={"metrics": {"enable": True}}),
        models(
            {"name": "m", "base_path": "m"},
            mediapipe_config_list=[{"name": "graph", "graph_path": "g.pbtxt"}],
            custom_node_library_config_list=[{"name": "lib", "base_path": "/lib.so"}],
            custom_loader_config_list=[{"config": {"loader_name": "l", "library_path": "/l.so"}}],
        ),
        models({"name": "graph_only"}),  # OVMS reads a name alone as a MediaPipe graph
    ],
)
def test_documents_ovms_accepts_pass(document: dict[str, Any]) -> None:
    validate_config(document)


@pytest.mark.parametrize(
    ("document", "keyword", "key", "words"),
    [
        (
            models({**FULL_MODEL, "batchsize": 1}),
            "additionalProperties",
            "#/model_config_list/0/config",
            "'batchsize' was unexpected",
        ),
        (
            models({**FULL_MODEL, "nireq": "4"}),
            "type",
            "#/model_config_list/0/config/nireq",
            "not of type 'integer'",
        ),
        (
            models({**FULL_MODEL, "batch_size": -1}),
            "minimum",
            "#/model_config_list/0/config/batch_size",
            "-1",
        ),
        (
            models({**FULL_MODEL, "batch_size": 1.5}),
            "type",
            "#/model_config_list/0/config/batch_size",
            "1.5",
        ),
        (
            models({**FULL_MODEL, "allow_cache": "yes"}),
            "type",
            "#/model_config_list/0/config/allow_cache",
            "boolean",
        ),
        (
            models({**FULL_MODEL, "target_device": 1}),
            "type",
            "#/model_config_list/0/config/target_device",
            "string",
        ),
        (
            models({**FULL_MODEL, "plugin_config": {"A": [1]}}),
            "anyOf",
            "#/model_config_list/0/config/plugin_config/A",
            "[1]",
        ),
        (
            models({**FULL_MODEL, "shape": {"data": [1, 3]}}),
            "type",
            "#/model_config_list/0/config/shape/data",
            "not of type 'string'",
        ),
        (
            models({**FULL_MODEL, "model_version_policy": {"latest": {"num_versions": 0}}}),
            "minimum",
            "#/model_config_list/0/config/model_version_policy/latest/num_versions",
            "less than the minimum of 1",
        ),
        (
            models({**FULL_MODEL, "model_version_policy": {"specific": {"versions": [0]}}}),
            "minimum",
            "#/model_config_list/0/config/model_version_policy/specific/versions/0",
            "less than the minimum of 1",
        ),
        (
            models({**FULL_MODEL, "model_version_policy": {"newest": {}}}),
            "oneOf",
            "#/model_config_list/0/config/model_version_policy",
            "",
        ),
        (
            models({"base_path": "m"}),
            "required",
            "#/model_config_list/0/config",
            "'name' is a required property",
        ),
        ({"models": []}, "required", "#/", "'model_config_list'"),
        (
            models(FULL_MODEL, extra_list=[]),
            "additionalProperties",
            "#/",
            "'extra_list' was unexpected",
        ),
        (
            models(
                FULL_MODEL,
                pipeline_config_list=[
                    {**PIPELINE, "nodes": [{**PIPELINE["nodes"][0], "type": "model"}]}
                ],
            ),
            "oneOf",
            "#/pipeline_config_list/0/nodes/0",
            "",
        ),
        (
            models(
                FULL_MODEL,
                pipeline_config_list=[{k: v for k, v in PIPELINE.items() if k != "outputs"}],
            ),
            "required",
            "#/pipeline_config_list/0",
            "'outputs'",
        ),
    ],
)
def test_documents_ovms_rejects_fail_like_ovms(
    document: dict[str, Any], keyword: str, key: str, words: str
) -> None:
    message = error_of(document)
    assert message.startswith("Given config is invalid according to OVMS's schema.")
    assert f"Keyword: {keyword} Key: {key}:" in message
    assert words in message


def test_errors_in_an_entry_name_it() -> None:
    message = error_of(models({"name": "ok", "base_path": "a"}, {**FULL_MODEL, "nireq": -2}))
    assert "model_config_list[1] ('resnet'): " in message


def test_a_file_that_is_not_json_fails_with_ovms_wording(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"model_config_list": [')
    with pytest.raises(OvmsImportError, match="Configuration file is not a valid JSON file"):
        load_config(path)


def test_a_missing_file_fails_naming_it(tmp_path: Path) -> None:
    with pytest.raises(OvmsImportError, match=r"cannot read .*nothing\.json"):
        load_config(tmp_path / "nothing.json")


def test_load_config_validates(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(models({**FULL_MODEL, "nireq": "x"})))
    with pytest.raises(OvmsImportError, match="Keyword: type"):
        load_config(path)
