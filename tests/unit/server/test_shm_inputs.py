"""Large binary inputs moved into shared memory on their way to Triton (pure parts and pool)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ovtriton_serve.server.shm_inputs import (
    ALIGNMENT,
    MAX_REGIONS,
    MIN_REGION,
    PREFIX,
    Move,
    RegionPool,
    plan_moves,
    pointing_to,
    reclaim_stale_regions,
    region_size,
)


def binary(name: str, size: int, **parameters: object) -> dict[str, object]:
    return {
        "name": name,
        "shape": [size // 4],
        "datatype": "FP32",
        "parameters": {"binary_data_size": size, **parameters},
    }


REQUEST = {
    "id": "7",
    "inputs": [
        binary("a", 100),
        {"name": "j", "shape": [1], "datatype": "FP32", "data": [1.0]},
        binary("b", 8, extra="kept"),
    ],
    "outputs": [{"name": "y", "parameters": {"binary_data": True}}],
}


def test_binary_inputs_are_planned_in_body_order_with_aligned_offsets() -> None:
    moves = plan_moves(REQUEST, header_length=50, body_length=158)
    assert moves == [Move(0, 50, 100, 0), Move(2, 150, 8, 128)]
    assert region_size(moves) == 136
    assert all(m.offset % ALIGNMENT == 0 for m in moves)


@pytest.mark.parametrize(
    ("request_json", "body_length"),
    [
        (REQUEST, 157),  # a byte short: Triton must answer the request as sent
        (REQUEST, 159),  # a byte over
        ({"inputs": [{"name": "j", "shape": [1], "datatype": "FP32", "data": [1]}]}, 50),
        ({"inputs": [binary("a", 100, shared_memory_region="theirs")]}, 150),
    ],
)
def test_nothing_moves_unless_the_binary_sizes_fill_the_body(
    request_json: dict[str, object], body_length: int
) -> None:
    assert plan_moves(request_json, header_length=50, body_length=body_length) is None


def test_moved_inputs_point_into_the_region_and_the_rest_is_kept() -> None:
    moves = plan_moves(REQUEST, 50, 158)
    assert moves is not None
    rewritten = pointing_to(REQUEST, moves, "r1")
    a, j, b = rewritten["inputs"]
    assert a["parameters"] == {
        "shared_memory_region": "r1",
        "shared_memory_byte_size": 100,
        "shared_memory_offset": 0,
    }
    assert b["parameters"]["shared_memory_offset"] == 128 and b["parameters"]["extra"] == "kept"
    assert j == REQUEST["inputs"][1]
    assert rewritten["outputs"] == REQUEST["outputs"] and rewritten["id"] == "7"
    assert "binary_data_size" in REQUEST["inputs"][0]["parameters"]  # type: ignore[index]
    json.dumps(rewritten)  # still JSON


def test_pool_lends_fills_reuses_and_removes_regions(tmp_path: Path) -> None:
    pool = RegionPool(tmp_path)
    region = pool.acquire(10)
    assert region is not None and region.size == MIN_REGION
    assert region.name.startswith(f"{PREFIX}_{os.getpid()}_") and region.key == "/" + region.name
    assert (tmp_path / region.name).stat().st_mode & 0o777 == 0o600
    moves = [Move(0, 2, 3, 0), Move(1, 7, 2, 64)]
    region.fill(b"..abc..de", moves)
    assert bytes(region.memory[:3]) == b"abc" and bytes(region.memory[64:66]) == b"de"
    assert json.loads(region.register_body()) == {
        "key": region.key,
        "offset": 0,
        "byte_size": MIN_REGION,
    }
    region.registered = True
    pool.release(region)
    assert pool.acquire(MIN_REGION) is region and region.registered  # reused as it was
    pool.release(region)
    bigger = pool.acquire(MIN_REGION + 1)
    assert bigger is not None and bigger is not region and bigger.size == 2 * MIN_REGION
    pool.release(bigger)
    pool.close()
    assert list(tmp_path.iterdir()) == []


def test_pool_is_bounded(tmp_path: Path) -> None:
    pool = RegionPool(tmp_path)
    lent = [pool.acquire(1) for _ in range(MAX_REGIONS)]
    assert all(lent) and pool.acquire(1) is None
    for region in lent:
        assert region is not None
        pool.release(region)
    pool.close()


def test_stale_regions_of_dead_processes_are_reclaimed(tmp_path: Path) -> None:
    dead, alive = tmp_path / f"{PREFIX}_{2**22 + 3}_0", tmp_path / f"{PREFIX}_{os.getpid()}_0"
    other = tmp_path / "triton_python_backend_shm_region_x"
    for path in (dead, alive, other):
        path.write_bytes(b"x")
    assert reclaim_stale_regions(tmp_path) == [dead.name]
    assert alive.exists() and other.exists() and not dead.exists()


def test_a_full_dev_shm_means_no_region_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int, offset: int, length: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", full)
    pool = RegionPool(tmp_path)
    assert pool.acquire(10) is None
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    region = pool.acquire(10)  # the failed attempt did not use up the pool's count
    assert region is not None and region.name.endswith("_2")  # a fresh name
    pool.release(region)
    pool.close()
