"""The model.py users usually write: ``compiled_model(inputs)`` once per request.

It compiles ``model.onnx`` (beside this file) with OpenVINO's defaults, as such
a model.py usually does, and runs each request of an ``execute`` call on its own,
synchronously. This is a baseline ovtriton has to beat. The one setting it takes is
an ``INFERENCE_PRECISION_HINT`` parameter, which the benchmark sets to f32 on a CPU
with native bf16 so that every side computes at the peer's precision.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import openvino as ov
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    """The naive OpenVINO model users write first."""
    def initialize(self, args: dict[str, str]) -> None:
        """Compile the model with OpenVINO's default hint."""
        config = json.loads(args["model_config"])
        folder = Path(args["model_repository"]) / args["model_version"]
        parameters = config.get("parameters") or {}
        precision = parameters.get("INFERENCE_PRECISION_HINT", {}).get("string_value")
        properties = {"INFERENCE_PRECISION_HINT": precision} if precision else {}
        self.compiled = ov.Core().compile_model(str(folder / "model.onnx"), "CPU", properties)
        self.inputs = [tensor["name"] for tensor in config["input"]]
        self.outputs = [tensor["name"] for tensor in config["output"]]

    def execute(self, requests: list[Any]) -> list[Any]:
        """Run each request on its own, one after another."""
        responses = []
        for request in requests:
            feed = {
                name: pb_utils.get_input_tensor_by_name(request, name).as_numpy()
                for name in self.inputs
            }
            result = self.compiled(feed)
            responses.append(
                pb_utils.InferenceResponse(
                    output_tensors=[
                        pb_utils.Tensor(name, np.ascontiguousarray(result[name]))
                        for name in self.outputs
                    ]
                )
            )
        return responses
