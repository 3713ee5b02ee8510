"""The server's and the client's datatype tables agree (one truth per side)."""

from __future__ import annotations

import numpy as np
import pytest

import ovtriton.rules.datatypes as server
from ovtriton_client._datatypes import DATATYPES as CLIENT


def test_both_sides_know_the_same_datatypes() -> None:
    assert set(server.BY_KSERVE) == set(CLIENT)


@pytest.mark.parametrize("name", sorted(CLIENT))
def test_both_sides_agree_on_numpy_dtype_and_wire_size(name: str) -> None:
    assert server.BY_KSERVE[name].numpy == CLIENT[name].numpy
    assert server.BY_KSERVE[name].wire_size == CLIENT[name].wire_size


@pytest.mark.parametrize("name", sorted(CLIENT))
def test_raw_layout_means_the_numpy_itemsize_is_the_wire_size(name: str) -> None:
    entry = CLIENT[name]
    assert entry.raw == (entry.numpy.itemsize == entry.wire_size and entry.numpy != np.object_)


def test_kserve_names_round_trip_for_every_numpy_dtype() -> None:
    for entry in server.DATATYPES:
        if entry.kserve != "BF16":  # FP32's stand-in
            assert server.kserve_name(entry.numpy) == entry.kserve
            assert server.config_kserve_name(entry.config_type) == entry.kserve


def test_a_dtype_without_kserve_name_is_still_named() -> None:
    assert server.kserve_name(np.dtype(np.complex64)) == "C64"


def test_every_openvino_type_maps_to_one_triton_type() -> None:
    assert server.BY_OPENVINO["f32"].config_type == "TYPE_FP32"
    assert server.BY_OPENVINO["string"].config_type == "TYPE_STRING"
    assert len({d.config_type for d in server.BY_OPENVINO.values()}) == len(server.BY_OPENVINO)
