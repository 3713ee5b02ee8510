"""Finding and reading the model file of one model version."""

from __future__ import annotations

from pathlib import Path

import openvino as ov

from ovtriton.errors import ConfigError, ModelLoadError
from ovtriton.rules.tensor_mapping import (
    MAPPING_CONFIG_FILENAME,
    TensorMapping,
    parse_tensor_mapping,
)

# Looked for in this order when the config names no file.
DEFAULT_MODEL_FILENAMES = (
    "model.xml",
    "model.onnx",
    "model.tflite",
    "model.pdmodel",
    "saved_model.pb",
)


def locate_model_file(version_dir: Path, default_model_filename: str = "") -> Path:
    """The model file inside ``version_dir``.

    Args:
        version_dir: ``<repo>/<model>/<version>``.
        default_model_filename: Triton's ``default_model_filename``; empty to search
            :data:`DEFAULT_MODEL_FILENAMES`.

    Raises:
        ConfigError: ``default_model_filename`` points outside the version folder.
        ModelLoadError: No model file is there.
    """
    version_dir = version_dir.resolve()
    if default_model_filename:
        candidate = version_dir / default_model_filename
        # A config must not make the server read files outside the model's own folder.
        # The check is on the name, not on the resolved file: a symlink placed in the
        # version folder (how `ovtriton import-ovms` links a single model file) was
        # put there by whoever owns the repository, as Triton's own backends allow.
        if Path(default_model_filename).is_absolute() or ".." in Path(default_model_filename).parts:
            raise ConfigError(
                "default_model_filename",
                default_model_filename,
                "must name a file inside the model version folder",
            )
        if not candidate.is_file():
            raise ModelLoadError(f"model file {candidate} does not exist")
        return candidate
    for name in DEFAULT_MODEL_FILENAMES:
        if (version_dir / name).is_file():
            return version_dir / name
    raise ModelLoadError(
        f"no model file in {version_dir}: expected one of {', '.join(DEFAULT_MODEL_FILENAMES)} "
        "or default_model_filename in config.pbtxt"
    )


def read_model(core: ov.Core, path: Path) -> ov.Model:
    """Read an IR / ONNX / other model OpenVINO understands, with a clear error."""
    try:
        return core.read_model(str(path))
    except Exception as error:  # OpenVINO raises bare RuntimeError for every parse failure
        raise ModelLoadError(f"OpenVINO could not read {path}: {error}") from error


def read_tensor_mapping(version_dir: Path) -> TensorMapping:
    """OVMS's ``mapping_config.json`` of a model version; empty when there is none.

    Raises:
        ConfigError: The file is there but does not parse (the message names it).
    """
    path = version_dir / MAPPING_CONFIG_FILENAME
    if not path.is_file():
        return TensorMapping()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(MAPPING_CONFIG_FILENAME, str(path), f"cannot be read: {error}") from None
    return parse_tensor_mapping(text)
