"""backend/ovtriton/model.py with the fake triton_python_backend_utils: the Triton glue alone."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from tests.support.models import save, scaled
from tests.unit import fake_pb_utils

MODEL_PY = Path(__file__).resolve().parents[2] / "backend" / "ovtriton" / "model.py"


def load_backend(model_dir: Path) -> tuple[ModuleType, ModuleType]:
    pb_utils = fake_pb_utils.install(model_dir)
    spec = importlib.util.spec_from_file_location("ovtriton_model_under_test", MODEL_PY)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, pb_utils


def base_config(**extra: object) -> dict[str, object]:
    config: dict[str, object] = {"name": "m", "max_batch_size": 0, "input": [], "output": []}
    config.update(extra)
    return config


def completed(module: ModuleType, pb_utils: ModuleType, config: dict[str, object]) -> dict:
    model_config = pb_utils.ModelConfig(json.dumps(config))
    return module.TritonPythonModel.auto_complete_config(model_config).as_dict()


def initialized(version_dir: Path, mode: str) -> tuple[Any, ModuleType]:
    """The backend's model, auto-completed and initialized with ``execution_mode``."""
    module, pb_utils = load_backend(version_dir)
    parameters = {"execution_mode": {"string_value": mode}}
    config = completed(module, pb_utils, base_config(parameters=parameters))
    model = module.TritonPythonModel()
    model.initialize(
        {
            "model_config": json.dumps(config),
            "model_name": "m",
            "model_version": "1",
            "model_repository": str(version_dir.parent),
        }
    )
    return model, pb_utils


@pytest.fixture
def version_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "m" / "1"
    folder.mkdir(parents=True)
    save(scaled([1, 3]), folder)
    return folder


def test_auto_complete_fills_tensors_and_batching(version_dir: Path) -> None:
    module, pb_utils = load_backend(version_dir)
    config = completed(module, pb_utils, base_config())
    assert config["max_batch_size"] == 32
    assert config["input"] == [{"name": "x", "data_type": "TYPE_FP32", "dims": [3]}]
    assert config["output"] == [{"name": "y", "data_type": "TYPE_FP32", "dims": [3]}]
    assert "dynamic_batching" in config


def test_auto_complete_rejects_a_tensor_the_model_lacks(version_dir: Path) -> None:
    module, pb_utils = load_backend(version_dir)
    config = base_config(input=[{"name": "z", "data_type": "TYPE_FP32", "dims": [3]}])
    with pytest.raises(pb_utils.TritonModelException, match="'z'"):
        completed(module, pb_utils, config)


def test_bad_parameter_fails_the_load_naming_it(version_dir: Path) -> None:
    module, pb_utils = load_backend(version_dir)
    config = base_config(parameters={"batch_size": {"string_value": "9::30"}})
    with pytest.raises(pb_utils.TritonModelException, match=r"'batch_size'.*9::30"):
        completed(module, pb_utils, config)


@pytest.mark.parametrize("mode", ["inline", "pipelined", "adaptive"])
def test_execute_answers_each_request(version_dir: Path, mode: str) -> None:
    model, pb_utils = initialized(version_dir, mode)
    good = pb_utils.InferenceRequest([pb_utils.Tensor("x", np.ones((2, 3), np.float32))])
    bad = pb_utils.InferenceRequest([pb_utils.Tensor("x", np.ones((2, 3), np.float64))])
    unknown_output = pb_utils.InferenceRequest(
        [pb_utils.Tensor("x", np.ones((1, 3), np.float32))], ["nope"]
    )
    returned = model.execute([good, bad, unknown_output])
    # Adaptive: a call of several requests is pipelined (a lone one is inline, below).
    assert model.engine.pipelined == (mode != "inline")
    if mode == "inline":  # answered inline, all in one returned list
        responses = returned
        assert not any(r.sender_taken for r in (good, bad, unknown_output))
    else:  # answered later, each through its own response sender
        assert returned is None
        model.engine.wait()
        responses = []
        for request in (good, bad, unknown_output):
            assert request.sender.closed and len(request.sender.responses) == 1
            responses.append(request.sender.responses[0])
    np.testing.assert_array_equal(responses[0].output_tensors()[0].as_numpy(), np.full((2, 3), 2))
    assert responses[1].error().code() == pb_utils.TritonError.INVALID_ARG
    assert (
        "Invalid input precision - Expected: FP32; Actual: FP64" in responses[1].error().message()
    )
    assert responses[2].error().code() == pb_utils.TritonError.INVALID_ARG
    logged = " ".join(message for _, message in pb_utils.Logger.records)
    assert "input x FP32 (1,3)" in logged
    assert re.search(r"compiled for CPU in \d+\.\d{3} s", logged)
    # Variant events: compiles and evictions at info level, hits only when verbose.
    model.metrics.record("compile", ((4, 3),), 0.25)
    model.metrics.record("hit", ((4, 3),), 0.0)
    assert ("info", "ovtriton: model m: compile variant ((4, 3),) in 0.250 s") in (
        pb_utils.Logger.records
    )
    assert ("verbose", "ovtriton: model m: hit variant ((4, 3),)") in pb_utils.Logger.records
    model.finalize()


def test_adaptive_returns_a_lone_requests_answer_and_sends_overlapping_ones(
    version_dir: Path,
) -> None:
    model, pb_utils = initialized(version_dir, "adaptive")
    lone = pb_utils.InferenceRequest([pb_utils.Tensor("x", np.full((1, 3), 3, np.float32))])
    [response] = model.execute([lone])  # one message: the returned list
    assert not lone.sender_taken
    np.testing.assert_array_equal(response.output_tensors()[0].as_numpy(), np.full((1, 3), 6))
    pair = [
        pb_utils.InferenceRequest([pb_utils.Tensor("x", np.full((1, 3), v, np.float32))])
        for v in (1, 2)
    ]
    assert model.execute(pair) is None  # pipelined: each answered through its sender
    model.engine.wait()
    for value, request in zip((1, 2), pair, strict=True):
        assert request.sender.closed and len(request.sender.responses) == 1
        answer = request.sender.responses[0].output_tensors()[0].as_numpy()
        np.testing.assert_array_equal(answer, np.full((1, 3), 2 * value))
    model.finalize()
