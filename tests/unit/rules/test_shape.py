"""The ``shape`` grammar (contract section 3)."""

from __future__ import annotations

import pytest

from ovtriton.errors import ConfigError
from ovtriton.rules.dims import Dim, Shape, format_shape
from ovtriton.rules.shape import AUTO, ShapeParameter, parse_shape, parse_shape_tuple

F = Dim.fixed
ANY = Dim.any()


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ("(1,3,224,224)", (F(1), F(3), F(224), F(224))),
        (" ( 1 , 3 , 224 , 224 ) ", (F(1), F(3), F(224), F(224))),
        ("(1)", (F(1),)),
        ("(0)", (F(0),)),
        ("(-1)", (ANY,)),
        ("(-1,3,-1,-1)", (ANY, F(3), ANY, ANY)),
        ("(1,0:3,5,-1)", (F(1), Dim(0, 3), F(5), ANY)),
        ("(0:20)", (Dim(0, 20),)),
        ("(1:50,300)", (Dim(1, 50), F(300))),
        ("(2147483647)", (F(2**31 - 1),)),
        ("(007,-0)", (F(7), F(0))),
    ],
)
def test_valid_tuples(text: str, shape: Shape) -> None:
    assert parse_shape_tuple(text) == shape
    assert parse_shape(text) == ShapeParameter(anonymous=shape)


def test_printed_form() -> None:
    assert format_shape(parse_shape_tuple("(1,0:3,5,-1)")) == "(1,[0~3],5,-1)"


@pytest.mark.parametrize(
    "text",
    [
        # The contract's invalid examples.
        "(1,2,3,4]",
        "3.14",
        "(auto,3)",
        "[1,3,43]",
        '"10"',
        "[1:50,300]",
        "(9:10,,50)",
        "(:9,3)",
        "(9:,3)",
        "(--30)",
        "(-5)",
        "(5-)",
        "(500000000000000000)",
        "(2147483648)",
        "(1:2147483648)",
        # More grammar edges.
        "()",
        "(",
        ")",
        "1,2",
        "(1,2",
        "1,2)",
        "((1,2))",
        "(1,2)(3)",
        "(1,)",
        "(,1)",
        "(5:5)",
        "(9:3)",
        "(1:2:3)",
        "(-1:5)",
        "(1-2)",
        "(-)",
        "(1;2)",
        "(²)",
        "AUTO",
        "Auto",
    ],
)
def test_invalid_tuples(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_shape_tuple(text)
    assert (info.value.parameter, info.value.value) == ("shape", text)
    with pytest.raises(ConfigError):
        parse_shape(text)


@pytest.mark.parametrize("text", ["auto", " auto ", "au to"])
def test_auto(text: str) -> None:
    assert parse_shape(text) == ShapeParameter(anonymous=AUTO)
    assert AUTO == "auto"


def test_auto_is_not_a_tuple() -> None:
    with pytest.raises(ConfigError):
        parse_shape_tuple("auto")


@pytest.mark.parametrize("text", ["", "   ", "{}", " { } "])
def test_nothing_set(text: str) -> None:
    assert parse_shape(text) is None


def test_json_object_form() -> None:
    parsed = parse_shape('{"input1":"(1,3,224,224)","input2":"auto"}')
    assert parsed == ShapeParameter(
        by_name={"input1": (F(1), F(3), F(224), F(224)), "input2": AUTO}
    )
    assert parsed is not None and parsed.anonymous is None


def test_json_values_spaces_ranges_and_arrays() -> None:
    parsed = parse_shape(' {"a" : " ( 1 , 0:3 , -1 ) ", "b": [1, 3, 224], "c": []}')
    assert parsed is not None
    assert dict(parsed.by_name) == {
        "a": (F(1), Dim(0, 3), ANY),
        "b": (F(1), F(3), F(224)),
        "c": (),
    }


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ('{"x":"(1,2]"}', "x"),
        ('{"x":"AUTO"}', "x"),
        ('{"ok":"auto","bad":3}', "bad"),
        ('{"x":null}', "x"),
        ('{"x":{"y":"(1)"}}', "x"),
        ('{"x":[1,-1]}', "x"),
        ('{"x":[1,2.5]}', "x"),
        ('{"x":[true]}', "x"),
        ('{"x":["1"]}', "x"),
        ('{"x":[2147483648]}', "x"),
        ('{"x":"(1)","x":"(2)"}', "x"),
    ],
)
def test_json_bad_entry_names_input(text: str, name: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_shape(text)
    assert info.value.value == text
    assert repr(name) in info.value.reason


@pytest.mark.parametrize(
    "text",
    ["{", '{"x":"(1)"', "{'x':'(1)'}", '{"x":"(1)"} extra', '{"":"(1)"}', "{" * 5000],
)
def test_json_malformed(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_shape(text)
    assert info.value.value == text


def test_json_top_level_must_be_object() -> None:
    # Arrays are only allowed as values inside the object, not as the whole parameter.
    for text in ("[1,3,224,224]", '"(1,3)"', "10"):
        with pytest.raises(ConfigError):
            parse_shape(text)


def test_error_names_parameter_value_and_expectation() -> None:
    with pytest.raises(ConfigError) as info:
        parse_shape("(1,,2)", parameter="my_shape")
    error = info.value
    assert (error.parameter, error.value) == ("my_shape", "(1,,2)")
    assert "'my_shape'" in str(error) and "'(1,,2)'" in str(error)
    assert "auto" in error.reason and "min:max" in error.reason


def test_overflow_reason() -> None:
    with pytest.raises(ConfigError, match="overflow"):
        parse_shape_tuple("(1,500000000000000000)")
