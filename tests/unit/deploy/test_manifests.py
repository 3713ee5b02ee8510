"""deploy/: every manifest validates offline against the real schemas.

They also agree with the CLI, the Dockerfile, the README and the shipped
prometheus-adapter rule.
"""

from __future__ import annotations

import copy
import re
import socket
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from ovtriton_serve.cli.main import build_parser
from tests.support.dockerfile import final_stage, requirements
from tests.support.manifests import (
    DEPLOY,
    ROOT,
    all_documents,
    containers,
    documents,
    manifest_files,
    merge_patch,
    of_kind,
    validate,
)

QUEUE, SUCCESS = "nv_inference_queue_duration_us", "nv_inference_request_success"


def served_containers() -> list[tuple[str, dict[str, Any]]]:
    found = [
        (f"{doc['kind']}/{doc['metadata']['name']}", c)
        for doc in all_documents()
        if doc["kind"] in ("Deployment", "ClusterServingRuntime")
        for c in containers(doc)
    ]
    assert len(found) == 2
    return found


def serve_args(container: dict[str, Any]) -> Any:
    assert container["command"] == ["ovtriton", "serve"]
    return build_parser().parse_args(["serve", *container["args"]])


def container_port(container: dict[str, Any], port: int | str) -> int:
    """A probe's or Service's port: a number, or a containerPort's name."""
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in container["ports"] if p.get("name") == port]
    return int(number)


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: p.name)
def test_every_manifest_validates(path: Any) -> None:
    for document in documents(path):
        validate(document)


