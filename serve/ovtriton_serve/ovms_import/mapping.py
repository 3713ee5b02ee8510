"""OVMS ``config.json`` entries -> Triton model configs: the pure part of the import.

No file is read here. The caller has validated the document against OVMS's schema
(:mod:`ovtriton_serve.ovms_import.schema`) and passes in what the file system holds
(version numbers, model file names) and, for pipelines, the served tensors of each
model. Every error names the entry and the option.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ovtriton.errors import ConfigError
from ovtriton.rules.parameters import parse_parameters
from ovtriton_serve.ovms_import.errors import OvmsImportError

CLOUD_PREFIXES = ("s3://", "gs://", "azure://")

# Options of a model_config_list entry that have no Triton counterpart. Their
# presence (stateful: only when true) makes the entry unconvertible.
STATEFUL_OPTIONS = ("max_sequence_number", "idle_sequence_cleanup", "low_latency_transformation")
MEDIAPIPE_OPTIONS = ("graph_path", "subconfig")
# Top-level lists whose every entry is unconvertible, and what each entry is.
UNSUPPORTED_LISTS = {
    "custom_loader_config_list": "custom loaders",
    "custom_node_library_config_list": "custom node libraries",
    "mediapipe_config_list": "MediaPipe graphs",
}
REQUEST_NODE = "request"  # OVMS's name for the pipeline's own inputs


@dataclass(frozen=True)
class Unsupported:
    """An entry that cannot be converted, and the option that makes it so."""

    entry: str  # e.g. "model 'face'" or "pipeline 'detect'"
    option: str
    reason: str

    def __str__(self) -> str:
        return f"{self.entry}: option '{self.option}' cannot be converted: {self.reason}"


@dataclass(frozen=True)
class TensorSpec:
    """A served tensor as Triton's ensemble must declare it (batch included)."""

    data_type: str
    dims: tuple[int, ...]


@dataclass(frozen=True)
class ModelTensors:
    """The served inputs and outputs of one model version."""

    inputs: Mapping[str, TensorSpec]
    outputs: Mapping[str, TensorSpec]


def model_label(name: object) -> str:
    """How messages name a model entry."""
    return f"model '{name}'"


def pipeline_label(name: object) -> str:
    """How messages name a pipeline entry."""
    return f"pipeline '{name}'"


def unsupported_in_model(config: Mapping[str, Any]) -> list[Unsupported]:
    """Why a ``model_config_list`` entry's ``config`` cannot become an ovtriton model."""
    entry = model_label(config.get("name"))
    found = []
    if config.get("stateful") is True:
        found.append(
            Unsupported(
                entry,
                "stateful",
                "stateful models are retired in OVMS; Triton's sequence batching needs a "
                "backend that keeps state",
            )
        )
    found += [
        Unsupported(entry, option, "it only applies to stateful models, which are retired")
        for option in STATEFUL_OPTIONS
        if option in config
    ]
    if "custom_loader_options" in config:
        found.append(
            Unsupported(entry, "custom_loader_options", "custom loaders are OVMS plug-ins")
        )
    found += [
        Unsupported(entry, option, "MediaPipe graphs have no Triton counterpart")
        for option in MEDIAPIPE_OPTIONS
        if option in config
    ]
    if "base_path" not in config and not any(o in config for o in MEDIAPIPE_OPTIONS):
        # OVMS serves an entry with a name only as the MediaPipe graph of that name.
        found.append(
            Unsupported(entry, "base_path", "an entry without base_path is a MediaPipe graph")
        )
    return found


def unsupported_in_pipeline(pipeline: Mapping[str, Any]) -> list[Unsupported]:
    """Why a ``pipeline_config_list`` entry cannot become a Triton ensemble."""
    entry = pipeline_label(pipeline.get("name"))
    found = []
    if "demultiply_count" in pipeline:
        found.append(Unsupported(entry, "demultiply_count", "Triton's ensembles do not demultiply"))
    for node in pipeline.get("nodes", []):
        where = f"{entry} node '{node.get('name')}'"
        if node.get("type") == "custom" or "library_name" in node:
            found.append(Unsupported(where, "library_name", "custom nodes are OVMS C libraries"))
        for option, reason in (
            ("demultiply_count", "Triton's ensembles do not demultiply"),
            ("gather_from_node", "Triton's ensembles do not gather"),
        ):
            if option in node:
                found.append(Unsupported(where, option, reason))
    return found


