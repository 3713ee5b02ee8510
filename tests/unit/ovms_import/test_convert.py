"""``ovtriton import-ovms`` on real folders and OpenVINO models.

What is written, and that nothing is written when the conversion fails.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openvino as ov
import pytest
from google.protobuf import json_format, text_format
from tritonclient.grpc import model_config_pb2

from ovtriton_serve.cli.main import main
from ovtriton_serve.ovms_import.convert import import_ovms, plan_conversion
from ovtriton_serve.ovms_import.errors import OvmsImportError
from tests.support.models import scaled


def save(model: ov.Model, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(model, path, compress_to_fp16=False)
    return path


def write_config(folder: Path, *models: dict[str, Any], **extra: Any) -> Path:
    path = folder / "config.json"
    document = {"model_config_list": [{"config": m} for m in models], **extra}
    path.write_text(json.dumps(document))
    return path


def read_config(folder: Path) -> dict[str, Any]:
    message = text_format.Parse(
        (folder / "config.pbtxt").read_text(), model_config_pb2.ModelConfig()
    )
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


@pytest.fixture
def ovms(tmp_path: Path) -> Path:
    """An OVMS layout: models/m with versions 1 and 2 under dummy.xml."""
    for version in (1, 2):
        save(scaled([1, 4], factor=version), tmp_path / "models" / "m" / str(version) / "dummy.xml")
    return tmp_path


def test_version_folders_are_linked_with_the_model_file_recorded(ovms: Path) -> None:
    config = write_config(ovms, {"name": "m", "base_path": "models/m", "nireq": 2})
    import_ovms(config, ovms / "out")
    folder = ovms / "out" / "m"
    # The default policy (latest 1) is kept: only version 2 is placed.
    assert sorted(p.name for p in folder.iterdir()) == ["2", "config.pbtxt"]
    assert (folder / "2").is_symlink()
    assert (folder / "2").resolve() == (ovms / "models" / "m" / "2").resolve()
    assert read_config(folder) == {
        "name": "m",
        "backend": "ovtriton",
        "version_policy": {"latest": {"num_versions": 1}},
        "default_model_filename": "dummy.xml",
        "parameters": {"nireq": {"string_value": "2"}},
    }


def test_copy_copies_the_versions(ovms: Path) -> None:
    config = write_config(
        ovms, {"name": "m", "base_path": "models/m", "model_version_policy": {"all": {}}}
    )
    import_ovms(config, ovms / "out", copy=True)
    for version in ("1", "2"):
        placed = ovms / "out" / "m" / version
        assert placed.is_dir() and not placed.is_symlink()
        assert (placed / "dummy.bin").read_bytes() == (
            ovms / "models" / "m" / version / "dummy.bin"
        ).read_bytes()


def test_base_path_is_relative_to_the_folder_of_config_json(ovms: Path, tmp_path: Path) -> None:
    (ovms / "conf").mkdir()
    config = write_config(ovms / "conf", {"name": "m", "base_path": "../models/m"})
    import_ovms(config, tmp_path / "elsewhere" / "out")
    assert (tmp_path / "elsewhere" / "out" / "m" / "2").resolve() == (
        ovms / "models" / "m" / "2"
    ).resolve()


@pytest.mark.parametrize("copy", [False, True])
def test_a_single_model_file_is_version_1_with_its_companions(tmp_path: Path, copy: bool) -> None:
    save(scaled([1, 4]), tmp_path / "flat" / "net.xml")
    (tmp_path / "flat" / "mapping_config.json").write_text('{"inputs": {"x": "in"}}')
    save(scaled([1, 4]), tmp_path / "flat" / "other.xml")  # not part of this model
    config = write_config(tmp_path, {"name": "s", "base_path": "flat/net.xml"})
    import_ovms(config, tmp_path / "out", copy=copy)
    version = tmp_path / "out" / "s" / "1"
    assert sorted(p.name for p in version.iterdir()) == [
        "mapping_config.json",
        "net.bin",
        "net.xml",
    ]
    assert all((version / n).is_symlink() != copy for n in ("net.xml", "net.bin"))
    assert read_config(tmp_path / "out" / "s")["default_model_filename"] == "net.xml"


def test_a_model_file_under_any_extension_ovms_reads_is_found(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["a"], ["b"])],
        "g",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("b", TensorProto.FLOAT, [1, 2])],
    )
    (tmp_path / "m" / "1").mkdir(parents=True)
    onnx.save(helper.make_model(graph), tmp_path / "m" / "1" / "anything.onnx")
    config = write_config(tmp_path, {"name": "m", "base_path": "m"})
    import_ovms(config, tmp_path / "out")
    assert read_config(tmp_path / "out" / "m")["default_model_filename"] == "anything.onnx"


def test_versions_under_different_file_names_are_refused(ovms: Path) -> None:
    second = ovms / "models" / "m" / "2"
    for suffix in (".xml", ".bin"):
        (second / f"dummy{suffix}").rename(second / f"other{suffix}")
    config = write_config(
        ovms, {"name": "m", "base_path": "models/m", "model_version_policy": {"all": {}}}
    )
    with pytest.raises(OvmsImportError, match=r"1: dummy.xml, 2: other.xml"):
        import_ovms(config, ovms / "out")


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda v: (v / "dummy.bin").unlink(), "no model file in"),
        (lambda v: save(scaled([1, 4]), v / "second.xml"), "several .xml files"),
    ],
)
def test_bad_version_folders_are_named(ovms: Path, setup: Any, message: str) -> None:
    setup(ovms / "models" / "m" / "2")
    config = write_config(ovms, {"name": "m", "base_path": "models/m"})
    with pytest.raises(OvmsImportError, match=r"model 'm' version 2: .*" + message):
        import_ovms(config, ovms / "out")


def test_a_policy_that_serves_nothing_is_refused(ovms: Path) -> None:
    policy = {"specific": {"versions": [7]}}
    config = write_config(
        ovms, {"name": "m", "base_path": "models/m", "model_version_policy": policy}
    )
    with pytest.raises(OvmsImportError, match=r"model 'm': model_version_policy .* serves none"):
        import_ovms(config, ovms / "out")


def test_a_missing_base_path_is_named(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"name": "m", "base_path": "nowhere"})
    with pytest.raises(OvmsImportError, match=r"model 'm': base_path .*nowhere does not exist"):
        import_ovms(config, tmp_path / "out")


def test_cloud_paths_are_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"name": "m", "base_path": "s3://bucket/m"})
    with pytest.raises(OvmsImportError, match="use a Triton repository on that storage"):
        import_ovms(config, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_allow_cache_with_a_cache_dir(ovms: Path) -> None:
    config = write_config(
        ovms,
        {"name": "m", "base_path": "models/m"},
        {"name": "n", "base_path": "models/m", "allow_cache": False},
    )
    import_ovms(config, ovms / "out", cache_dir="/var/cache/ov")
    assert read_config(ovms / "out" / "m")["parameters"] == {
        "cache_dir": {"string_value": "/var/cache/ov"}
    }
    assert "parameters" not in read_config(ovms / "out" / "n")


def test_a_non_empty_output_is_refused_and_left_alone(ovms: Path) -> None:
    (ovms / "out").mkdir()
    (ovms / "out" / "mine.txt").write_text("keep")
    config = write_config(ovms, {"name": "m", "base_path": "models/m"})
    with pytest.raises(OvmsImportError, match="is not empty"):
        import_ovms(config, ovms / "out")
    assert [p.name for p in (ovms / "out").iterdir()] == ["mine.txt"]


def test_an_empty_output_folder_is_used(ovms: Path) -> None:
    (ovms / "out").mkdir()
    import_ovms(write_config(ovms, {"name": "m", "base_path": "models/m"}), ovms / "out")
    assert (ovms / "out" / "m" / "config.pbtxt").is_file()


def test_a_failed_conversion_writes_nothing(ovms: Path) -> None:
    (ovms / "out").mkdir()
    config = write_config(
        ovms,
        {"name": "good", "base_path": "models/m"},
        {"name": "bad", "base_path": "models/m", "batch_size": "x"},
    )
    with pytest.raises(OvmsImportError, match=r"model 'bad': .*parameter 'batch_size'"):
        import_ovms(config, ovms / "out")
    assert list((ovms / "out").iterdir()) == []
    assert sorted(p.name for p in ovms.iterdir()) == ["config.json", "models", "out"]


def test_a_failure_while_writing_leaves_no_temporary_folder(ovms: Path, monkeypatch: Any) -> None:
    from ovtriton_serve.ovms_import import convert

    def fail(*_: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(convert, "_place_version", fail)
    config = write_config(ovms, {"name": "m", "base_path": "models/m"})
    with pytest.raises(OSError, match="disk full"):
        import_ovms(config, ovms / "out")
    assert sorted(p.name for p in ovms.iterdir()) == ["config.json", "models"]


UNSUPPORTED = {"name": "st", "base_path": "models/m", "stateful": True}


def test_unsupported_entries_fail_naming_entry_and_option(ovms: Path) -> None:
    config = write_config(ovms, {"name": "m", "base_path": "models/m"}, UNSUPPORTED)
    with pytest.raises(OvmsImportError) as caught:
        import_ovms(config, ovms / "out")
    assert "model 'st': option 'stateful' cannot be converted" in str(caught.value)
    assert "--skip-unsupported" in str(caught.value)
    assert not (ovms / "out").exists()


def test_skip_unsupported_warns_per_entry_and_converts_the_rest(ovms: Path) -> None:
    pipeline = {
        "name": "p",
        "inputs": ["in"],
        "nodes": [
            {
                "name": "n",
                "model_name": "st",
                "type": "DL model",
                "inputs": [{"x": {"node_name": "request", "data_item": "in"}}],
                "outputs": [{"data_item": "y", "alias": "y"}],
            }
        ],
        "outputs": [{"out": {"node_name": "n", "data_item": "y"}}],
    }
    config = write_config(
        ovms,
        {"name": "m", "base_path": "models/m"},
        UNSUPPORTED,
        {"name": "graph"},
        pipeline_config_list=[pipeline],
        mediapipe_config_list=[{"name": "mp", "graph_path": "g.pbtxt"}],
    )
    warnings: list[str] = []
    plan = import_ovms(config, ovms / "out", skip_unsupported=True, warn=warnings.append)
    assert [m.name for m in plan.models] == ["m"]
    assert sorted(p.name for p in (ovms / "out").iterdir()) == ["m"]
    assert any("model 'st': option 'stateful'" in w for w in warnings)
    assert any("model 'graph': option 'base_path'" in w for w in warnings)
    assert any("mediapipe_config_list entry 'mp'" in w for w in warnings)
    assert any(
        "pipeline 'p': option 'nodes'" in w and "'st' is not converted" in w for w in warnings
    )
    assert all(w.startswith("skipping ") for w in warnings)


def test_a_mediapipe_graph_folder_is_unsupported(tmp_path: Path) -> None:
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "graph.pbtxt").write_text("")
    config = write_config(tmp_path, {"name": "g", "base_path": "g"})
    with pytest.raises(OvmsImportError, match=r"model 'g': option 'base_path'.*MediaPipe"):
        import_ovms(config, tmp_path / "out")


def test_a_pipeline_of_an_unknown_model_fails(ovms: Path) -> None:
    pipeline = {
        "name": "p",
        "inputs": ["in"],
        "nodes": [
            {
                "name": "n",
                "model_name": "ghost",
                "type": "DL model",
                "inputs": [{"x": {"node_name": "request", "data_item": "in"}}],
                "outputs": [{"data_item": "y", "alias": "y"}],
            }
        ],
        "outputs": [{"out": {"node_name": "n", "data_item": "y"}}],
    }
    config = write_config(
        ovms, {"name": "m", "base_path": "models/m"}, pipeline_config_list=[pipeline]
    )
    with pytest.raises(OvmsImportError, match="pipeline 'p': a node uses model 'ghost'"):
        plan_conversion(config)


def test_a_pipeline_reads_its_tensors_with_the_backends_rules(ovms: Path) -> None:
    """The ensemble's declared tensors follow ``shape`` and mapping_config.json."""
    (ovms / "models" / "m" / "2" / "mapping_config.json").write_text(
        '{"inputs": {"x": "in"}, "outputs": {"y": "out"}}'
    )
    pipeline = {
        "name": "p",
        "inputs": ["data"],
        "nodes": [
            {
                "name": "n",
                "model_name": "m",
                "type": "DL model",
                "inputs": [{"in": {"node_name": "request", "data_item": "data"}}],
                "outputs": [{"data_item": "out", "alias": "o"}],
            }
        ],
        "outputs": [{"result": {"node_name": "n", "data_item": "o"}}],
    }
    config = write_config(
        ovms,
        {"name": "m", "base_path": "models/m", "shape": {"in": "(1,4:8)"}},
        pipeline_config_list=[pipeline],
    )
    plan = plan_conversion(config)
    ensemble = plan.models[-1].config
    assert ensemble["input"] == [{"name": "data", "data_type": "TYPE_FP32", "dims": [-1, -1]}]
    assert ensemble["output"] == [{"name": "result", "data_type": "TYPE_FP32", "dims": [-1, -1]}]


