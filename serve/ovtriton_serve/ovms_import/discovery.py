"""What an OVMS ``base_path`` holds on disk: version folders and model files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ovtriton.rules.tensor_mapping import MAPPING_CONFIG_FILENAME
from ovtriton_serve.ovms_import.errors import OvmsImportError

# OVMS looks for these in this order; an IR also needs a .bin beside its .xml
# (OVMS's OV_MODEL_FILES_EXTENSIONS, ONNX_..., PADDLE_..., TF_..., TFLITE_...).
MODEL_EXTENSIONS = (".xml", ".onnx", ".pdmodel", ".pb", ".tflite")
_COMPANION_EXTENSIONS = {".xml": ".bin", ".pdmodel": ".pdiparams"}
_SAVED_MODEL_FOLDERS = ("variables", "assets")


@dataclass(frozen=True)
class VersionSource:
    """Where one served version comes from.

    Attributes:
        version: The Triton version number.
        path: A version folder (linked or copied whole), or a single model file.
        model_filename: The model file's name inside the version.
        files: For a single model file, the entries to place in the version folder
            (the file, its .bin / .pdiparams, mapping_config.json, a SavedModel's
            variables/ and assets/); empty for a version folder.
    """

    version: int
    path: Path
    model_filename: str
    files: tuple[Path, ...] = ()


def resolve_base_path(base_path: str, config_dir: Path) -> Path:
    """``base_path`` as OVMS reads it: relative to the folder of config.json."""
    path = Path(base_path)
    return (path if path.is_absolute() else config_dir / path).absolute()


def model_file_in(folder: Path, label: str) -> str:
    """The model file OVMS would load from a version folder, by OVMS's extension order.

    Raises:
        OvmsImportError: No model file, an IR without its .bin, or several candidate
            files of the first kind found (OVMS would pick one at random).
    """
    files = sorted(p.name for p in folder.iterdir() if p.is_file())
    for extension in MODEL_EXTENSIONS:
        candidates = [f for f in files if f.lower().endswith(extension)]
        if not candidates:
            continue
        companion = _COMPANION_EXTENSIONS.get(extension)
        if companion and not any(f.lower().endswith(companion) for f in files):
            continue  # OVMS needs both files of an IR / Paddle model
        if len(candidates) > 1:
            raise OvmsImportError(
                f"{label}: {folder} holds several {extension} files ({', '.join(candidates)}); "
                "OVMS would load any one of them, so keep one"
            )
        return candidates[0]
    raise OvmsImportError(
        f"{label}: no model file in {folder} (looked for {', '.join(MODEL_EXTENSIONS)})"
    )


def version_folders(base: Path, label: str) -> dict[int, Path]:
    """The numeric version folders under ``base``.

    Raises:
        OvmsImportError: ``base`` is not a folder, or two folders name one version.
    """
    if not base.is_dir():
        raise OvmsImportError(f"{label}: base_path {base} does not exist")
    found: dict[int, Path] = {}
    for child in sorted(base.iterdir()):
        if child.is_dir() and child.name.isascii() and child.name.isdigit():
            version = int(child.name)
            if version <= 0:
                continue  # OVMS serves positive versions only
            if version in found:
                raise OvmsImportError(
                    f"{label}: folders {found[version].name} and {child.name} are both version "
                    f"{version}"
                )
            found[version] = child
    return found


def single_file(path: Path) -> VersionSource:
    """A ``base_path`` naming one model file, served as version 1."""
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    companion = _COMPANION_EXTENSIONS.get(path.suffix.lower())
    files = [path]
    if companion:
        files += [p for p in path.parent.iterdir() if p.name == stem + companion]
    mapping = path.parent / MAPPING_CONFIG_FILENAME
    if mapping.is_file():
        files.append(mapping)
    if path.suffix.lower() == ".pb":
        files += [path.parent / f for f in _SAVED_MODEL_FOLDERS if (path.parent / f).is_dir()]
    return VersionSource(1, path, path.name, tuple(files))


def is_model_file(path: Path) -> bool:
    """``path`` is a file of a kind OVMS loads (by extension)."""
    return path.is_file() and path.suffix.lower() in MODEL_EXTENSIONS
