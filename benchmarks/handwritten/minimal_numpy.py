"""The leanest hand-written Python-backend model: the tiny model's ops in numpy.

``y = tanh(x * 0.5 + 1) * 2``, the same elementwise ops as the tiny OpenVINO
model ovtriton serves (see ``benchmarks.models.tiny_model``), so the difference
between the two is the backend's own per-request cost.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    """The least a Python-backend model can do: ``y = x + 1`` in NumPy."""
    def execute(self, requests: list[Any]) -> list[Any]:
        """One response per request."""
        responses = []
        for request in requests:
            x = pb_utils.get_input_tensor_by_name(request, "x").as_numpy()
            y = np.tanh(x * np.float32(0.5) + np.float32(1)) * np.float32(2)
            responses.append(pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("y", y)]))
        return responses