def unsupported_lists(document: Mapping[str, Any]) -> list[Unsupported]:
    """Entries of the top-level lists ovtriton has no counterpart for."""
    found = []
    for key, what in UNSUPPORTED_LISTS.items():
        for index, item in enumerate(document.get(key, [])):
            config = item.get("config", item) if isinstance(item, dict) else {}
            name = config.get("name", config.get("loader_name", index))
            found.append(Unsupported(f"{key} entry '{name}'", key, f"{what} are OVMS-only"))
    return found


def cloud_path_error(name: str, base_path: str) -> OvmsImportError | None:
    """The refusal for a ``base_path`` on cloud storage, or None for a local path."""
    if not base_path.lower().startswith(CLOUD_PREFIXES):
        return None
    return OvmsImportError(
        f"{model_label(name)}: base_path '{base_path}' is on cloud storage, which the import "
        "does not fetch; use a Triton repository on that storage instead (Triton reads s3://, "
        "gs:// and as:// repositories natively in its container): copy the converted "
        "repository there, or serve it with --model-repository"
    )


def backend_parameters(config: Mapping[str, Any], cache_dir: str | None) -> dict[str, str]:
    """The ovtriton ``config.pbtxt`` parameters for one entry, with OVMS's meaning.

    Values are written as OVMS users wrote them: an integer batch_size as its
    digits, string forms as they are, ``shape`` / ``layout`` / ``plugin_config``
    objects as JSON. ``nireq`` 0 is OVMS's "let OpenVINO choose", which is
    ovtriton's default too, so it is left out.

    Raises:
        OvmsImportError: The backend would refuse a value; the message names the
            entry and the parameter.
    """
    params: dict[str, str] = {}
    if "batch_size" in config:
        params["batch_size"] = str(config["batch_size"])
    for key in ("shape", "layout"):
        if key in config:
            value = config[key]
            params[key] = value if isinstance(value, str) else json.dumps(value)
    if config.get("nireq", 0):
        params["nireq"] = str(config["nireq"])
    if "target_device" in config:
        params["target_device"] = config["target_device"]
    if config.get("plugin_config"):
        params["plugin_config"] = json.dumps(config["plugin_config"])
    if cache_dir and config.get("allow_cache", True):
        params["cache_dir"] = cache_dir
    try:
        parse_parameters(params)
    except ConfigError as error:
        raise OvmsImportError(f"{model_label(config.get('name'))}: {error}") from None
    return params


def version_policy(policy: Mapping[str, Any] | None) -> dict[str, Any]:
    """Triton's ``version_policy`` for OVMS's ``model_version_policy``.

    OVMS's default, the latest version only, is written out so the repository says
    what it serves.
    """
    if not policy or "latest" in policy:
        latest = (policy or {}).get("latest", {})
        return {"latest": {"num_versions": int(latest.get("num_versions", 1))}}
    if "specific" in policy:
        return {"specific": {"versions": [int(v) for v in policy["specific"]["versions"]]}}
    return {"all": {}}


def served_versions(policy: Mapping[str, Any], available: Sequence[int]) -> list[int]:
    """The versions a Triton ``version_policy`` loads out of those on disk, ascending."""
    ordered = sorted(set(available))
    if "latest" in policy:
        return ordered[-int(policy["latest"]["num_versions"]) :]
    if "specific" in policy:
        return [v for v in ordered if v in set(policy["specific"]["versions"])]
    return ordered


def model_config(
    name: str, params: Mapping[str, str], policy: Mapping[str, Any], model_filename: str
) -> dict[str, Any]:
    """The ``config.pbtxt`` of one model, as the JSON form of Triton's ``ModelConfig``.

    Inputs, outputs and batching are left to the backend's auto-complete, which
    applies the same rules as OVMS to the model file.
    """
    config: dict[str, Any] = {
        "name": name,
        "backend": "ovtriton",
        "version_policy": dict(policy),
        "default_model_filename": model_filename,
    }
    if params:
        config["parameters"] = {k: {"string_value": v} for k, v in params.items()}
    return config


