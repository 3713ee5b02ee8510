"""OVMS's ``mapping_config.json``: serve a model's tensors under other names.

OVMS reads ``mapping_config.json`` from a model version folder::

    {"inputs": {"model_input_name": "served_name"}, "outputs": {"model_output": "served"}}

and its clients use the served names, in requests and in the ``shape`` and
``layout`` JSON keys alike. Pure logic: the file's text in, a :class:`TensorMapping`
out; applying it to an OpenVINO model lives in ``ovtriton.runtime``.

OVMS's schema (``MODELS_MAPPING_SCHEMA`` in its ``src/schema.cpp``) allows only the
keys ``inputs`` and ``outputs``, each an object of strings. A file that breaks it
fails the load (ovtriton's choice): serving the original names instead would give
clients written for the mapped names "unknown input" errors that hide the cause.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from ovtriton.errors import ConfigError

MAPPING_CONFIG_FILENAME = "mapping_config.json"
_SECTIONS = ("inputs", "outputs")


@dataclass(frozen=True)
class TensorMapping:
    """Model tensor name -> served name, for inputs and for outputs."""

    inputs: Mapping[str, str] = field(default_factory=dict)
    outputs: Mapping[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.inputs or self.outputs)


def parse_tensor_mapping(text: str) -> TensorMapping:
    """Parse and check the text of a ``mapping_config.json``.

    Raises:
        ConfigError: Not JSON, a key other than ``inputs`` / ``outputs``, a value that
            is not a string, an empty served name, or two tensors given one served name.
            The parameter named is ``mapping_config.json``.
    """
    try:
        decoded = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise _error(text, f"expected a JSON object ({error})") from None
    if not isinstance(decoded, dict):
        raise _error(text, 'expected a JSON object with "inputs" and/or "outputs"')
    unknown = sorted(set(decoded) - set(_SECTIONS))
    if unknown:
        raise _error(text, f"unknown key '{unknown[0]}'; OVMS allows only inputs and outputs")
    sections: dict[str, dict[str, str]] = {}
    for section in _SECTIONS:
        names = decoded.get(section, {})
        if not isinstance(names, dict):
            raise _error(text, f"'{section}' must be an object of model name -> served name")
        for original, served in names.items():
            if not isinstance(served, str) or not served:
                raise _error(text, f"{section} '{original}' must map to a non-empty string")
        duplicates = sorted({s for s in names.values() if list(names.values()).count(s) > 1})
        if duplicates:
            raise _error(text, f"{section} give several tensors the served name '{duplicates[0]}'")
        sections[section] = dict(names)
    return TensorMapping(sections["inputs"], sections["outputs"])


def _error(text: str, reason: str) -> ConfigError:
    return ConfigError(MAPPING_CONFIG_FILENAME, text.strip(), reason)