def test_the_validators_work_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*_: object) -> None:
        raise AssertionError("a validator tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    for document in all_documents():
        validate(document)


def broken(kind: str) -> list[tuple[str, dict[str, Any]]]:
    (document,) = of_kind(kind)
    cases = []
    typo = copy.deepcopy(document)
    spec = typo["spec"]["template"]["spec"] if kind == "Deployment" else typo["spec"]
    spec["contianers"] = spec.pop("containers")
    cases.append(("misspelled field", typo))
    bad_port = copy.deepcopy(document)
    containers(bad_port)[0]["ports"][0]["containerPort"] = "eighty"
    cases.append(("port not a number", bad_port))
    return cases


@pytest.mark.parametrize("kind", ["Deployment", "ClusterServingRuntime"])
def test_a_broken_manifest_fails_the_same_validator(kind: str) -> None:
    errors = (kubernetes_validate.ValidationError, jsonschema.ValidationError)
    for what, document in broken(kind):
        with pytest.raises(errors):
            validate(document)
            pytest.fail(f"{kind} with a {what} passed")


def test_a_broken_hpa_and_inference_service_fail() -> None:
    (hpa,) = of_kind("HorizontalPodAutoscaler")
    hpa = copy.deepcopy(hpa)
    hpa["spec"]["metrics"][0]["pods"]["target"]["type"] = "Percent"
    del hpa["spec"]["scaleTargetRef"]
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(hpa)
    (service,) = of_kind("InferenceService")
    service = copy.deepcopy(service)
    service["spec"]["predictor"]["minReplicas"] = "two"
    with pytest.raises(jsonschema.ValidationError):
        validate(service)


def test_kustomization_lists_every_base_file_and_the_overlay_validates() -> None:
    base = DEPLOY / "kubernetes" / "base"
    listed = yaml.safe_load((base / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == sorted(
        p.name for p in base.glob("*.yaml") if p.name != "kustomization.yaml"
    )
    overlay = DEPLOY / "kubernetes" / "overlays" / "large"
    patches = yaml.safe_load((overlay / "kustomization.yaml").read_text())["patches"]
    (deployment,) = of_kind("Deployment")
    for patch in patches:
        deployment = merge_patch(deployment, yaml.safe_load((overlay / patch["path"]).read_text()))
    validate(deployment)
    (container,) = containers(deployment)
    assert container["resources"]["limits"]["cpu"] == "8"
    assert container["args"] == containers(of_kind("Deployment")[0])[0]["args"]


@pytest.mark.parametrize("name_container", served_containers(), ids=lambda c: c[0])
def test_the_command_is_one_ovtriton_serve_accepts(name_container: Any) -> None:
    args = serve_args(name_container[1])
    assert args.host == "0.0.0.0"
    assert str(args.tritonserver) == "/opt/tritonserver/bin/tritonserver"
    assert args.health_port is not None and args.log_format == "json"
    assert not args.no_guard  # nothing in production runs unguarded


def test_a_flag_serve_does_not_know_is_caught() -> None:
    container = copy.deepcopy(served_containers()[0][1])
    container["args"].append("--http-prot=8000")
    with pytest.raises(SystemExit):
        serve_args(container)


@pytest.mark.parametrize("name_container", served_containers(), ids=lambda c: c[0])
def test_ports_agree_between_args_container_and_probes(name_container: Any) -> None:
    container = name_container[1]
    args = serve_args(container)
    declared = {p["containerPort"] for p in container["ports"]}
    assert {args.http_port, args.grpc_port} <= declared
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        if probe in container:
            get = container[probe]["httpGet"]
            assert container_port(container, get["port"]) == args.health_port
            assert get["path"] == ("/livez" if probe == "livenessProbe" else "/readyz")


def test_kserve_runtime_follows_kserve_conventions() -> None:
    (runtime,) = of_kind("ClusterServingRuntime")
    (container,) = containers(runtime)
    args = serve_args(container)
    assert (args.http_port, args.grpc_port, str(args.model_repository)) == (
        8080,
        9000,
        "/mnt/models",
    )
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["h2c"] == 9000
    assert container["ports"][0]["containerPort"] == 8080  # KServe's HTTP port comes first
    assert runtime["spec"]["annotations"]["prometheus.kserve.io/port"] == str(args.metrics_port)
    assert {f["name"] for f in runtime["spec"]["supportedModelFormats"]} == {
        "openvino",
        "onnx",
        "triton",
    }
    assert runtime["spec"]["protocolVersions"] == ["v2", "grpc-v2"]
    (service,) = of_kind("InferenceService")
    model = service["spec"]["predictor"]["model"]
    assert model["runtime"] == runtime["metadata"]["name"]
    assert model["modelFormat"]["name"] in {
        f["name"] for f in runtime["spec"]["supportedModelFormats"]
    }


def test_service_and_scrape_annotations_match_the_deployment() -> None:
    (deployment,) = of_kind("Deployment")
    (container,) = containers(deployment)
    args = serve_args(container)
    (service,) = of_kind("Service")
    ports = {p["name"]: p for p in service["spec"]["ports"]}
    assert set(ports) == {"http", "grpc", "metrics"}
    wanted = {"http": args.http_port, "grpc": args.grpc_port, "metrics": args.metrics_port}
    for name, number in wanted.items():
        assert container_port(container, ports[name]["targetPort"]) == number == ports[name]["port"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(args.metrics_port)
    # The grace period fits in Kubernetes' termination grace, after the preStop sleep.
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert (
        pre_stop + args.grace_period
        < deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    )
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes[mounts["/dev/shm"]]["emptyDir"]["medium"] == "Memory"
    assert str(args.model_repository) in mounts


@pytest.mark.parametrize("name_container", served_containers(), ids=lambda c: c[0])
def test_containers_run_unprivileged_with_resources(name_container: Any) -> None:
    container = name_container[1]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert set(container["resources"]["limits"]) >= {"cpu", "memory"}
    assert set(container["resources"]["requests"]) >= {"cpu", "memory"}


def test_images_are_the_readme_build_commands_tag() -> None:
    readme = (ROOT / "README.md").read_text()
    builds = re.findall(r"docker build -f docker/Dockerfile -t (\S+) \.", readme)
    assert builds, "the README has no docker build command"
    assert set(builds) == {c["image"] for _, c in served_containers()}
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    assert f"-t {builds[0]} ." in dockerfile


def test_the_dockerfile_command_is_serve_with_the_container_defaults() -> None:
    stage = final_stage()
    assert stage.base == "nvcr.io/nvidia/tritonserver:24.10-py3"
    assert stage.command[:2] == ("ovtriton", "serve")
    args = build_parser().parse_args(list(stage.command[1:]))
    assert (args.host, str(args.model_repository)) == ("0.0.0.0", "/models")
    assert str(args.tritonserver) == "/opt/tritonserver/bin/tritonserver"
    ports = {args.http_port, args.grpc_port, args.metrics_port, args.health_port}
    assert ports == {8000, 8001, 8002, 8003} == set(stage.exposed)
    assert not args.no_guard


def adapter_rules() -> list[dict[str, Any]]:
    (config_map,) = of_kind("ConfigMap")
    return list(yaml.safe_load(config_map["data"]["config.yaml"])["rules"])


def test_the_hpa_metric_is_produced_by_the_shipped_adapter_rule() -> None:
    (hpa,) = of_kind("HorizontalPodAutoscaler")
    (deployment,) = of_kind("Deployment")
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    metrics = {m["type"]: m for m in hpa["spec"]["metrics"]}
    assert metrics["Resource"]["resource"]["name"] == "cpu"  # the fallback
    name = metrics["Pods"]["pods"]["metric"]["name"]
    (rule,) = [r for r in adapter_rules() if r["name"]["as"] == name]
    assert re.search(rule["name"]["matches"], QUEUE)
    assert rule["seriesQuery"].startswith(QUEUE)
    query = rule["metricsQuery"]
    # queue time over successful requests, per pod.
    assert query.index(QUEUE) < query.index("/") < query.index(SUCCESS)
    assert set(rule["resources"]["overrides"]) == {"namespace", "pod"}


def test_kserve_autoscaling_uses_the_same_metric() -> None:
    (service,) = of_kind("InferenceService")
    metrics = service["spec"]["predictor"]["autoScaling"]["metrics"]
    query = next(m for m in metrics if m["type"] == "External")["external"]["metric"]["query"]
    assert query.index(QUEUE) < query.index("/") < query.index(SUCCESS)
    assert any(m["type"] == "Resource" for m in metrics)


def test_the_admin_key_file_is_a_mounted_secret_not_world_readable() -> None:
    (deployment,) = of_kind("Deployment")
    (container,) = containers(deployment)
    key_file = str(serve_args(container).admin_key_file)
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    (name,) = [n for n, path in mounts.items() if key_file.startswith(path + "/")]
    secret = volumes[name]["secret"]
    assert secret["secretName"] == "ovtriton-admin-key"
    assert secret["defaultMode"] & 0o007 == 0  # serve refuses a world-readable key


def test_the_image_installs_the_projects_dependencies_but_the_dev_only_ones() -> None:
    """Everything pyproject.toml depends on, except the wheel's own Triton and onnx."""
    text = (ROOT / "pyproject.toml").read_text()
    block = text[text.index("dependencies = [") : text.index("]\n", text.index("dependencies = ["))]
    declared = set(re.findall(r'^\s+"([^"]+)",', block, re.M))
    image = set(requirements(final_stage()))
    assert image == declared - {"nvidia-pytriton==0.7.0", "onnx>=1.16"}
