"""The tensors a converted model will serve, read with OpenVINO as the backend reads them.

Triton's ensemble scheduler needs explicit types and dims for a pipeline's inputs
and outputs. They are computed with the backend's own preparation
(:func:`ovtriton.runtime.preparation.prepare_from_config`: mapping_config.json,
layout, shape, batch_size) and the backend's auto-complete choices, so the ensemble
and its models cannot disagree.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ovtriton_serve.ovms_import.errors import OvmsImportError
from ovtriton_serve.ovms_import.mapping import ModelTensors, TensorSpec


@functools.cache
def _core() -> Any:
    """One OpenVINO Core for every model read (creating one loads its plugins)."""
    import openvino as ov

    return ov.Core()


def served_tensors(model_config: Mapping[str, Any], version_dir: Path) -> ModelTensors:
    """Inputs and outputs of one version, with the batch included when Triton batches.

    Raises:
        OvmsImportError: The backend would fail to load this version.
    """
    from ovtriton.errors import ConfigError, ModelLoadError
    from ovtriton.rules.tensors import choose_max_batch_size, config_entry
    from ovtriton.runtime.preparation import prepare_from_config

    try:
        _, prepared = prepare_from_config(_core(), model_config, version_dir, lambda _: None)
    except (ConfigError, ModelLoadError) as error:
        raise OvmsImportError(f"model '{model_config['name']}': {error}") from None
    batched = choose_max_batch_size(0, prepared.tensors) > 0

    def specs(tensors: Any) -> dict[str, TensorSpec]:
        found = {}
        for tensor in tensors:
            entry = config_entry(tensor, batched)
            dims = ([-1] if batched else []) + entry["dims"]
            found[tensor.name] = TensorSpec(entry["data_type"], tuple(dims))
        return found

    return ModelTensors(specs(prepared.inputs), specs(prepared.outputs))