def single_model_filename(name: str, filenames: Mapping[int, str]) -> str:
    """The one model file name every served version uses.

    Raises:
        OvmsImportError: Versions name their files differently; Triton's
            ``default_model_filename`` is one name for the whole model.
    """
    distinct = sorted(set(filenames.values()))
    if len(distinct) > 1:
        listed = ", ".join(f"{v}: {f}" for v, f in sorted(filenames.items()))
        raise OvmsImportError(
            f"{model_label(name)}: its versions hold their model under different file names "
            f"({listed}); Triton's default_model_filename is one name per model, so give "
            "them one name"
        )
    return distinct[0]


def pipeline_models(pipeline: Mapping[str, Any]) -> list[tuple[str, int | None]]:
    """(model name, pinned version or None) of each node, in order."""
    return [(node["model_name"], node.get("version")) for node in pipeline["nodes"]]


def ensemble_config(
    pipeline: Mapping[str, Any], tensors_of: Callable[[str, int | None], ModelTensors]
) -> dict[str, Any]:
    """A Triton ensemble serving an OVMS pipeline of DL-model nodes under its names.

    Pipeline inputs and outputs keep their names. A node output that a pipeline
    output takes is produced under that output's name (other nodes read it from
    there); one only other nodes read gets the name ``<node>/<alias>``; one nothing
    reads is left out, as Triton refuses unused ensemble tensors. Triton's ensemble
    needs every input and output declared with type and dims: they come from the
    model each one connects to, with the batch included (``max_batch_size: 0``), so
    the ensemble accepts exactly the shapes its first and last models serve.

    Args:
        pipeline: One ``pipeline_config_list`` entry (schema-valid, DL nodes only).
        tensors_of: The served tensors of a model (and version, None for the one
            Triton serves by default).

    Raises:
        OvmsImportError: A connection names a node, alias or tensor that does not
            exist, or cannot be expressed as an ensemble; the message names the
            pipeline and what is wrong.
    """
    return _Ensemble(pipeline, tensors_of).config()


def _only_item(item: Mapping[str, Any]) -> tuple[str, Mapping[str, str]]:
    """OVMS writes each connection as a one-key object: ``{"name": {"node_name", ...}}``."""
    ((name, source),) = item.items()
    return name, source


