"""OVMS pipelines of DL-model nodes -> Triton ensembles.

Each config is checked against what Triton's ensemble scheduler requires of an ensemble
(the rules of Triton's ensemble_utils.cc).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from google.protobuf import json_format
from tritonclient.grpc import model_config_pb2

from ovtriton_serve.ovms_import.errors import OvmsImportError
from ovtriton_serve.ovms_import.mapping import ModelTensors, TensorSpec, ensemble_config

F32 = "TYPE_FP32"
MODELS = {
    # detect: image [-1,3,8,8] -> boxes [-1,4], scores [-1,1]
    "detect": ModelTensors(
        {"image": TensorSpec(F32, (-1, 3, 8, 8))},
        {"boxes": TensorSpec(F32, (-1, 4)), "scores": TensorSpec(F32, (-1, 1))},
    ),
    # refine: two inputs -> one output
    "refine": ModelTensors(
        {"b": TensorSpec(F32, (-1, 4)), "s": TensorSpec(F32, (-1, 1))},
        {"out": TensorSpec("TYPE_INT64", (-1, 4))},
    ),
}


def tensors_of(model: str, version: int | None) -> ModelTensors:
    return MODELS[model]


def source(node: str, item: str) -> dict[str, str]:
    return {"node_name": node, "data_item": item}


PIPELINE: dict[str, Any] = {
    "name": "chain",
    "inputs": ["picture"],
    "nodes": [
        {
            "name": "det",
            "model_name": "detect",
            "type": "DL model",
            "inputs": [{"image": source("request", "picture")}],
            "outputs": [
                {"data_item": "boxes", "alias": "det_boxes"},
                {"data_item": "scores", "alias": "det_scores"},
            ],
        },
        {
            "name": "ref",
            "model_name": "refine",
            "version": 2,
            "type": "DL model",
            "inputs": [{"b": source("det", "det_boxes")}, {"s": source("det", "det_scores")}],
            "outputs": [{"data_item": "out", "alias": "refined"}],
        },
    ],
    "outputs": [
        {"result": source("ref", "refined")},
        {"confidence": source("det", "det_scores")},
    ],
}


def _spec(tensor: dict[str, Any]) -> TensorSpec:
    return TensorSpec(tensor["data_type"], tuple(tensor["dims"]))


def _production_problems(
    steps: list[dict[str, Any]], models: dict[str, ModelTensors], inputs: set[str]
) -> tuple[list[str], dict[str, TensorSpec]]:
    """Each step feeds exactly its model's inputs and produces each tensor once."""
    problems, produced = [], {}
    for step in steps:
        model = models[step["model_name"]]
        if set(step["input_map"]) != set(model.inputs):
            problems.append(f"step {step['model_name']} must feed exactly its model's inputs")
        if not step["output_map"]:
            problems.append(f"step {step['model_name']} has an empty output_map")
        for key, tensor in step["output_map"].items():
            if key not in model.outputs:
                problems.append(f"{key} is not an output of {step['model_name']}")
            elif tensor in produced or tensor in inputs:
                problems.append(f"ensemble tensor {tensor} is produced more than once")
            else:
                produced[tensor] = model.outputs[key]
    return problems, produced


def _consumption_problems(
    steps: list[dict[str, Any]],
    models: dict[str, ModelTensors],
    available: dict[str, TensorSpec],
    outputs: dict[str, TensorSpec],
) -> list[str]:
    """Every tensor read exists with the reader's type and dims; every tensor is used."""
    problems = []
    for step in steps:
        wanted = models[step["model_name"]].inputs
        for key, tensor in step["input_map"].items():
            if tensor not in available:
                problems.append(f"ensemble tensor {tensor} is never produced")
            elif available[tensor] != wanted[key]:
                problems.append(f"{tensor} is {available[tensor]}, {key} wants {wanted[key]}")
    consumed = {t for step in steps for t in step["input_map"].values()}
    problems += [
        f"ensemble tensor {t} is unused" for t in available if t not in consumed | set(outputs)
    ]
    for name, spec in outputs.items():
        if name not in available:
            problems.append(f"ensemble output {name} is never produced")
        elif available[name] != spec:
            problems.append(f"ensemble output {name} is declared unlike its producer")
    return problems


