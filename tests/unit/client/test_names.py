"""Region names and keys: the naming scheme and its validation."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ovtriton_client import InvalidInputError
from ovtriton_client._names import (
    MAX_NAME_LENGTH,
    RegionNaming,
    is_valid_region_name,
    key_for,
    validate_region_name,
)


@pytest.mark.parametrize("name", ["a", "ovtriton_12_abcdef01_0", "x.y-z_1", "A" * MAX_NAME_LENGTH])
def test_valid_names(name: str) -> None:
    assert validate_region_name(name) == name
    assert key_for(name) == "/" + name


@pytest.mark.parametrize(
    "name",
    ["", ".", "..", "a/b", "/a", "../etc/passwd", "a\\b", "a b", "a\x00b", "é", "A" * 201, None, 7],
)
def test_invalid_names_are_refused(name: object) -> None:
    assert not is_valid_region_name(name)
    with pytest.raises(InvalidInputError, match="invalid shared-memory region name"):
        validate_region_name(name)


def test_keys_are_only_made_from_valid_names() -> None:
    for name in ("", "a/b", ".."):
        with pytest.raises(InvalidInputError):
            key_for(name)


@given(st.text(max_size=250))
def test_a_valid_name_is_always_a_plain_file_name(name: str) -> None:
    if is_valid_region_name(name):
        assert "/" not in name and "\x00" not in name and name not in {".", ".."}
        assert 0 < len(name) <= MAX_NAME_LENGTH
        assert os.path.basename(name) == name


def test_generated_names_are_unique_valid_and_owned_by_this_process() -> None:
    naming = RegionNaming()
    other = RegionNaming()
    names = [naming.next_name() for _ in range(50)] + [other.next_name() for _ in range(50)]
    assert len(set(names)) == 100
    for name in names:
        assert validate_region_name(name) == name
        assert name.startswith(f"ovtriton_{os.getpid()}_")
        assert naming.owner(name) == os.getpid()


def test_owner_parses_only_this_scheme() -> None:
    naming = RegionNaming("ovtriton")
    assert naming.owner("ovtriton_4242_0123abcd_7") == 4242
    for foreign in [
        "triton_ovtriton_backend_shm_region_0968ac43-dc55-4862-80e0-840770cc1e4b",
        "ovtriton_4242_0123abcd",  # incomplete
        "ovtriton_4242_0123ABCD_7",  # token is lowercase hex
        "ovtritonx_4242_0123abcd_7",
        "other_4242_0123abcd_7",
        "ovtriton_4242_0123abcd_7/..",
        "ovtriton_99999999999_0123abcd_7",  # pid too long
    ]:
        assert naming.owner(foreign) is None
    assert RegionNaming("mine").owner("ovtriton_4242_0123abcd_7") is None


@pytest.mark.parametrize("prefix", ["", "a/b", "x" * 65, "..", "a b"])
def test_invalid_prefix_is_refused(prefix: str) -> None:
    with pytest.raises(InvalidInputError, match="invalid shared-memory prefix"):
        RegionNaming(prefix)


def test_longest_prefix_still_gives_valid_names() -> None:
    naming = RegionNaming("p" * 64)
    name = naming.next_name()
    assert len(name) <= MAX_NAME_LENGTH and naming.owner(name) == os.getpid()