class _Ensemble:
    """One pipeline on its way to an ensemble config; each step checks what it reads."""

    def __init__(
        self,
        pipeline: Mapping[str, Any],
        tensors_of: Callable[[str, int | None], ModelTensors],
    ) -> None:
        self.label = pipeline_label(pipeline["name"])
        self.pipeline = pipeline
        self.nodes = {node["name"]: node for node in pipeline["nodes"]}
        if len(self.nodes) != len(pipeline["nodes"]) or REQUEST_NODE in self.nodes:
            raise self.error(f"node names must be unique and other than '{REQUEST_NODE}'")
        self.inputs = list(pipeline["inputs"])
        self.tensors = {
            name: tensors_of(node["model_name"], node.get("version"))
            for name, node in self.nodes.items()
        }
        self.aliases = self._aliases()
        self.sources = {
            name: (source["node_name"], source["data_item"])
            for name, source in map(_only_item, pipeline["outputs"])
        }
        self.names = self._tensor_names()

    def error(self, message: str) -> OvmsImportError:
        """An error that names the pipeline."""
        return OvmsImportError(f"{self.label}: {message}")

    def _aliases(self) -> dict[tuple[str, str], str]:
        """(node, alias) -> the model output it is."""
        aliases = {}
        for name, node in self.nodes.items():
            outputs = self.tensors[name].outputs
            for output in node["outputs"]:
                if output["data_item"] not in outputs:
                    raise self.error(
                        f"node '{name}' output data_item '{output['data_item']}' is not an "
                        f"output of model '{node['model_name']}' (it has {sorted(outputs)})"
                    )
                aliases[(name, output["alias"])] = output["data_item"]
        return aliases

    def _check_source(self, where: str, node_name: str, data_item: str) -> None:
        if node_name == REQUEST_NODE:
            if data_item not in self.inputs:
                raise self.error(
                    f"{where} reads '{data_item}' from the request, which is not one of the "
                    f"pipeline inputs {self.inputs}"
                )
        elif (node_name, data_item) not in self.aliases:
            raise self.error(
                f"{where} reads alias '{data_item}' of node '{node_name}', which does not exist"
            )

    def _tensor_names(self) -> dict[tuple[str, str], str]:
        """(node, alias) -> its ensemble tensor name, for the outputs something reads."""
        names: dict[tuple[str, str], str] = {}
        for output_name, (node_name, data_item) in self.sources.items():
            self._check_source(f"pipeline output '{output_name}'", node_name, data_item)
            if node_name == REQUEST_NODE:
                raise self.error(
                    f"pipeline output '{output_name}' is the request's '{data_item}' itself; "
                    "a Triton ensemble cannot pass an input through"
                )
            if (node_name, data_item) in names:
                raise self.error(
                    f"pipeline outputs '{names[(node_name, data_item)]}' and '{output_name}' "
                    "are the same node output; a Triton ensemble gives each tensor one name"
                )
            names[(node_name, data_item)] = output_name
        # Triton refuses an ensemble tensor that nothing reads, so only node outputs
        # another node reads get an internal name; the others stay out of output_map.
        read = {
            (source["node_name"], source["data_item"])
            for node in self.nodes.values()
            for _, source in map(_only_item, node["inputs"])
        }
        taken = set(self.inputs) | set(self.sources)
        for key in self.aliases:
            if key not in names and key in read:
                internal = f"{key[0]}/{key[1]}"
                while internal in taken:
                    internal += "_"
                taken.add(internal)
                names[key] = internal
        return names

    def _step(self, name: str, consumers: dict[str, TensorSpec]) -> dict[str, Any]:
        """The ensemble step of one node; records which model input each request input feeds."""
        node, served = self.nodes[name], self.tensors[name]
        input_map = {}
        for model_input, source in map(_only_item, node["inputs"]):
            where = f"node '{name}' input '{model_input}'"
            if model_input not in served.inputs:
                raise self.error(
                    f"{where} is not an input of model '{node['model_name']}' "
                    f"(it has {sorted(served.inputs)})"
                )
            self._check_source(where, source["node_name"], source["data_item"])
            if source["node_name"] == REQUEST_NODE:
                wanted = consumers.setdefault(source["data_item"], served.inputs[model_input])
                if wanted != served.inputs[model_input]:
                    raise self.error(
                        f"pipeline input '{source['data_item']}' feeds model inputs of different "
                        f"types or dims ({wanted} and, at {where}, {served.inputs[model_input]})"
                    )
                input_map[model_input] = source["data_item"]
            else:
                input_map[model_input] = self.names[(source["node_name"], source["data_item"])]
        missing = sorted(set(served.inputs) - set(input_map))
        if missing:
            raise self.error(f"node '{name}' leaves model input '{missing[0]}' unfed")
        output_map = {
            model_output: self.names[(node_name, alias)]
            for (node_name, alias), model_output in self.aliases.items()
            if node_name == name and (node_name, alias) in self.names
        }
        if not output_map:
            raise self.error(
                f"nothing reads an output of node '{name}' (neither another node nor a "
                "pipeline output)"
            )
        return {
            "model_name": node["model_name"],
            "model_version": int(node.get("version", -1)),
            "input_map": input_map,
            "output_map": output_map,
        }

    def config(self) -> dict[str, Any]:
        """The ensemble's ``config.pbtxt``, as the JSON form of Triton's ``ModelConfig``."""
        consumers: dict[str, TensorSpec] = {}
        steps = [self._step(name, consumers) for name in self.nodes]
        unused = [i for i in self.inputs if i not in consumers]
        if unused:
            raise self.error(f"pipeline input '{unused[0]}' feeds no node")

        def declared(tensor: str, spec: TensorSpec) -> dict[str, Any]:
            return {"name": tensor, "data_type": spec.data_type, "dims": list(spec.dims)}

        outputs = [
            declared(name, self.tensors[node].outputs[self.aliases[(node, item)]])
            for name, (node, item) in self.sources.items()
        ]
        return {
            "name": self.pipeline["name"],
            "platform": "ensemble",
            "max_batch_size": 0,
            "input": [declared(i, consumers[i]) for i in self.inputs],
            "output": outputs,
            "ensemble_scheduling": {"step": steps},
        }