def _cycle_problems(steps: list[dict[str, Any]], inputs: set[str]) -> list[str]:
    """Steps must be runnable in some order: repeatedly run those whose inputs exist."""
    available, pending = set(inputs), list(steps)
    while pending:
        ready = [s for s in pending if set(s["input_map"].values()) <= available]
        if not ready:
            return ["the steps form a cycle or wait on a tensor nobody produces"]
        for step in ready:
            available |= set(step["output_map"].values())
            pending.remove(step)
    return []


def triton_problems(config: dict[str, Any], models: dict[str, ModelTensors]) -> list[str]:
    """What Triton's ensemble validation would refuse in ``config``."""
    json_format.ParseDict(config, model_config_pb2.ModelConfig())  # Triton's own message
    problems = []
    if config.get("platform") != "ensemble":
        problems.append("platform must be 'ensemble'")
    if config.get("max_batch_size", 0) != 0:
        problems.append("full shapes are declared, so max_batch_size must be 0")
    steps = config.get("ensemble_scheduling", {}).get("step", [])
    if not steps:
        problems.append("ensemble_scheduling needs at least one step")
    if any(step["model_name"] == config["name"] for step in steps):
        problems.append("an ensemble cannot call itself")
    for tensor in [*config.get("input", []), *config.get("output", [])]:
        if not tensor.get("data_type") or "dims" not in tensor:
            problems.append(f"tensor {tensor['name']} needs data_type and dims")
    inputs = {t["name"]: _spec(t) for t in config.get("input", [])}
    outputs = {t["name"]: _spec(t) for t in config.get("output", [])}
    found, produced = _production_problems(steps, models, set(inputs))
    problems += found
    problems += _consumption_problems(steps, models, {**inputs, **produced}, outputs)
    problems += _cycle_problems(steps, set(inputs))
    return problems


def test_a_two_node_pipeline_is_an_ensemble_triton_accepts() -> None:
    config = ensemble_config(PIPELINE, tensors_of)
    assert triton_problems(config, MODELS) == []


def test_the_ensemble_serves_the_pipeline_names_with_the_models_types_and_dims() -> None:
    config = ensemble_config(PIPELINE, tensors_of)
    assert config["name"] == "chain"
    assert config["input"] == [{"name": "picture", "data_type": F32, "dims": [-1, 3, 8, 8]}]
    assert config["output"] == [
        {"name": "result", "data_type": "TYPE_INT64", "dims": [-1, 4]},
        {"name": "confidence", "data_type": F32, "dims": [-1, 1]},
    ]


def test_steps_follow_the_nodes_with_their_aliases_and_versions() -> None:
    det, ref = ensemble_config(PIPELINE, tensors_of)["ensemble_scheduling"]["step"]
    assert det == {
        "model_name": "detect",
        "model_version": -1,  # no version in the node: the one Triton serves by default
        "input_map": {"image": "picture"},
        # A node output a pipeline output takes is produced under that output's name.
        "output_map": {"boxes": "det/det_boxes", "scores": "confidence"},
    }
    assert ref == {
        "model_name": "refine",
        "model_version": 2,
        "input_map": {"b": "det/det_boxes", "s": "confidence"},
        "output_map": {"out": "result"},
    }


def test_internal_names_never_collide_with_pipeline_names() -> None:
    pipeline = copy.deepcopy(PIPELINE)
    pipeline["inputs"] = ["det/det_boxes"]
    pipeline["nodes"][0]["inputs"] = [{"image": source("request", "det/det_boxes")}]
    config = ensemble_config(pipeline, tensors_of)
    assert config["ensemble_scheduling"]["step"][0]["output_map"]["boxes"] == "det/det_boxes_"
    assert triton_problems(config, MODELS) == []


def test_node_outputs_nothing_reads_stay_out_of_the_ensemble() -> None:
    pipeline = copy.deepcopy(PIPELINE)
    pipeline["outputs"] = [{"result": source("ref", "refined")}]  # det_scores: only ref reads it
    pipeline["nodes"][1]["inputs"] = [
        {"b": source("det", "det_boxes")},
        {"s": source("det", "det_boxes")},
    ]
    config = ensemble_config(pipeline, tensors_of)
    # det's scores feed nothing now: Triton would refuse an unused tensor for them.
    assert config["ensemble_scheduling"]["step"][0]["output_map"] == {"boxes": "det/det_boxes"}


