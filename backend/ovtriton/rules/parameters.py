"""The backend's ``config.pbtxt`` parameters, parsed and checked.

Keys are OVMS's names (``batch_size``, ``shape``, ``layout``, ``nireq``,
``target_device``, ``plugin_config``) plus ovtriton's own (``cache_dir``,
``reshape_cache_size``) and the top-level names Triton's OpenVINO backend uses
(``PERFORMANCE_HINT``, ``NUM_STREAMS``, ``INFERENCE_NUM_THREADS``), so configs written
for that backend move over unchanged; ``execution_mode`` says how runs execute
(see :mod:`ovtriton.runtime.engine`). Unknown keys fail the load: a typo must not
silently fall back to a default.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from ovtriton.errors import ConfigError
from ovtriton.rules.batch_size import BatchSize, parse_batch_size
from ovtriton.rules.layout import LayoutParameter, parse_layout
from ovtriton.rules.lexing import is_digits
from ovtriton.rules.shape import ShapeParameter, parse_shape

# Triton's OpenVINO backend takes these OpenVINO properties as top-level parameters.
OPENVINO_BACKEND_PROPERTY_KEYS = ("PERFORMANCE_HINT", "NUM_STREAMS", "INFERENCE_NUM_THREADS")

KNOWN_PARAMETERS = (
    "batch_size",
    "shape",
    "layout",
    "nireq",
    "target_device",
    "plugin_config",
    "cache_dir",
    "reshape_cache_size",
    "execution_mode",
    *OPENVINO_BACKEND_PROPERTY_KEYS,
)

# As OVMS: a lone request gets every core. Under load the engine runs overlapping
# requests on a THROUGHPUT twin (see runtime/engine.py, the default operating point).
DEFAULT_PERFORMANCE_HINT = "LATENCY"
ExecutionMode = Literal["auto", "inline", "pipelined", "adaptive"]
EXECUTION_MODES: tuple[ExecutionMode, ...] = ("auto", "inline", "pipelined", "adaptive")
DEFAULT_RESHAPE_CACHE_SIZE = 8
MAX_NIREQ = 100_000
BOTH_SHAPE_AND_BATCH_WARNING = (
    "Both shape and batch size have been defined. Batch size parameter will be ignored."
)


@dataclass(frozen=True)
class BackendParameters:
    """Everything the backend reads from ``config.pbtxt`` ``parameters``."""

    batch_size: BatchSize | None = None
    shape: ShapeParameter | None = None
    layout: LayoutParameter | None = None
    nireq: int | None = None
    target_device: str = "CPU"
    plugin_config: Mapping[str, str] = field(default_factory=dict)
    cache_dir: str | None = None
    reshape_cache_size: int = DEFAULT_RESHAPE_CACHE_SIZE
    execution_mode: ExecutionMode = "auto"
    warnings: tuple[str, ...] = ()
    raw: Mapping[str, str] = field(default_factory=dict)

    @property
    def effective_batch_size(self) -> BatchSize | None:
        """``batch_size`` unless ``shape`` is set: shape wins, as in OVMS."""
        return None if self.shape is not None else self.batch_size

    @property
    def chose_performance(self) -> bool:
        """The user set a performance hint or stream count (ovtriton keeps hands off)."""
        return "PERFORMANCE_HINT" in self.plugin_config or "NUM_STREAMS" in self.plugin_config

    def compile_properties(self) -> dict[str, str]:
        """OpenVINO properties for ``compile_model``, with ovtriton's default hint."""
        properties = dict(self.plugin_config)
        if not self.chose_performance:
            properties["PERFORMANCE_HINT"] = DEFAULT_PERFORMANCE_HINT
        if self.cache_dir:
            properties["CACHE_DIR"] = self.cache_dir
        return properties


def string_parameters(model_config: Mapping[str, Any]) -> dict[str, str]:
    """The ``parameters`` of a Triton model config (as JSON) as plain strings."""
    raw = model_config.get("parameters") or {}
    return {key: str(value.get("string_value", "")) for key, value in raw.items()}