def test_duplicate_names_are_refused(ovms: Path) -> None:
    config = write_config(
        ovms, {"name": "m", "base_path": "models/m"}, {"name": "m", "base_path": "models/m"}
    )
    with pytest.raises(OvmsImportError, match="the name 'm' is used by several"):
        plan_conversion(config)


def test_monitoring_is_noted(ovms: Path) -> None:
    config = write_config(
        ovms, {"name": "m", "base_path": "models/m"}, monitoring={"metrics": {"enable": True}}
    )
    assert any("metrics port" in n for n in plan_conversion(config).notes)


def test_the_command_exits_non_zero_with_the_message(
    ovms: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(ovms, UNSUPPORTED)
    assert main(["import-ovms", str(config), "--output", str(ovms / "out")]) == 1
    assert "model 'st': option 'stateful'" in capsys.readouterr().err
    code = main(["import-ovms", str(config), "--output", str(ovms / "out"), "--skip-unsupported"])
    assert code == 0
    captured = capsys.readouterr()
    assert "ovtriton: warning: skipping model 'st': option 'stateful'" in captured.err
    assert "wrote 0 models" in captured.out


def test_the_command_converts(ovms: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(ovms, {"name": "m", "base_path": "models/m"})
    out = ovms / "out"
    assert main(["import-ovms", str(config), "--output", str(out), "--copy"]) == 0
    assert "wrote 1 model to" in capsys.readouterr().out
    assert (out / "m" / "2" / "dummy.xml").is_file() and not (out / "m" / "2").is_symlink()


@pytest.mark.parametrize(
    ("option", "mapping", "message"),
    [
        ({"shape": {"nope": "(1,4)"}}, None, "parameter 'shape'"),
        ({"layout": {"x": "NC"}}, '{"inputs": {"x": "in"}}', "parameter 'layout'"),
        ({}, '{"inputs": {"ghost": "in"}}', "parameter 'mapping_config.json'"),
        ({}, '{"inputs": 1}', "parameter 'mapping_config.json'"),
    ],
)
def test_values_that_do_not_fit_the_model_fail_before_writing(
    ovms: Path, option: dict[str, Any], mapping: str | None, message: str
) -> None:
    if mapping is not None:
        (ovms / "models" / "m" / "2" / "mapping_config.json").write_text(mapping)
    config = write_config(ovms, {"name": "m", "base_path": "models/m", **option})
    with pytest.raises(OvmsImportError) as caught:
        import_ovms(config, ovms / "out")
    assert str(caught.value).startswith("model 'm': ") and message in str(caught.value)
    assert not (ovms / "out").exists()


def test_unsupported_entries_are_refused_before_any_model_is_read(ovms: Path) -> None:
    def never(*_: Any) -> Any:
        raise AssertionError("a model was read")

    config = write_config(ovms, {"name": "m", "base_path": "models/m"}, UNSUPPORTED)
    with pytest.raises(OvmsImportError, match="option 'stateful'"):
        plan_conversion(config, tensors_of=never)


def test_a_node_pinned_to_a_version_that_is_not_served_fails(ovms: Path) -> None:
    pipeline = {
        "name": "p",
        "inputs": ["in"],
        "nodes": [
            {
                "name": "n",
                "model_name": "m",
                "version": 1,  # latest-1 serves only version 2
                "type": "DL model",
                "inputs": [{"x": {"node_name": "request", "data_item": "in"}}],
                "outputs": [{"data_item": "y", "alias": "y"}],
            }
        ],
        "outputs": [{"out": {"node_name": "n", "data_item": "y"}}],
    }
    config = write_config(
        ovms, {"name": "m", "base_path": "models/m"}, pipeline_config_list=[pipeline]
    )
    with pytest.raises(OvmsImportError, match=r"pipeline 'p': model 'm' version 1 is not served"):
        plan_conversion(config)