def test_a_node_whose_outputs_nothing_reads_is_refused() -> None:
    pipeline = copy.deepcopy(PIPELINE)
    pipeline["outputs"] = [{"confidence": source("det", "det_scores")}]
    with pytest.raises(OvmsImportError, match="nothing reads an output of node 'ref'"):
        ensemble_config(pipeline, tensors_of)


def test_one_pipeline_input_feeding_different_dims_is_refused() -> None:
    models = {**MODELS, "other": ModelTensors({"image": TensorSpec(F32, (-1, 3, 9, 9))}, {})}
    pipeline = copy.deepcopy(PIPELINE)
    extra = copy.deepcopy(pipeline["nodes"][0])
    extra.update(name="det2", model_name="other", outputs=[])
    pipeline["nodes"].append(extra)
    with pytest.raises(OvmsImportError, match="pipeline input 'picture' feeds model inputs of"):
        ensemble_config(pipeline, lambda model, version: models[model])


def broken(change: Any) -> dict[str, Any]:
    pipeline = copy.deepcopy(PIPELINE)
    change(pipeline)
    return pipeline


@pytest.mark.parametrize(
    ("pipeline", "message"),
    [
        (
            broken(lambda p: p["nodes"][1]["inputs"][0].update(b=source("det", "nope"))),
            "node 'ref' input 'b' reads alias 'nope' of node 'det', which does not exist",
        ),
        (
            broken(lambda p: p["nodes"][1]["inputs"][0].update(b=source("ghost", "x"))),
            "alias 'x' of node 'ghost'",
        ),
        (
            broken(lambda p: p["nodes"][0]["inputs"][0].update(image=source("request", "other"))),
            "reads 'other' from the request, which is not one of the pipeline inputs",
        ),
        (
            broken(lambda p: p["nodes"][0]["outputs"][0].update(data_item="bbox")),
            "node 'det' output data_item 'bbox' is not an output of model 'detect'",
        ),
        (
            broken(lambda p: p["nodes"][0]["inputs"].append({"img": source("request", "picture")})),
            "node 'det' input 'img' is not an input of model 'detect'",
        ),
        (
            broken(lambda p: p["nodes"][1]["inputs"].pop()),
            "node 'ref' leaves model input 's' unfed",
        ),
        (
            broken(lambda p: p["outputs"].append({"raw": source("request", "picture")})),
            "pipeline output 'raw' is the request's 'picture' itself",
        ),
        (
            broken(lambda p: p["outputs"].append({"again": source("ref", "refined")})),
            "pipeline outputs 'result' and 'again' are the same node output",
        ),
        (broken(lambda p: p["inputs"].append("unused")), "pipeline input 'unused' feeds no node"),
        (broken(lambda p: p["nodes"][1].update(name="det")), "node names must be unique"),
        (broken(lambda p: p["nodes"][1].update(name="request")), "other than 'request'"),
    ],
)
def test_broken_connections_fail_naming_the_pipeline(
    pipeline: dict[str, Any], message: str
) -> None:
    with pytest.raises(OvmsImportError) as caught:
        ensemble_config(pipeline, tensors_of)
    assert str(caught.value).startswith("pipeline 'chain': ")
    assert message in str(caught.value)


def test_the_checker_itself_catches_what_triton_refuses() -> None:
    """The reference check must fail on configs Triton refuses, or it proves nothing."""
    good = ensemble_config(PIPELINE, tensors_of)
    wrong_type = copy.deepcopy(good)
    wrong_type["input"][0]["data_type"] = "TYPE_INT8"
    unproduced = copy.deepcopy(good)
    unproduced["ensemble_scheduling"]["step"][1]["input_map"]["b"] = "nowhere"
    twice = copy.deepcopy(good)
    twice["ensemble_scheduling"]["step"][1]["output_map"]["out"] = "confidence"
    cases = [
        (wrong_type, "wants"),
        (unproduced, "never produced"),
        (twice, "produced more than once"),
    ]
    for config, problem in cases:
        assert any(problem in p for p in triton_problems(config, MODELS)), problem
    dangling = copy.deepcopy(good)
    dangling["output"] = dangling["output"][:1]  # "confidence" is no ensemble output now
    assert triton_problems(dangling, MODELS) == []  # ref still reads it: fine
    dangling["ensemble_scheduling"]["step"][1]["input_map"]["s"] = "det/det_boxes"
    assert any("confidence is unused" in p for p in triton_problems(dangling, MODELS))
