"""Dim, Shape and OVMS's printed shape form."""

from __future__ import annotations

import pytest

from ovtriton.rules.dims import Dim, format_shape, shape_accepts


def test_format_shape_ovms_form() -> None:
    shape = (Dim.fixed(1), Dim(0, 3), Dim.fixed(5), Dim.any())
    assert format_shape(shape) == "(1,[0~3],5,-1)"


def test_format_shape_plain_ints_and_scalar() -> None:
    assert format_shape([1, 3, 224, 224]) == "(1,3,224,224)"
    assert format_shape(()) == "()"


@pytest.mark.parametrize(
    ("dim", "text"),
    [
        (Dim.fixed(0), "0"),
        (Dim.fixed(7), "7"),
        (Dim.any(), "-1"),
        (Dim(1, 5), "[1~5]"),
        (Dim(2, None), "[2~]"),
    ],
)
def test_dim_str(dim: Dim, text: str) -> None:
    assert str(dim) == text


def test_dim_properties() -> None:
    assert Dim.fixed(3).is_static and not Dim.fixed(3).is_any
    assert Dim.any().is_any and not Dim.any().is_static
    assert not Dim(1, 5).is_static and not Dim(1, 5).is_any
    assert Dim(3, 3) == Dim.fixed(3)


@pytest.mark.parametrize(
    ("dim", "size", "inside"),
    [
        (Dim.fixed(3), 3, True),
        (Dim.fixed(3), 4, False),
        (Dim(1, 5), 1, True),
        (Dim(1, 5), 5, True),
        (Dim(1, 5), 0, False),
        (Dim(1, 5), 6, False),
        (Dim.any(), 10**9, True),
        (Dim(2, None), 1, False),
    ],
)
def test_dim_contains(dim: Dim, size: int, inside: bool) -> None:
    assert dim.contains(size) is inside


def test_to_triton() -> None:
    assert Dim.fixed(4).to_triton() == 4
    assert Dim.any().to_triton() == -1
    assert Dim(1, 8).to_triton() == -1


def test_shape_accepts() -> None:
    shape = (Dim.any(), Dim.fixed(3), Dim.fixed(224), Dim.fixed(224))
    assert shape_accepts(shape, [8, 3, 224, 224])
    assert not shape_accepts(shape, [8, 3, 225, 224])
    assert not shape_accepts(shape, [8, 3, 224])
    assert shape_accepts((Dim(1, 5),), [5])
    assert not shape_accepts((Dim(1, 5),), [6])


@pytest.mark.parametrize(
    ("first", "second", "common"),
    [
        (Dim.any(), Dim.fixed(1), Dim.fixed(1)),
        (Dim(1, 5), Dim(3, None), Dim(3, 5)),
        (Dim(1, 5), Dim(2, 8), Dim(2, 5)),
        (Dim.any(), Dim.any(), Dim.any()),
        (Dim.fixed(1), Dim.fixed(2), None),
        (Dim(1, 2), Dim(3, 4), None),
    ],
)
def test_intersect(first: Dim, second: Dim, common: Dim | None) -> None:
    assert first.intersect(second) == common
    assert second.intersect(first) == common
