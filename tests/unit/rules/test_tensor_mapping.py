"""OVMS's mapping_config.json, parsed as OVMS's MODELS_MAPPING_SCHEMA allows."""

from __future__ import annotations

import pytest

from ovtriton.errors import ConfigError
from ovtriton.rules.tensor_mapping import TensorMapping, parse_tensor_mapping


def test_inputs_and_outputs_are_read() -> None:
    mapping = parse_tensor_mapping(
        '{"inputs": {"data": "image", "id:0": "ids"}, "outputs": {"prob": "scores"}}'
    )
    assert mapping == TensorMapping({"data": "image", "id:0": "ids"}, {"prob": "scores"})
    assert mapping


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"inputs": {"a": "b"}}', TensorMapping({"a": "b"}, {})),
        ('{"outputs": {"a": "b"}}', TensorMapping({}, {"a": "b"})),
        ("{}", TensorMapping()),
    ],
)
def test_either_section_may_be_left_out(text: str, expected: TensorMapping) -> None:
    assert parse_tensor_mapping(text) == expected


def test_empty_mapping_is_false() -> None:
    assert not parse_tensor_mapping("{}")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not json", "expected a JSON object"),
        ("[1]", "expected a JSON object"),
        ('{"inputs": {}, "extra": {}}', "unknown key 'extra'"),
        ('{"inputs": ["a"]}', "'inputs' must be an object"),
        ('{"outputs": {"a": 1}}', "outputs 'a' must map to a non-empty string"),
        ('{"inputs": {"a": ""}}', "inputs 'a' must map to a non-empty string"),
        ('{"inputs": {"a": "x", "b": "x"}}', "several tensors the served name 'x'"),
    ],
)
def test_bad_files_fail_naming_the_file_and_the_problem(text: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_tensor_mapping(text)
    assert caught.value.parameter == "mapping_config.json"
    assert reason in caught.value.reason
