"""Request objects reused across calls; results decoded only when read."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ovtriton_client import InferResult, InvalidInputError, OutputNotFoundError
from ovtriton_client._protocol import GRPC, HTTP, Dialect
from ovtriton_client._request import Placement, RequestBuilder
from tests.unit.client.specs import TWO_IO_SPEC


@pytest.mark.parametrize("dialect", [HTTP, GRPC], ids=["http", "grpc"])
def test_builder_reuses_its_objects_and_updates_shape_and_data(dialect: Dialect) -> None:
    builder = RequestBuilder(dialect, TWO_IO_SPEC)
    first = builder.inputs({"a": np.ones((1, 4), np.float32), "b": np.ones((1, 4), np.float32)})
    second = builder.inputs({"a": np.ones((3, 4), np.float32), "b": np.ones((3, 4), np.float32)})
    assert [id(x) for x in first] == [id(x) for x in second]
    assert second[0].shape() == [3, 4]
    outputs = builder.outputs(["sum"])
    assert outputs is not None and builder.outputs(["sum"]) == outputs
    assert builder.outputs(None) is None


@pytest.mark.parametrize("dialect", [HTTP, GRPC], ids=["http", "grpc"])
def test_builder_reports_unvalidated_mismatches_as_invalid_input(dialect: Dialect) -> None:
    builder = RequestBuilder(dialect, TWO_IO_SPEC)
    with pytest.raises(InvalidInputError, match="input 'a': got unexpected datatype FP64"):
        builder.inputs({"a": np.ones((1, 4)), "b": np.ones((1, 4), np.float32)})


@pytest.mark.parametrize("dialect", [HTTP, GRPC], ids=["http", "grpc"])
def test_builder_switches_between_shared_memory_and_inline_data(dialect: Dialect) -> None:
    builder = RequestBuilder(dialect, TWO_IO_SPEC)
    arrays = {"a": np.ones((2, 4), np.float32), "b": np.ones((2, 4), np.float32)}
    placed = builder.inputs(arrays, {"a": Placement("region_a", 32)})

    def parameters(tensor: Any) -> dict[str, Any]:
        message = tensor._get_tensor()
        if isinstance(message, dict):
            return dict(message.get("parameters", {}))
        return {
            key: value.WhichOneof("parameter_choice") for key, value in message.parameters.items()
        }

    assert "shared_memory_region" in parameters(placed[0])
    assert "shared_memory_region" not in parameters(placed[1])
    inline = builder.inputs(arrays)
    assert "shared_memory_region" not in parameters(inline[0])
    (output,) = builder.outputs(["sum"], {"sum": Placement("region_sum", 4096)}) or []
    assert "shared_memory_region" in parameters(output)
    (output,) = builder.outputs(["sum"]) or []
    assert "shared_memory_region" not in parameters(output)


class FakeRaw:
    """A tritonclient-like HTTP result that counts decodes."""

    def __init__(self) -> None:
        self.decoded: list[str] = []
        self._data = {"sum": np.arange(4, dtype=np.float32), "product": np.zeros(4, np.float32)}
        self._data["sum"].flags.writeable = False

    def get_response(self) -> dict[str, Any]:
        return {"outputs": [{"name": "sum"}, {"name": "product"}]}

    def as_numpy(self, name: str) -> np.ndarray:
        self.decoded.append(name)
        return self._data[name]


def test_result_decodes_lazily_once_and_copies_unless_shared() -> None:
    raw = FakeRaw()
    result = InferResult(raw, HTTP, copy=True)
    assert list(result) == ["sum", "product"] and len(result) == 2
    assert raw.decoded == []  # postponed: nothing decoded yet
    first = result["sum"]
    assert result["sum"] is first and raw.decoded == ["sum"]
    assert first.flags.writeable and first is not raw._data["sum"]
    shared = InferResult(FakeRaw(), HTTP, copy=False)
    assert not shared["sum"].flags.writeable  # the response's own buffer
    with pytest.raises(OutputNotFoundError, match="'nope' is not in the response"):
        result["nope"]
    assert set(result.to_dict()) == {"sum", "product"}
    assert repr(result) == "InferResult(outputs=['sum', 'product'])"


def test_result_prefers_materialised_arrays() -> None:
    ready = np.ones(4, np.float32)
    raw = FakeRaw()
    result = InferResult(raw, HTTP, copy=True, arrays={"sum": ready})
    assert result["sum"] is ready and raw.decoded == []
