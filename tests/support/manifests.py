"""The manifests under deploy/, and the validators they must pass (offline)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KSERVE_SCHEMAS = DEPLOY / "kserve" / "schemas"
KUBERNETES_VERSION = "1.37.0"  # the newest kubernetes-validate ships
KSERVE_CRDS = {
    "ClusterServingRuntime": "serving.kserve.io_clusterservingruntimes.yaml",
    "InferenceService": "serving.kserve.io_inferenceservices.yaml",
}


def manifest_files() -> list[Path]:
    """Every applied manifest: base and KServe files (not schemas, kustomizations, patches)."""
    files = sorted((DEPLOY / "kubernetes" / "base").glob("*.yaml"))
    files += sorted((DEPLOY / "kserve").glob("*.yaml"))
    return [f for f in files if f.name != "kustomization.yaml"]


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def all_documents() -> list[dict[str, Any]]:
    return [doc for path in manifest_files() for doc in documents(path)]


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for doc in all_documents() if doc["kind"] == kind]


def strict(schema: Any) -> Any:
    """The CRD schema with unknown fields refused.

    The API server's strict field validation refuses them; CRD schemas leave
    ``additionalProperties`` open.
    """
    if isinstance(schema, dict):
        schema = {k: strict(v) for k, v in schema.items()}
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


def kserve_schema(document: dict[str, Any]) -> dict[str, Any]:
    crd = yaml.safe_load((KSERVE_SCHEMAS / KSERVE_CRDS[document["kind"]]).read_text())
    version = document["apiVersion"].split("/")[1]
    (served,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
    schema = strict(served["schema"]["openAPIV3Schema"])
    # metadata is the API server's ObjectMeta, not part of the CRD's schema.
    schema["properties"]["metadata"] = {"type": "object"}
    return schema


def validate(document: dict[str, Any]) -> None:
    """Raise for a manifest the API server would refuse (KServe kinds: their CRD's schema).

    Raises:
        kubernetes_validate.ValidationError: a Kubernetes kind is invalid.
        jsonschema.ValidationError: a KServe kind is invalid.
    """
    if document.get("kind") in KSERVE_CRDS:
        jsonschema.validate(document, kserve_schema(document), jsonschema.Draft7Validator)
    else:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def merge_patch(base: Any, patch: Any) -> Any:
    """A strategic merge as kustomize applies it to these manifests.

    Maps merge, and lists of named items (containers, volumes, ports) merge by name.
    """
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = copy.deepcopy(base)
        for key, value in patch.items():
            merged[key] = merge_patch(base[key], value) if key in base else value
        return merged
    if (
        isinstance(base, list)
        and isinstance(patch, list)
        and all(isinstance(i, dict) and "name" in i for i in base + patch)
    ):
        merged_list = copy.deepcopy(base)
        names = [i["name"] for i in merged_list]
        for item in patch:
            if item["name"] in names:
                index = names.index(item["name"])
                merged_list[index] = merge_patch(merged_list[index], item)
            else:
                merged_list.append(item)
        return merged_list
    return copy.deepcopy(patch)


def containers(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The containers of a Deployment or a (Cluster)ServingRuntime."""
    spec = document["spec"]
    if document["kind"] == "Deployment":
        return list(spec["template"]["spec"]["containers"])
    return list(spec.get("containers", []))
