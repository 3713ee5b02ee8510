"""OVMS's own JSON schema for ``config.json``, and validation against it.

The schema is OVMS's ``MODELS_CONFIG_SCHEMA`` (``src/schema.cpp``, the version with
``layout``, ``allow_cache``, ``mediapipe_config_list`` and ``monitoring``), written out
as Python. A ``config.json`` OVMS would reject is rejected here too, with the same
kind of message: the JSON-schema keyword and the key, plus which entry it is and
what is wrong.
"""

from __future__ import annotations

from typing import Any

import jsonschema

from ovtriton_serve.ovms_import.errors import OvmsImportError

_STRING = {"type": "string"}
_LAYOUT_SHAPE = {"$ref": "#/definitions/layout_shape_def"}

_MODEL_CONFIG = {
    "type": "object",
    "required": ["config"],
    "maxProperties": 1,
    "properties": {
        "config": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": _STRING,
                "base_path": _STRING,
                "batch_size": {"type": ["integer", "string"], "minimum": 0},
                "graph_path": _STRING,
                "subconfig": _STRING,
                "model_version_policy": {"$ref": "#/definitions/model_version_policy"},
                "shape": _LAYOUT_SHAPE,
                "layout": _LAYOUT_SHAPE,
                "nireq": {"type": "integer", "minimum": 0},
                "target_device": _STRING,
                "allow_cache": {"type": "boolean"},
                "plugin_config": {
                    "type": "object",
                    "additionalProperties": {
                        "anyOf": [{"type": "string"}, {"type": "boolean"}, {"type": "number"}]
                    },
                },
                "stateful": {"type": "boolean"},
                "idle_sequence_cleanup": {"type": "boolean"},
                "low_latency_transformation": {"type": "boolean"},
                "max_sequence_number": {"type": "integer", "minimum": 0},
                "custom_loader_options": {
                    "type": "object",
                    "required": ["loader_name"],
                    "properties": {"loader_name": _STRING},
                    "minProperties": 1,
                },
            },
            "additionalProperties": False,
        }
    },
    "additionalProperties": False,
}

_SOURCE_NODE = {"$ref": "#/definitions/source_node"}
_DEMULTIPLY = {"type": "integer", "minimum": -1, "maximum": 10000}

