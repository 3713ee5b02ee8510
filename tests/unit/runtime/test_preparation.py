"""Applying layout / shape / batch_size to real OpenVINO models (no Triton)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import openvino as ov
import pytest

from ovtriton.errors import ConfigError, ModelLoadError
from ovtriton.rules.dims import Dim, format_shape
from ovtriton.rules.parameters import BOTH_SHAPE_AND_BATCH_WARNING, parse_parameters
from ovtriton.runtime.loader import locate_model_file
from ovtriton.runtime.preparation import PreparedModel, prepare_model
from ovtriton_serve.examples import classifier
from tests.support.models import identity, save, scaled, two_inputs

CORE = ov.Core()


def prepare(
    model: ov.Model, tmp_path: Path, warnings: list[str] | None = None, **raw: str
) -> PreparedModel:
    sink = warnings if warnings is not None else []
    return prepare_model(CORE, save(model, tmp_path), parse_parameters(raw), sink.append)


def served(prepared: PreparedModel, index: int = 0, output: bool = False) -> str:
    tensors = prepared.outputs if output else prepared.inputs
    return format_shape(tensors[index].served_shape)


def test_no_parameters_serves_the_model_as_is(tmp_path: Path) -> None:
    prepared = prepare(scaled([1, 3, 224, 224]), tmp_path)
    assert served(prepared) == "(1,3,224,224)"
    assert prepared.inputs[0].batch_index == 0
    assert not prepared.is_auto


def test_nhwc_to_nchw_transposes_the_served_input(tmp_path: Path) -> None:
    prepared = prepare(scaled([1, 3, 224, 224]), tmp_path, layout="NHWC:NCHW")
    assert served(prepared) == "(1,224,224,3)"
    assert served(prepared, output=True) == "(1,3,224,224)"


def test_output_layout_by_json(tmp_path: Path) -> None:
    prepared = prepare(scaled([4, 2]), tmp_path, layout='{"y": "CN:NC"}')
    assert served(prepared, output=True) == "(2,4)"
    assert prepared.outputs[0].batch_index == 1


def test_cn_puts_the_batch_at_position_one(tmp_path: Path) -> None:
    prepared = prepare(scaled([3, 1]), tmp_path, layout="CN", batch_size="2")
    assert prepared.inputs[0].batch_index == 1
    assert served(prepared) == "(3,2)"


def test_shape_tuple_with_range(tmp_path: Path) -> None:
    prepared = prepare(scaled([1, 3, 8, 8]), tmp_path, shape="(1:4,3,8,8)")
    assert prepared.inputs[0].served_shape[0] == Dim(1, 4)


def test_shape_json_and_auto(tmp_path: Path) -> None:
    prepared = prepare(two_inputs(), tmp_path, shape='{"a": "(2,4)", "b": [2, 4]}')
    assert [served(prepared, i) for i in (0, 1)] == ["(2,4)", "(2,4)"]
    prepared = prepare(two_inputs(), tmp_path, shape="auto")
    assert prepared.is_auto and served(prepared) == "(-1,-1)"


def test_batch_size_variants(tmp_path: Path) -> None:
    assert served(prepare(scaled([1, 3]), tmp_path, batch_size="8")) == "(8,3)"
    assert served(prepare(scaled([1, 3]), tmp_path, batch_size="-1")) == "(-1,3)"
    assert served(prepare(scaled([1, 3]), tmp_path, batch_size="2:6")) == "([2~6],3)"
    auto = prepare(scaled([1, 3]), tmp_path, batch_size="auto")
    assert auto.inputs[0].batch_auto and served(auto) == "(-1,3)"
    assert served(auto, output=True) == "(-1,3)"


def test_batch_follows_layout_position(tmp_path: Path) -> None:
    prepared = prepare(scaled([3, 5, 1]), tmp_path, layout="??N...", batch_size="4")
    assert served(prepared) == "(3,5,4)"


def test_shape_wins_with_the_ovms_warning(tmp_path: Path) -> None:
    warnings: list[str] = []
    prepared = prepare(scaled([1, 3]), tmp_path, warnings, shape="(2,3)", batch_size="8")
    assert served(prepared) == "(2,3)"
    assert warnings == [BOTH_SHAPE_AND_BATCH_WARNING]


@pytest.mark.parametrize(
    ("model", "raw", "expected"),
    [
        (
            two_inputs,
            {"shape": "(1,4)"},
            "Anonymous fixed shape is invalid for models with multiple",
        ),
        (
            two_inputs,
            {"layout": "NC"},
            "Anonymous fixed layout is invalid for models with multiple",
        ),
        (two_inputs, {"shape": '{"nope": "(1,4)"}'}, "no input of that name"),
        (two_inputs, {"layout": '{"nope": "NC"}'}, "no input or output of that name"),
        (lambda: scaled([1, 3]), {"layout": "NCHW"}, "layout incompatible with shape"),
        (classifier, {"shape": "(1,3)"}, "Model could not be reshaped"),
        (lambda: scaled([]), {"batch_size": "2"}, "scalar"),
        (lambda: scaled([]), {"batch_size": "auto"}, "MODEL_WITH_SCALAR_AUTO_UNSUPPORTED"),
        (lambda: scaled([3, 4]), {"layout": "CH", "batch_size": "2"}, "no input has a batch"),
    ],
)
def test_parameters_that_do_not_fit_the_model(
    tmp_path: Path, model: Callable[[], ov.Model], raw: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigError) as error:
        prepare(model(), tmp_path, **raw)  # type: ignore[arg-type]
    assert expected in str(error.value)


@pytest.mark.parametrize("layout", ['{"t": "NC"}', "NC:CN", "NC"])
def test_same_name_input_and_output_cannot_take_layout(tmp_path: Path, layout: str) -> None:
    with pytest.raises(ConfigError, match="share a name"):
        prepare(identity(), tmp_path, layout=layout)


def test_bf16_inputs_and_outputs_are_served_as_fp32(tmp_path: Path) -> None:
    from openvino import opset13 as ops

    x = ops.parameter([-1, 3], ov.Type.bf16, name="x")
    x.output(0).get_tensor().set_names({"x"})
    y = ops.multiply(x, ops.convert(ops.constant(np.float32(2)), "bf16"))
    y.output(0).get_tensor().set_names({"y"})
    prepared = prepare(ov.Model([y], [x], "bf16"), tmp_path, layout="NC")
    assert [t.config_type for t in prepared.tensors] == ["TYPE_FP32", "TYPE_FP32"]
    assert [t.name for t in prepared.tensors] == ["x", "y"]
    result = CORE.compile_model(prepared.model, "CPU")(np.array([[1.5, 2.0, -3.0]], np.float32))
    np.testing.assert_array_equal(result[0], [[3.0, 4.0, -6.0]])


def test_runtime_info_layout_wins_over_default(tmp_path: Path) -> None:
    model = scaled([3, 2])
    ov.layout_helpers.set_layout(model.inputs[0], ov.Layout("CN"))
    prepared = prepare(model, tmp_path)
    assert prepared.inputs[0].batch_index == 1


def test_default_model_filename_cannot_escape(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="default_model_filename"):
        locate_model_file(tmp_path, "../other/model.xml")
    with pytest.raises(ConfigError, match="default_model_filename"):
        locate_model_file(tmp_path, "/etc/passwd")
    with pytest.raises(ModelLoadError, match="no model file"):
        locate_model_file(tmp_path)