def parse_parameters(raw: Mapping[str, str]) -> BackendParameters:
    """Parse and validate the backend parameters.

    Args:
        raw: Parameter key to string value, as in ``config.pbtxt``.

    Returns:
        The parsed parameters; ``warnings`` lists what the user should be told.

    Raises:
        ConfigError: For an unknown key or a value that does not parse; the message
            names the parameter and the value.
    """
    unknown = sorted(set(raw) - set(KNOWN_PARAMETERS))
    if unknown:
        raise ConfigError(
            unknown[0],
            raw[unknown[0]],
            "unknown parameter; known parameters are " + ", ".join(KNOWN_PARAMETERS),
        )
    shape = parse_shape(raw.get("shape", ""))
    batch_size = parse_batch_size(raw.get("batch_size", ""))
    warnings = (BOTH_SHAPE_AND_BATCH_WARNING,) if shape and batch_size else ()
    return BackendParameters(
        batch_size=batch_size,
        shape=shape,
        layout=parse_layout(raw.get("layout", "")),
        nireq=_parse_nireq(raw.get("nireq", "")),
        target_device=_parse_device(raw.get("target_device", "")),
        plugin_config=_parse_plugin_config(raw),
        cache_dir=raw.get("cache_dir", "").strip() or None,
        reshape_cache_size=_parse_positive_int(
            "reshape_cache_size", raw.get("reshape_cache_size", ""), DEFAULT_RESHAPE_CACHE_SIZE
        ),
        execution_mode=_parse_execution_mode(raw.get("execution_mode", "")),
        warnings=warnings,
        raw=dict(raw),
    )


def _parse_execution_mode(text: str) -> ExecutionMode:
    mode = text.strip().lower() or "auto"
    if mode not in EXECUTION_MODES:
        raise ConfigError("execution_mode", text, "expected one of " + ", ".join(EXECUTION_MODES))
    return cast(ExecutionMode, mode)


def _parse_positive_int(parameter: str, text: str, default: int, maximum: int = 2**31 - 1) -> int:
    text = text.strip()
    if not text:
        return default
    # is_digits, not str.isdigit: "²" is a digit to Python but not a number to int().
    # The length check keeps int() away from strings too long for it to convert.
    if not is_digits(text) or len(text) > len(str(maximum)) or not 0 < int(text) <= maximum:
        raise ConfigError(parameter, text, f"expected an integer from 1 to {maximum}")
    return int(text)


def _parse_nireq(text: str) -> int | None:
    if not text.strip():
        return None  # the compiled model's OPTIMAL_NUMBER_OF_INFER_REQUESTS
    return _parse_positive_int("nireq", text, 0, MAX_NIREQ)


def _parse_device(text: str) -> str:
    device = text.strip()
    if not device:
        return "CPU"
    if not all(ch.isalnum() or ch in ":,._" for ch in device):
        raise ConfigError(
            "target_device",
            text,
            "expected a device name such as CPU, GPU, NPU, AUTO, HETERO:GPU,CPU or MULTI:GPU,CPU",
        )
    return device


def _parse_plugin_config(raw: Mapping[str, str]) -> dict[str, str]:
    text = raw.get("plugin_config", "").strip()
    properties: dict[str, str] = {}
    if text:
        try:
            decoded = json.loads(text)
        except (ValueError, RecursionError) as error:
            # ValueError also covers ints too long to convert; RecursionError deep nesting.
            raise ConfigError("plugin_config", text, f"expected a JSON object ({error})") from None
        if not isinstance(decoded, dict):
            raise ConfigError("plugin_config", text, "expected a JSON object of properties")
        for key, value in decoded.items():
            if isinstance(value, (dict, list)) or value is None:
                raise ConfigError(
                    "plugin_config", text, f"property {key} must be a string, number or boolean"
                )
            properties[key] = _property_text(value)
    for key in OPENVINO_BACKEND_PROPERTY_KEYS:
        value = raw.get(key, "").strip()
        if not value:
            continue
        if key in properties and properties[key] != value:
            raise ConfigError(key, value, f"conflicts with plugin_config's {key}={properties[key]}")
        properties[key] = value
    return properties


def _property_text(value: object) -> str:
    # JSON true/false must reach OpenVINO as its own spelling, not Python's.
    if isinstance(value, bool):
        return "YES" if value else "NO"
    return str(value)
