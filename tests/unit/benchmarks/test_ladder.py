"""The load ladder's pure parts: run order, best-of summaries, target rows, tables."""

from __future__ import annotations

import itertools

from benchmarks.ladder import (
    MemoryRow,
    Sample,
    Samples,
    best_of,
    ladder_table,
    memory_table,
    schedule,
    summarise,
    target_rows,
)
from benchmarks.models import NAIVES, OVTRITON, PEERS
from benchmarks.table import MISS, PASS

CONTENDERS = (OVTRITON, *PEERS, *NAIVES)


def test_schedule_covers_every_run_once_per_sweep() -> None:
    blocks = schedule(["a", "b"], [1, 8], CONTENDERS, sweeps=2)
    runs = [(b.sweep, b.model, b.concurrency, c) for b in blocks for c in b.contenders]
    assert len(runs) == len(set(runs)) == 2 * 2 * 2 * len(CONTENDERS)
    assert [b.sweep for b in blocks] == [0, 0, 0, 0, 1, 1, 1, 1]


def test_schedule_alternates_the_order_from_block_to_block() -> None:
    blocks = schedule(["a"], [1, 2, 4], CONTENDERS, sweeps=1)
    assert blocks[0].contenders == CONTENDERS
    assert blocks[1].contenders == tuple(reversed(CONTENDERS))
    assert blocks[2].contenders == CONTENDERS
    # each block starts with the contender that ended the one before
    assert all(b.contenders[0] == a.contenders[-1] for a, b in itertools.pairwise(blocks))


def _samples() -> Samples:
    samples = Samples()
    samples.add("m", 1, OVTRITON, Sample(100, 10.0))
    samples.add("m", 1, OVTRITON, Sample(90, 11.0))
    samples.add("m", 1, PEERS[0], Sample(80, 12.0))
    samples.add("m", 1, PEERS[1], Sample(110, 9.5))
    samples.add("m", 1, PEERS[1], Sample(70, 13.0))
    samples.add("m", 1, NAIVES[1], Sample(50, 20.0))
    samples.add("m", 8, OVTRITON, Sample(300, 25.0))
    samples.add_raw("m", 1, 120.0)
    samples.add_raw("m", 1, 100.0)
    return samples


def test_best_of_keeps_each_sides_best_config_and_its_spread() -> None:
    peer = best_of(_samples(), "m", 1, "peer")
    assert peer is not None
    assert (peer.throughput, peer.config, peer.low, peer.sweeps) == (110, PEERS[1].label, 70, 2)
    assert peer.p50_ms == 9.5  # the side's lowest p50 over every config and sweep
    ours = best_of(_samples(), "m", 1, "ovtriton")
    assert ours is not None and (ours.throughput, ours.low) == (100, 90)
    assert best_of(_samples(), "m", 8, "peer") is None
    assert best_of(_samples(), "other", 1, "ovtriton") is None


def test_summary_and_target_rows() -> None:
    points = summarise(_samples(), ["m"], [1, 8])
    assert [(p.concurrency, p.raw, p.raw_low) for p in points] == [
        (1, 120.0, 100.0),
        (8, None, None),
    ]
    rows = {(r.comparison, r.setting): r for r in target_rows(points, ["m"])}
    peer = rows[("ovtriton / best peer", "m, gRPC, c=1")]
    assert (peer.value, peer.baseline, peer.result) == (100, 110, MISS)
    assert PEERS[1].label in peer.note
    latency = rows[("p50 latency: ovtriton / best peer", "m, gRPC, c=1")]
    assert (latency.value, latency.baseline, latency.result) == (10.0, 9.5, MISS)  # 1.053 > 1.05
    naive = rows[("ovtriton / best naive model.py", "m, gRPC, c=1")]
    assert (naive.ratio, naive.result) == (2.0, PASS)
    raw = rows[("ovtriton / raw OpenVINO (best hint)", "m, gRPC, c=1")]
    assert raw.baseline == 120.0 and raw.result == MISS and "LATENCY" in raw.note
    stretch = rows[("ovtriton / best peer (stretch)", "m, gRPC, c=8")]
    assert stretch.result == "n/a"  # no peer measured at c=8
    assert ("p50 latency: ovtriton / best peer", "m, gRPC, c=8") not in rows


def test_raw_rows_have_a_target_only_for_the_named_models() -> None:
    points = summarise(_samples(), ["m"], [1])
    (raw,) = [r for r in target_rows(points, []) if "raw" in r.comparison]
    assert raw.target is None


def test_ladder_table_shows_values_spreads_and_ratios() -> None:
    text = ladder_table(summarise(_samples(), ["m"], [1, 8]))
    row_c1 = next(line for line in text.splitlines() if line.startswith("| m | 1 |"))
    cells = [c.strip() for c in row_c1.strip("|").split("|")]
    assert cells[2] == "100.0 (90.0-100.0)"
    assert cells[3] == "110.0 (70.0-110.0)" and cells[4] == PEERS[1].label
    assert cells[5] == "0.91" and cells[6] == "10.0" and cells[7] == "9.5"
    assert cells[9] == "2.00" and cells[10] == "120.0 (100.0-120.0)" and cells[11] == "0.83"
    row_c8 = next(line for line in text.splitlines() if line.startswith("| m | 8 |"))
    assert "| 300.0 |" in row_c8 and row_c8.count("—") >= 4


def test_memory_table() -> None:
    text = memory_table(
        [MemoryRow("m", "ovtriton", 212.4, "stub RSS"), MemoryRow("m_peer", "peer", None, "x")]
    )
    assert "| m | ovtriton | 212 | stub RSS |" in text
    assert "| m_peer | peer | — | x |" in text
