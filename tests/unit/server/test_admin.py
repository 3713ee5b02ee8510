"""The admin key: which paths need it, where it comes from, how Triton is told."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from ovtriton_serve.server.admin import (
    HEADER,
    RESTRICTED,
    AdminKey,
    AdminKeyError,
    category,
    load_admin_key,
    triton_arguments,
)
from ovtriton_serve.server.front_door import ByteBudget, RejectionLog

KEY = "a-key-of-sixteen-or-more"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v2/health/live", "health"),
        ("/v2/health/ready", "health"),
        ("/v2/models/m/ready", "health"),
        ("/v2/models/m/versions/2/ready", "health"),
        ("/v2", "metadata"),
        ("/v2/", "metadata"),
        ("/v2/models/m", "metadata"),
        ("/v2/models/m/versions/3", "metadata"),
        ("/v2/models/m/config", "model-config"),
        ("/v2/models/m/infer", "inference"),
        ("/v2/models/m/versions/1/infer?x=1", "inference"),
        ("/v2/models/m/generate", "inference"),
        ("/v2/models/m/generate_stream", "inference"),
        # Administrative, and anything unknown: default-deny.
        ("/v2/repository/index", "restricted"),
        ("/v2/repository/models/m/load", "restricted"),
        ("/v2/repository/models/m/unload", "restricted"),
        ("/v2/systemsharedmemory/region/r/register", "restricted"),
        ("/v2/systemsharedmemory/status", "restricted"),
        ("/v2/cudasharedmemory/status", "restricted"),
        ("/v2/logging", "restricted"),
        ("/v2/trace/setting", "restricted"),
        ("/v2/models/m/trace/setting", "restricted"),
        ("/v2/models/stats", "restricted"),
        ("/v2/models/m/stats", "restricted"),
        ("/v2/models/m/versions/1/stats", "restricted"),
        ("/v2/models/trace/setting", "restricted"),
        ("/v2/models/m/infer/extra", "restricted"),
        ("/v2//repository/index", "restricted"),
        ("/metrics", "restricted"),
        ("", "restricted"),
        ("*", "restricted"),
    ],
)
def test_categories(path: str, expected: str) -> None:
    assert category(path) == expected


def test_triton_is_told_the_same_categories_on_both_protocols() -> None:
    http, grpc = triton_arguments(KEY)
    assert http == f"--http-restricted-api={','.join(RESTRICTED)}:{HEADER}={KEY}"
    assert grpc == f"--grpc-restricted-protocol={','.join(RESTRICTED)}:{HEADER}={KEY}"
    assert set(RESTRICTED) == {
        "model-repository",
        "shared-memory",
        "logging",
        "trace",
        "statistics",
    }


def test_key_sources(tmp_path: Path) -> None:
    generated = load_admin_key(None, {})
    assert generated.generated and len(generated.value) >= 32
    assert load_admin_key(None, {}).value != generated.value
    assert load_admin_key(None, {"OVTRITON_ADMIN_KEY": KEY}) == AdminKey(KEY, "$OVTRITON_ADMIN_KEY")
    path = tmp_path / "key"
    path.write_text(KEY + "\n")
    path.chmod(0o640)  # a service group may read it
    assert load_admin_key(path, {"OVTRITON_ADMIN_KEY": "other-key-0123456789"}).value == KEY


@pytest.mark.parametrize(
    ("mode", "text", "fragment"),
    [
        (0o644, KEY, "chmod 600"),
        (0o602, KEY, "readable or writable by every user"),
        (0o600, "short", "16-256 characters"),
        (0o600, "has space in it, sixteen", "16-256 characters"),
        (0o600, "a,b:c=d-0123456789", "16-256 characters"),
    ],
)
def test_bad_key_files_are_refused(tmp_path: Path, mode: int, text: str, fragment: str) -> None:
    path = tmp_path / "key"
    path.write_text(text)
    path.chmod(mode)
    with pytest.raises(AdminKeyError, match=fragment):
        load_admin_key(path, {})


def test_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(AdminKeyError, match="cannot read"):
        load_admin_key(tmp_path / "nope", {})
    with pytest.raises(AdminKeyError, match=r"Is a directory|not a regular file"):
        load_admin_key(tmp_path, {})


def test_key_matching() -> None:
    key = AdminKey(KEY, "test")
    assert key.matches(KEY)
    assert not key.matches(None) and not key.matches("") and not key.matches(KEY + "x")
    assert not key.matches("é" * 20)


def test_budget() -> None:
    budget = ByteBudget(100)
    assert budget.reserve(60) and not budget.reserve(41) and budget.used == 60
    assert budget.reserve(40)
    budget.release(60)
    budget.force(80)  # a response already in memory counts, even over the limit
    assert budget.used == 120 and not budget.reserve(1)
    budget.release(120)
    assert budget.used == 0


def test_refusals_are_logged_rate_limited() -> None:
    now = [0.0]
    stream = io.StringIO()
    log = RejectionLog(stream, rate=2.0, burst=3, clock=lambda: now[0])
    assert [log.refused("1.2.3.4:5", f"r{i}") for i in range(5)] == [True] * 3 + [False] * 2
    now[0] += 1.0  # two more tokens
    assert log.refused("1.2.3.4:5", "later")
    lines = stream.getvalue().splitlines()
    assert lines[0] == "ovtriton: front door refused 1.2.3.4:5: r0"
    assert lines[-1] == "ovtriton: front door refused 1.2.3.4:5: later (2 more refusals not logged)"
    assert len(lines) == 4


def test_requests_naming_the_front_doors_regions_are_spotted() -> None:
    from ovtriton_serve.server.front_door import _names_own_region

    def shared(kind: str, region: str) -> dict[str, object]:
        tensor = {"name": "t", "parameters": {"shared_memory_region": region}}
        return {kind: [{"name": "plain"}, tensor]}

    assert _names_own_region(shared("inputs", "ovtriton-front_1_ab_2")) == "input 't'"
    assert _names_own_region(shared("outputs", "ovtriton-front_1_ab_2")) == "output 't'"
    assert _names_own_region(shared("inputs", "ovtriton_1_ab_2")) is None  # the SDK's: fine
    assert _names_own_region({"inputs": ["junk", {"parameters": []}]}) is None
