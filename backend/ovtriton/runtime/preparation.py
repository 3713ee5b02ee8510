"""Model preparation in OVMS's order: read, layout, shape or batch_size.

The result is an uncompiled :class:`PreparedModel` plus what it serves
(:class:`~ovtriton.rules.tensors.TensorInfo` per input and output). Both
``auto_complete_config`` and ``initialize`` call :func:`prepare_model`, so the config
Triton is told and the model that runs can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import openvino as ov
from openvino import ConstOutput as Port
from openvino.preprocess import PrePostProcessor

from ovtriton.errors import ConfigError, ModelLoadError
from ovtriton.rules.dims import Dim, Shape, format_shape
from ovtriton.rules.layout import Layout, LayoutMapping, default_layout, parse_layout_mapping
from ovtriton.rules.parameters import BackendParameters, parse_parameters, string_parameters
from ovtriton.rules.shape import AUTO, ShapeValue
from ovtriton.rules.tensor_mapping import MAPPING_CONFIG_FILENAME, TensorMapping
from ovtriton.rules.tensors import TensorInfo
from ovtriton.runtime.loader import locate_model_file, read_model, read_tensor_mapping
from ovtriton.runtime.types import triton_type


@dataclass
class PreparedModel:
    """A read, laid-out and reshaped model, ready to compile."""

    model: ov.Model
    path: Path
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]

    @property
    def tensors(self) -> tuple[TensorInfo, ...]:
        """Inputs, then outputs."""
        return self.inputs + self.outputs

    @property
    def is_auto(self) -> bool:
        """Some input follows the request shape: compiled variants are needed."""
        return any(t.shape_auto or t.batch_auto for t in self.inputs)


def to_dims(partial_shape: ov.PartialShape, tensor: str) -> Shape:
    """OpenVINO's partial shape as ovtriton dims (ranges kept)."""
    if partial_shape.rank.is_dynamic:
        raise ModelLoadError(
            f"tensor '{tensor}' has a dynamic rank; set the 'shape' parameter to give it one"
        )
    dims = []
    for dim in partial_shape:
        if dim.is_static:
            dims.append(Dim.fixed(dim.get_length()))
        else:
            upper = dim.get_max_length()
            dims.append(Dim(dim.get_min_length(), None if upper < 0 else upper))
    return tuple(dims)


def to_partial_shape(shape: Shape) -> ov.PartialShape:
    """The OpenVINO form of a rule shape (``Dim.any()`` becomes ``-1``)."""
    return ov.PartialShape(
        [ov.Dimension(d.lower, -1 if d.upper is None else d.upper) for d in shape]
    )


def prepare_model(
    core: ov.Core,
    path: Path,
    params: BackendParameters,
    warn: Callable[[str], None],
    mapping: TensorMapping | None = None,
) -> PreparedModel:
    """Read the model, rename its tensors, apply ``layout``, then ``shape`` or ``batch_size``.

    ``mapping`` (OVMS's ``mapping_config.json``) is applied first, so ``layout`` and
    ``shape`` JSON keys use the served names, as OVMS requires.

    Raises:
        ConfigError: A parameter does not fit this model (the message names it).
        ModelLoadError: The model cannot be read or has no servable types.
    """
    for warning in params.warnings:
        warn(warning)
    model = read_model(core, path)
    if mapping:
        _rename_tensors(model, mapping)
    _serve_bf16_as_fp32(model)
    layouts = _apply_layouts(model, params)
    shapes = _resolve_shapes(model, params, layouts)
    _reshape(model, shapes, params)
    auto_inputs = _auto_inputs(model, params, layouts)
    inputs = tuple(
        _tensor_info(port, layouts[_name(port)], *auto_inputs.get(_name(port), (False, False)))
        for port in model.inputs
    )
    # Outputs of an auto model change with the request: open their dims too.
    shape_auto = any(shape for shape, _ in auto_inputs.values())
    batch_auto = any(batch for _, batch in auto_inputs.values())
    outputs = tuple(
        _tensor_info(port, layouts[_name(port)], shape_auto, batch_auto) for port in model.outputs
    )
    return PreparedModel(model, path, inputs, outputs)


def _name(port: Port) -> str:
    return port.get_any_name()


