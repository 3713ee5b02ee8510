"""mapping_config.json applied to real OpenVINO models, and linked model files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openvino as ov
import pytest

from ovtriton.errors import ConfigError
from ovtriton.runtime.loader import locate_model_file, read_tensor_mapping
from ovtriton.runtime.preparation import prepare_from_config
from tests.support.models import save, scaled, two_inputs

CORE = ov.Core()


def config(**parameters: str) -> dict[str, object]:
    return {"name": "m", "parameters": {k: {"string_value": v} for k, v in parameters.items()}}


def version(tmp_path: Path, model: ov.Model, mapping: str | None) -> Path:
    save(model, tmp_path)
    if mapping is not None:
        (tmp_path / "mapping_config.json").write_text(mapping)
    return tmp_path


def test_tensors_are_served_and_run_under_the_mapped_names(tmp_path: Path) -> None:
    folder = version(tmp_path, scaled([1, 4]), '{"inputs": {"x": "in"}, "outputs": {"y": "out"}}')
    _, prepared = prepare_from_config(CORE, config(), folder, lambda _: None)
    assert [t.name for t in prepared.inputs] == ["in"]
    assert [t.name for t in prepared.outputs] == ["out"]
    compiled = CORE.compile_model(prepared.model, "CPU")
    data = np.arange(4, dtype=np.float32).reshape(1, 4)
    result = compiled({"in": data})
    np.testing.assert_allclose(result["out"], data * 2)


def test_shape_and_layout_keys_use_the_mapped_names(tmp_path: Path) -> None:
    folder = version(tmp_path, scaled([1, 4]), '{"inputs": {"x": "in"}}')
    _, prepared = prepare_from_config(
        CORE, config(shape='{"in": "(3,4)"}', layout='{"in": "NC"}'), folder, lambda _: None
    )
    assert prepared.inputs[0].shape[0].lower == 3


def test_the_original_name_no_longer_works_in_shape(tmp_path: Path) -> None:
    folder = version(tmp_path, scaled([1, 4]), '{"inputs": {"x": "in"}}')
    with pytest.raises(ConfigError) as caught:
        prepare_from_config(CORE, config(shape='{"x": "(3,4)"}'), folder, lambda _: None)
    assert caught.value.parameter == "shape"


def test_only_named_tensors_are_renamed(tmp_path: Path) -> None:
    folder = version(tmp_path, two_inputs(), '{"inputs": {"b": "second"}}')
    _, prepared = prepare_from_config(CORE, config(), folder, lambda _: None)
    assert [t.name for t in prepared.inputs] == ["a", "second"]
    assert [t.name for t in prepared.outputs] == ["s"]


@pytest.mark.parametrize(
    ("mapping", "value", "reason"),
    [
        ('{"inputs": {"nope": "z"}}', "nope", "no input of that name"),
        ('{"outputs": {"x": "z"}}', "x", "no output of that name"),
        ('{"inputs": {"a": "b"}}', "b", "already the name of another model input"),
    ],
)
def test_mappings_that_do_not_fit_the_model_fail_by_name(
    tmp_path: Path, mapping: str, value: str, reason: str
) -> None:
    folder = version(tmp_path, two_inputs(), mapping)
    with pytest.raises(ConfigError) as caught:
        prepare_from_config(CORE, config(), folder, lambda _: None)
    assert (caught.value.parameter, caught.value.value) == ("mapping_config.json", value)
    assert reason in caught.value.reason


def test_swapping_two_names_is_allowed(tmp_path: Path) -> None:
    folder = version(tmp_path, two_inputs(), '{"inputs": {"a": "b", "b": "a"}}')
    _, prepared = prepare_from_config(CORE, config(), folder, lambda _: None)
    assert [t.name for t in prepared.inputs] == ["b", "a"]


def test_no_file_means_no_mapping(tmp_path: Path) -> None:
    assert not read_tensor_mapping(tmp_path)


def test_a_bad_file_fails_the_load(tmp_path: Path) -> None:
    (tmp_path / "mapping_config.json").write_text('{"inputs": 3}')
    with pytest.raises(ConfigError, match=r"mapping_config\.json"):
        read_tensor_mapping(tmp_path)


def test_a_symlinked_model_file_in_the_version_folder_is_found(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    save(scaled([1, 4]), elsewhere)
    folder = tmp_path / "1"
    folder.mkdir()
    for name in ("model.xml", "model.bin"):
        (folder / f"net{Path(name).suffix}").symlink_to(elsewhere / name)
    assert locate_model_file(folder, "net.xml") == folder.resolve() / "net.xml"
    _, prepared = prepare_from_config(
        CORE, {**config(), "default_model_filename": "net.xml"}, folder, lambda _: None
    )
    assert [t.name for t in prepared.inputs] == ["x"]


@pytest.mark.parametrize("name", ["../model.xml", "sub/../../model.xml", "/etc/passwd"])
def test_names_leaving_the_version_folder_still_fail(tmp_path: Path, name: str) -> None:
    (tmp_path / "1").mkdir()
    with pytest.raises(ConfigError, match="default_model_filename"):
        locate_model_file(tmp_path / "1", name)
