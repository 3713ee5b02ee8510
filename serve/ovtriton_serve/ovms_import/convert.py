"""``ovtriton import-ovms``: an OVMS ``config.json`` in, a Triton model repository out.

Everything is checked before anything is written: the document against OVMS's schema,
each entry's options, base paths, version folders and model files, the backend
parameters, and each pipeline's connections and tensor types. The repository is then
built in a temporary folder beside the output and renamed into place, so a failed
conversion leaves the output untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import json_format, text_format
from tritonclient.grpc import model_config_pb2

from ovtriton_serve.ovms_import import discovery, mapping
from ovtriton_serve.ovms_import.errors import OvmsImportError
from ovtriton_serve.ovms_import.schema import validate_config
from ovtriton_serve.ovms_import.tensors import served_tensors

CONFIG_FILENAME = "config.pbtxt"


@dataclass
class PlannedModel:
    """One Triton model to write: its config and, for ovtriton models, its versions."""

    config: dict[str, Any]
    versions: list[discovery.VersionSource] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The Triton model name."""
        return str(self.config["name"])


@dataclass
class Plan:
    """What the conversion writes, and what it skipped."""

    models: list[PlannedModel]
    skipped: list[mapping.Unsupported]
    notes: list[str]


def load_config(path: Path) -> dict[str, Any]:
    """Read and schema-check a ``config.json``."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise OvmsImportError(f"cannot read {path}: {error.strerror}") from None
    except (ValueError, RecursionError) as error:
        # OVMS's wording for a file that is not JSON.
        raise OvmsImportError(
            f"{path}: Configuration file is not a valid JSON file. Error: {error}"
        ) from None
    validate_config(document)
    return dict(document)


def plan_conversion(
    config_path: Path,
    skip_unsupported: bool = False,
    cache_dir: str | None = None,
    tensors_of: Callable[[Mapping[str, Any], Path], mapping.ModelTensors] = served_tensors,
) -> Plan:
    """Check everything and decide what to write; nothing is written.

    Args:
        config_path: OVMS's ``config.json``.
        skip_unsupported: Skip unconvertible entries (reported in ``Plan.skipped``)
            instead of failing.
        cache_dir: OVMS's ``--cache_dir``: models whose ``allow_cache`` is not false
            get it as ovtriton's ``cache_dir``.
        tensors_of: Reads a model version's served tensors with the backend's rules.
            Every served version is read, so a parameter that does not fit its model
            (a ``shape`` key that is no input, a bad ``mapping_config.json``) fails
            here, naming the model, instead of at the server's load.

    Raises:
        OvmsImportError: The first problem found, naming the entry and the option.
    """
    document = load_config(config_path)
    config_dir = config_path.absolute().parent
    unsupported = mapping.unsupported_lists(document)
    notes = []
    if "monitoring" in document:
        notes.append(
            "monitoring: Triton serves its metrics on the metrics port (--metrics-port) always; "
            "metrics_list is not applied"
        )

    entries = [item["config"] for item in document["model_config_list"]]
    pipelines = document.get("pipeline_config_list", [])
    names = [e["name"] for e in entries] + [p["name"] for p in pipelines]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise OvmsImportError(
            f"the name '{duplicated[0]}' is used by several models / pipelines; Triton "
            "model names must be unique"
        )

    models, problems = _plan_models(entries, config_dir, cache_dir)
    unsupported += problems
    convertible, problems = _convertible_pipelines(pipelines, entries, models)
    unsupported += problems
    # Refused before any model is read: reading is the slow part.
    if unsupported and not skip_unsupported:
        listed = "\n  ".join(str(u) for u in unsupported)
        raise OvmsImportError(
            f"cannot convert (pass --skip-unsupported to convert the rest):\n  {listed}"
        )

    served: dict[tuple[str, int], mapping.ModelTensors] = {}
    for planned in list(models.values()):
        for source in planned.versions:
            served[(planned.name, source.version)] = tensors_of(
                planned.config, _version_dir_to_read(source)
            )
    for pipeline in convertible:
        label = mapping.pipeline_label(pipeline["name"])

        def tensors(
            model_name: str, version: int | None, label: str = label
        ) -> mapping.ModelTensors:
            versions = [v.version for v in models[model_name].versions]
            if version is not None and version not in versions:
                raise OvmsImportError(
                    f"{label}: model '{model_name}' version {version} is not served "
                    f"(served: {versions})"
                )
            return served[(model_name, version if version is not None else max(versions))]

        models[pipeline["name"]] = PlannedModel(mapping.ensemble_config(pipeline, tensors))

    for config in (m.config for m in models.values()):
        _check_triton_config(config)
    return Plan(list(models.values()), unsupported, notes)


def _plan_models(
    entries: list[dict[str, Any]], config_dir: Path, cache_dir: str | None
) -> tuple[dict[str, PlannedModel], list[mapping.Unsupported]]:
    """The convertible model entries, planned; the others, with the reason."""
    models: dict[str, PlannedModel] = {}
    unsupported: list[mapping.Unsupported] = []
    for entry in entries:
        problems = mapping.unsupported_in_model(entry)
        if not problems:
            cloud = mapping.cloud_path_error(entry["name"], entry["base_path"])
            if cloud is not None:
                raise cloud
            base = discovery.resolve_base_path(entry["base_path"], config_dir)
            if base.is_dir() and (base / "graph.pbtxt").is_file():
                label = mapping.model_label(entry["name"])
                problems.append(
                    mapping.Unsupported(label, "base_path", "it holds a MediaPipe graph")
                )
        if problems:
            unsupported += problems
        else:
            models[entry["name"]] = _plan_model(entry, base, cache_dir)
    return models, unsupported


def _convertible_pipelines(
    pipelines: list[dict[str, Any]],
    entries: list[dict[str, Any]],
    models: Mapping[str, PlannedModel],
) -> tuple[list[dict[str, Any]], list[mapping.Unsupported]]:
    """The pipelines that can become ensembles; the others, with the reason.

    Raises:
        OvmsImportError: A node names a model that is not in model_config_list.
    """
    known = {e["name"] for e in entries}
    convertible, unsupported = [], []
    for pipeline in pipelines:
        label = mapping.pipeline_label(pipeline["name"])
        problems = mapping.unsupported_in_pipeline(pipeline)
        for model_name, _ in mapping.pipeline_models(pipeline):
            if model_name not in known:
                raise OvmsImportError(
                    f"{label}: a node uses model '{model_name}', which is not in model_config_list"
                )
            if model_name not in models and not problems:
                problems.append(
                    mapping.Unsupported(label, "nodes", f"model '{model_name}' is not converted")
                )
        if problems:
            unsupported += problems
        else:
            convertible.append(pipeline)
    return convertible, unsupported


def _plan_model(entry: Mapping[str, Any], base: Path, cache_dir: str | None) -> PlannedModel:
    label = mapping.model_label(entry["name"])
    params = mapping.backend_parameters(entry, cache_dir)
    policy = mapping.version_policy(entry.get("model_version_policy"))
    if discovery.is_model_file(base):
        sources = [discovery.single_file(base)]
    else:
        folders = discovery.version_folders(base, label)
        if not folders:
            raise OvmsImportError(
                f"{label}: base_path {base} holds no version folder (1, 2, ...) and is not a "
                f"model file ({', '.join(discovery.MODEL_EXTENSIONS)})"
            )
        served = mapping.served_versions(policy, list(folders))
        if not served:
            raise OvmsImportError(
                f"{label}: model_version_policy {json.dumps(entry.get('model_version_policy'))} "
                f"serves none of the versions in {base} ({sorted(folders)})"
            )
        sources = [
            discovery.VersionSource(
                v, folders[v], discovery.model_file_in(folders[v], f"{label} version {v}")
            )
            for v in served
        ]
    filename = mapping.single_model_filename(
        entry["name"], {s.version: s.model_filename for s in sources}
    )
    return PlannedModel(mapping.model_config(entry["name"], params, policy, filename), sources)


def _version_dir_to_read(source: discovery.VersionSource) -> Path:
    """A folder laid out like the version will be, to read its tensors from."""
    if not source.files:
        return source.path
    # A single file is read from its own folder: its mapping_config.json is there too.
    return source.path.parent


def _check_triton_config(config: Mapping[str, Any]) -> None:
    """Triton's own ModelConfig message must accept what is written."""
    try:
        json_format.ParseDict(config, model_config_pb2.ModelConfig())
    except json_format.ParseError as error:  # a bug here, never the user's input
        raise OvmsImportError(f"model '{config.get('name')}': {error}") from None