def _rename_tensors(model: ov.Model, mapping: TensorMapping) -> None:
    """Give each mapped tensor its served name as its only name.

    The old names are dropped, so a ``shape`` or ``layout`` key that still uses one
    fails by name, as in OVMS. A mapping key the model does not have fails the load:
    a typo must not leave a tensor under a name clients do not expect.
    """
    for kind, ports, names in (
        ("inputs", model.inputs, mapping.inputs),
        ("outputs", model.outputs, mapping.outputs),
    ):
        renamed: dict[str, Port] = {}
        for original, served in names.items():
            matches = [p for p in ports if original in p.get_names()]
            if not matches:
                raise ConfigError(
                    MAPPING_CONFIG_FILENAME,
                    original,
                    f"the model has no {kind[:-1]} of that name; its {kind} are "
                    f"{[_name(p) for p in ports]}",
                )
            renamed[served] = matches[0]
        moved = [id(p) for p in renamed.values()]
        for served in renamed:
            # A port that keeps its names would then share one with the renamed port.
            if any(served in other.get_names() for other in ports if id(other) not in moved):
                raise ConfigError(
                    MAPPING_CONFIG_FILENAME,
                    served,
                    f"served name is already the name of another model {kind[:-1]}",
                )
        for served, port in renamed.items():
            port.get_tensor().set_names({served})


def _serve_bf16_as_fp32(model: ov.Model) -> None:
    """Serve BF16 inputs and outputs as FP32, converted at the model's edge.

    Triton's Python backend cannot hand BF16 over as NumPy, which has no such type;
    OpenVINO converts FP32 requests to the model's BF16 and its BF16 results back.
    """
    ppp = PrePostProcessor(model)
    converted = False
    for ports, step in ((model.inputs, ppp.input), (model.outputs, ppp.output)):
        for port in ports:
            if port.get_element_type() == ov.Type.bf16:
                step(_name(port)).tensor().set_element_type(ov.Type.f32)
                converted = True
    if converted:
        ppp.build()


def _tensor_info(port: Port, layout: Layout, shape_auto: bool, batch_auto: bool) -> TensorInfo:
    name = _name(port)
    shape = to_dims(port.get_partial_shape(), name)
    return TensorInfo(
        name=name,
        config_type=triton_type(port.get_element_type(), name),
        shape=shape,
        batch_index=layout.batch_index if shape else None,
        shape_auto=shape_auto,
        batch_auto=batch_auto and layout.batch_index is not None and bool(shape),
    )


def _model_layout(port: Port) -> Layout:
    """The layout the model file carries in its runtime info, else OVMS's default."""
    rank = port.get_partial_shape().rank
    default = default_layout(rank.get_length() if rank.is_static else 1)
    carried = ov.layout_helpers.get_layout(port)
    if carried.empty:
        return default
    text = carried.to_string().strip("[]").replace(",", "")
    try:
        return parse_layout_mapping(text).model
    except ConfigError:
        return default  # custom dimension names OVMS's grammar cannot express


def _find_port(model: ov.Model, name: str) -> tuple[Port, bool]:
    inputs = [p for p in model.inputs if name in p.get_names()]
    outputs = [p for p in model.outputs if name in p.get_names()]
    if inputs and outputs:
        raise ConfigError(
            "layout", name, "models whose input and output share a name cannot take layout changes"
        )
    if not inputs and not outputs:
        known = [_name(p) for p in (*model.inputs, *model.outputs)]
        raise ConfigError("layout", name, f"no input or output of that name; the model has {known}")
    return (inputs or outputs)[0], bool(inputs)


def _apply_layouts(model: ov.Model, params: BackendParameters) -> dict[str, Layout]:
    """Insert transposes for ``A:B`` layouts; return each tensor's served layout."""
    mappings: dict[str, tuple[Port, bool, LayoutMapping]] = {}
    parameter = params.layout
    if parameter is not None and parameter.anonymous is not None:
        if len(model.inputs) != 1:
            raise ConfigError(
                "layout",
                parameter.anonymous.tensor.text,
                "Anonymous fixed layout is invalid for models with multiple inputs",
            )
        # Found by name like a JSON key, so an input that is also an output is refused.
        port, _ = _find_port(model, _name(model.inputs[0]))
        mappings[_name(port)] = (port, True, parameter.anonymous)
    for name, mapping in (parameter.by_name if parameter else {}).items():
        port, is_input = _find_port(model, name)
        mappings[_name(port)] = (port, is_input, mapping)

    served = {_name(p): _model_layout(p) for p in (*model.inputs, *model.outputs)}
    ppp = PrePostProcessor(model)
    transposes = 0
    for name, (port, is_input, mapping) in mappings.items():
        rank = port.get_partial_shape().rank
        if rank.is_static and not mapping.model.fits_rank(rank.get_length()):
            shape = format_shape(to_dims(port.get_partial_shape(), name))
            raise ConfigError(
                "layout", mapping.model.text, f"layout incompatible with shape {shape} of '{name}'"
            )
        served[name] = mapping.tensor
        if mapping.needs_transpose:
            transposes += 1
            step = ppp.input(name) if is_input else ppp.output(name)
            step.tensor().set_layout(ov.Layout(mapping.tensor.text))
            step.model().set_layout(ov.Layout(mapping.model.text))
    if transposes:
        try:
            ppp.build()
        except Exception as error:
            raise ConfigError(
                "layout", params.raw.get("layout", ""), f"OpenVINO could not apply it: {error}"
            ) from error
    return served


