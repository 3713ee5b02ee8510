"""config.pbtxt parameters: keys, defaults, precedence, errors."""

from __future__ import annotations

import pytest

from ovtriton.errors import ConfigError
from ovtriton.rules.dims import Dim
from ovtriton.rules.parameters import (
    BOTH_SHAPE_AND_BATCH_WARNING,
    KNOWN_PARAMETERS,
    parse_parameters,
    string_parameters,
)


def test_defaults() -> None:
    params = parse_parameters({})
    assert params.target_device == "CPU"
    assert params.nireq is None
    assert params.compile_properties() == {"PERFORMANCE_HINT": "LATENCY"}
    assert params.execution_mode == "auto"


@pytest.mark.parametrize("text", ["inline", "pipelined", "adaptive", "auto", " Inline "])
def test_execution_mode_is_taken(text: str) -> None:
    assert parse_parameters({"execution_mode": text}).execution_mode == text.strip().lower()


@pytest.mark.parametrize("text", ["fast", "inline,pipelined", "1"])
def test_bad_execution_mode_names_parameter_and_value(text: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_parameters({"execution_mode": text})
    message = str(error.value)
    assert "execution_mode" in message and text in message
    assert "auto, inline, pipelined, adaptive" in message


def test_string_parameters_from_triton_config() -> None:
    config = {"parameters": {"batch_size": {"string_value": "4"}}}
    assert string_parameters(config) == {"batch_size": "4"}


def test_unknown_parameter_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as error:
        parse_parameters({"batch_sise": "4"})
    assert "batch_sise" in str(error.value)
    assert all(key in str(error.value) for key in KNOWN_PARAMETERS)


def test_shape_wins_over_batch_size_with_the_ovms_warning() -> None:
    params = parse_parameters({"shape": "(1,3)", "batch_size": "4"})
    assert params.warnings == (BOTH_SHAPE_AND_BATCH_WARNING,)
    assert params.effective_batch_size is None
    assert parse_parameters({"batch_size": "4"}).effective_batch_size is not None
    assert parse_parameters({"batch_size": "4"}).batch_size.dim == Dim.fixed(4)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("raw", "parameter"),
    [
        ({"nireq": "0"}, "nireq"),
        ({"nireq": "100001"}, "nireq"),
        ({"nireq": "two"}, "nireq"),
        ({"reshape_cache_size": "-1"}, "reshape_cache_size"),
        ({"plugin_config": "{not json"}, "plugin_config"),
        ({"plugin_config": "[1, 2]"}, "plugin_config"),
        ({"plugin_config": '{"A": {"nested": 1}}'}, "plugin_config"),
        ({"target_device": "CPU; rm -rf /"}, "target_device"),
        ({"batch_size": "9..30"}, "batch_size"),
        ({"shape": "(1,2,3,4]"}, "shape"),
        ({"layout": "nc::nc"}, "layout"),
        ({"plugin_config": '{"NUM_STREAMS": "2"}', "NUM_STREAMS": "4"}, "NUM_STREAMS"),
    ],
)
def test_bad_values_name_parameter_and_value(raw: dict[str, str], parameter: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_parameters(raw)
    assert error.value.parameter == parameter
    assert f"'{parameter}'" in str(error.value)
    assert repr(raw[parameter]) in str(error.value) or raw[parameter] in str(error.value)


def test_nireq_limit() -> None:
    assert parse_parameters({"nireq": "100000"}).nireq == 100_000


def test_plugin_config_and_openvino_backend_keys_merge() -> None:
    params = parse_parameters(
        {
            "plugin_config": '{"PERFORMANCE_HINT": "LATENCY", "ENABLE_CPU_PINNING": true}',
            "INFERENCE_NUM_THREADS": "2",
            "cache_dir": "/tmp/ov-cache",
        }
    )
    assert params.compile_properties() == {
        "PERFORMANCE_HINT": "LATENCY",
        "ENABLE_CPU_PINNING": "YES",
        "INFERENCE_NUM_THREADS": "2",
        "CACHE_DIR": "/tmp/ov-cache",
    }


def test_num_streams_alone_keeps_the_users_choice() -> None:
    properties = parse_parameters({"NUM_STREAMS": "3"}).compile_properties()
    assert properties == {"NUM_STREAMS": "3"}


@pytest.mark.parametrize("device", ["GPU", "NPU", "AUTO", "HETERO:GPU,CPU", "MULTI:GPU.1,CPU"])
def test_device_names(device: str) -> None:
    assert parse_parameters({"target_device": device}).target_device == device