OVMS_CONFIG_SCHEMA: dict[str, Any] = {
    "definitions": {
        "model_config": _MODEL_CONFIG,
        "source_node_names": {
            "type": "object",
            "required": ["node_name", "data_item"],
            "properties": {"node_name": _STRING, "data_item": _STRING},
            "additionalProperties": False,
        },
        "source_node": {
            "type": "object",
            "additionalProperties": {"$ref": "#/definitions/source_node_names"},
            "minProperties": 1,
            "maxProperties": 1,
        },
        "output_alias": {
            "type": "object",
            "required": ["data_item", "alias"],
            "properties": {"data_item": _STRING, "alias": _STRING},
            "additionalProperties": False,
        },
        "node_config": {
            "type": "object",
            "required": ["name", "type", "inputs", "outputs"],
            "oneOf": [
                {
                    "properties": {"type": {"enum": ["custom"]}},
                    "required": ["library_name"],
                    "not": {"required": ["model_name"]},
                },
                {
                    "properties": {"type": {"enum": ["DL model"]}},
                    "not": {"required": ["library_name"]},
                    "required": ["model_name"],
                },
            ],
            "properties": {
                "name": _STRING,
                "model_name": _STRING,
                "library_name": _STRING,
                "type": {"type": "string", "enum": ["DL model", "custom"]},
                "version": {"type": "integer", "minimum": 1},
                "inputs": {"type": "array", "items": _SOURCE_NODE},
                "outputs": {"type": "array", "items": {"$ref": "#/definitions/output_alias"}},
                "params": {"type": "object", "additionalProperties": {"type": "string"}},
                "demultiply_count": _DEMULTIPLY,
                "gather_from_node": _STRING,
            },
            "additionalProperties": False,
        },
        "pipeline_config": {
            "type": "object",
            "required": ["name", "nodes", "inputs", "outputs"],
            "properties": {
                "name": _STRING,
                "nodes": {"type": "array", "items": {"$ref": "#/definitions/node_config"}},
                "inputs": {"type": "array", "items": _STRING},
                "outputs": {"type": "array", "items": _SOURCE_NODE},
                "demultiply_count": _DEMULTIPLY,
            },
            "additionalProperties": False,
        },
        "custom_node_library_config": {
            "type": "object",
            "required": ["name", "base_path"],
            "properties": {"name": _STRING, "base_path": _STRING},
            "additionalProperties": False,
        },
        "custom_loader_config": {
            "type": "object",
            "required": ["config"],
            "maxProperties": 1,
            "properties": {
                "config": {
                    "type": "object",
                    "required": ["loader_name", "library_path"],
                    "properties": {
                        "loader_name": _STRING,
                        "library_path": _STRING,
                        "loader_config_file": _STRING,
                    },
                    "additionalProperties": False,
                },
            },
            "additionalProperties": False,
        },
        "layout_shape_def": {
            "oneOf": [
                {"type": "object", "additionalProperties": {"type": "string"}},
                {"type": "string"},
            ]
        },
        "all_version_policy": {
            "type": "object",
            "additionalProperties": False,
            "properties": {},
            "minProperties": 0,
            "maxProperties": 0,
        },
        "specific_version_policy": {
            "type": "object",
            "additionalProperties": False,
            "maxProperties": 1,
            "properties": {
                "versions": {"type": "array", "items": {"type": "integer", "minimum": 1}}
            },
            "required": ["versions"],
        },
        "latest_version_policy": {
            "type": "object",
            "additionalProperties": False,
            "maxProperties": 1,
            "properties": {"num_versions": {"type": "integer", "minimum": 1}},
            "required": ["num_versions"],
        },
        "model_version_policy": {
            "oneOf": [
                {
                    "maxProperties": 1,
                    "properties": {kind: {"$ref": f"#/definitions/{kind}_version_policy"}},
                    "required": [kind],
                    "additionalProperties": False,
                }
                for kind in ("all", "specific", "latest")
            ]
        },
        "mediapipe_config": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": _STRING,
                "base_path": _STRING,
                "graph_path": _STRING,
                "subconfig": _STRING,
            },
            "additionalProperties": False,
        },
    },
    "type": "object",
    "required": ["model_config_list"],
    "properties": {
        "custom_loader_config_list": {
            "type": "array",
            "items": {"$ref": "#/definitions/custom_loader_config"},
        },
        "model_config_list": {"type": "array", "items": {"$ref": "#/definitions/model_config"}},
        "pipeline_config_list": {
            "type": "array",
            "items": {"$ref": "#/definitions/pipeline_config"},
        },
        "mediapipe_config_list": {
            "type": "array",
            "items": {"$ref": "#/definitions/mediapipe_config"},
        },
        "custom_node_library_config_list": {
            "type": "array",
            "items": {"$ref": "#/definitions/custom_node_library_config"},
        },
        "monitoring": {
            "maxProperties": 1,
            "type": "object",
            "required": ["metrics"],
            "properties": {
                "metrics": {
                    "type": "object",
                    "required": ["enable"],
                    "properties": {
                        "enable": {"type": "boolean"},
                        "metrics_list": {"type": "array", "items": _STRING},
                    },
                    "additionalProperties": False,
                },
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}

# rapidjson, which OVMS validates with, implements draft 4.
_VALIDATOR = jsonschema.Draft4Validator(OVMS_CONFIG_SCHEMA)


def validate_config(document: object) -> None:
    """Check a decoded ``config.json`` against OVMS's schema.

    Raises:
        OvmsImportError: OVMS would reject it. The message reads like OVMS's own
            ("Given config is invalid according to OVMS's schema. Keyword: <keyword>
            Key: <key>") followed by the entry and what is wrong.
    """
    error = jsonschema.exceptions.best_match(_VALIDATOR.iter_errors(document))
    if error is None:
        return
    key = "#/" + "/".join(str(p) for p in error.absolute_path)
    raise OvmsImportError(
        f"Given config is invalid according to OVMS's schema. Keyword: {error.validator} "
        f"Key: {key}: {describe_location(document, list(error.absolute_path))}{error.message}"
    )


def describe_location(document: object, path: list[str | int]) -> str:
    """``model_config_list[0] ('resnet'): `` for a path into the document, else ``""``.

    Naming the entry as well as its index lets users find it in a long file.
    """
    if len(path) < 2 or not isinstance(path[1], int) or not isinstance(document, dict):
        return ""
    entries = document.get(str(path[0]))
    if not isinstance(entries, list) or path[1] >= len(entries):
        return ""
    entry = entries[path[1]]
    if isinstance(entry, dict) and isinstance(entry.get("config"), dict):
        entry = entry["config"]
    name = entry.get("name") if isinstance(entry, dict) else None
    label = f"{path[0]}[{path[1]}]" + (f" ({name!r})" if isinstance(name, str) else "")
    return label + ": "