def _resolve_shapes(
    model: ov.Model, params: BackendParameters, layouts: Mapping[str, Layout]
) -> dict[str, Shape]:
    """The fixed / range shapes to reshape inputs to (``auto`` is handled later)."""
    targets = _shape_targets(model, params)
    if targets:
        return {name: value for name, value in targets.items() if value != AUTO}
    batch = params.effective_batch_size
    if batch is None or batch.dim is None:
        return {}
    _check_batchable(model, params, layouts)
    shapes: dict[str, Shape] = {}
    for port in model.inputs:
        name = _name(port)
        index = layouts[name].batch_index
        if index is None:
            continue
        dims = list(to_dims(port.get_partial_shape(), name))
        dims[index] = batch.dim
        shapes[name] = tuple(dims)
    return shapes


def _shape_targets(model: ov.Model, params: BackendParameters) -> dict[str, ShapeValue]:
    shape = params.shape
    if shape is None:
        return {}
    if shape.anonymous is not None:
        if shape.anonymous != AUTO and len(model.inputs) != 1:
            raise ConfigError(
                "shape",
                format_shape(shape.anonymous),
                "Anonymous fixed shape is invalid for models with multiple inputs",
            )
        return {_name(p): shape.anonymous for p in model.inputs}
    targets: dict[str, ShapeValue] = {}
    for name, value in shape.by_name.items():
        ports = [p for p in model.inputs if name in p.get_names()]
        if not ports:
            raise ConfigError(
                "shape",
                name,
                f"no input of that name; inputs are {[_name(p) for p in model.inputs]}",
            )
        targets[_name(ports[0])] = value
    return targets


def _check_batchable(
    model: ov.Model, params: BackendParameters, layouts: Mapping[str, Layout]
) -> None:
    value = params.raw.get("batch_size", "")
    for port in model.inputs:
        if (
            port.get_partial_shape().rank.is_static
            and port.get_partial_shape().rank.get_length() == 0
        ):
            reason = ("MODEL_WITH_SCALAR_AUTO_UNSUPPORTED: " if value.strip() == "auto" else "") + (
                f"input '{_name(port)}' is a scalar and has no batch dimension"
            )
            raise ConfigError("batch_size", value, reason)
    if all(layouts[_name(p)].batch_index is None for p in model.inputs):
        raise ConfigError("batch_size", value, "no input has a batch dimension (N) in its layout")


def _auto_inputs(
    model: ov.Model, params: BackendParameters, layouts: Mapping[str, Layout]
) -> dict[str, tuple[bool, bool]]:
    """Input name -> (shape follows request, batch follows request)."""
    targets = _shape_targets(model, params)
    if targets:
        return {name: (value == AUTO, False) for name, value in targets.items()}
    batch = params.effective_batch_size
    if batch is not None and batch.auto:
        _check_batchable(model, params, layouts)
        return {_name(p): (False, True) for p in model.inputs}
    return {}


def _reshape(model: ov.Model, shapes: Mapping[str, Shape], params: BackendParameters) -> None:
    if not shapes:
        return
    try:
        model.reshape({name: to_partial_shape(shape) for name, shape in shapes.items()})
    except Exception as error:
        parameter = "shape" if params.shape is not None else "batch_size"
        requested = ", ".join(f"{n}: {format_shape(s)}" for n, s in shapes.items())
        raise ConfigError(
            parameter,
            params.raw.get(parameter, ""),
            f"Model could not be reshaped with requested shape ({requested}): {error}",
        ) from error


def prepare_from_config(
    core: ov.Core,
    model_config: Mapping[str, object],
    version_dir: Path,
    warn: Callable[[str], None],
) -> tuple[BackendParameters, PreparedModel]:
    """Parse a Triton model config's parameters and prepare the model it names."""
    params = parse_parameters(string_parameters(model_config))
    filename = str(model_config.get("default_model_filename") or "")
    path = locate_model_file(version_dir, filename)
    mapping = read_tensor_mapping(version_dir)
    return params, prepare_model(core, path, params, warn, mapping)