def config_text(config: Mapping[str, Any]) -> str:
    """``config.pbtxt`` text for a ModelConfig given as JSON."""
    message = json_format.ParseDict(config, model_config_pb2.ModelConfig())
    return str(text_format.MessageToString(message))


def check_output(output: Path) -> None:
    """``--output`` must be absent or an empty folder."""
    if output.is_symlink() or (output.exists() and not output.is_dir()):
        raise OvmsImportError(f"--output {output} exists and is not a folder")
    if output.is_dir() and any(output.iterdir()):
        raise OvmsImportError(f"--output {output} is not empty; give a new or empty folder")


def write_repository(plan: Plan, output: Path, copy: bool = False) -> None:
    """Write the planned repository to ``output`` in one rename.

    Version folders are symlinked (absolute targets) unless ``copy``. The work is
    done in a temporary folder beside ``output``, so on any failure ``output`` is
    left as it was.
    """
    check_output(output)
    output = output.absolute()
    output.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    try:
        umask = os.umask(0)
        os.umask(umask)
        work.chmod(0o777 & ~umask)  # mkdtemp's 0700 would hide the repository from others
        for model in plan.models:
            folder = work / model.name
            folder.mkdir()
            (folder / CONFIG_FILENAME).write_text(config_text(model.config))
            for source in model.versions:
                _place_version(source, folder / str(source.version), copy)
            if model.config.get("platform") == "ensemble":
                (folder / "1").mkdir()  # Triton serves an ensemble from an empty version
        if output.is_dir():
            output.rmdir()  # empty, checked above
        work.rename(output)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def _place_version(source: discovery.VersionSource, target: Path, copy: bool) -> None:
    if not source.files:
        if copy:
            shutil.copytree(source.path, target, symlinks=False)
        else:
            target.symlink_to(source.path.resolve(), target_is_directory=True)
        return
    target.mkdir()
    for path in source.files:
        destination = target / path.name
        if not copy:
            destination.symlink_to(path.resolve(), target_is_directory=path.is_dir())
        elif path.is_dir():
            shutil.copytree(path, destination)
        else:
            shutil.copy2(path, destination)


def import_ovms(
    config_path: Path,
    output: Path,
    copy: bool = False,
    skip_unsupported: bool = False,
    cache_dir: str | None = None,
    warn: Callable[[str], None] = lambda _: None,
) -> Plan:
    """Convert ``config_path`` into a Triton repository at ``output``.

    Returns:
        The plan that was written; each skipped entry and note was also passed to
        ``warn``.

    Raises:
        OvmsImportError: Nothing was written; the message says why.
    """
    check_output(output)
    plan = plan_conversion(config_path, skip_unsupported, cache_dir)
    for skipped in plan.skipped:
        warn(f"skipping {skipped}")
    for note in plan.notes:
        warn(note)
    write_repository(plan, output, copy)
    return plan
