"""perf_analyzer's CSV, its command line and its library links (no binary run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.perf_analyzer import (
    REQUIRED_LIBRARIES,
    PerfAnalyzerError,
    PerfRun,
    link_libraries,
    parse_csv,
)

# Written by the perf_analyzer of tritonclient 2.51.0 (-f out.csv).
CSV = (
    "Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,"
    "Server Compute Input,Server Compute Infer,Server Compute Output,Client Recv,"
    "p50 latency,p90 latency,p95 latency,p99 latency\n"
    "2,65.1505,10,1159,9250,146,19436,595,3,27477,46988,51683,60263\n"
)


def test_parses_throughput_and_latencies() -> None:
    [row] = parse_csv(CSV)
    assert row.concurrency == 2
    assert row.throughput == pytest.approx(65.1505)
    assert (row.p50_us, row.p99_us) == (27477, 60263)
    assert row.columns["Server Compute Infer"] == 19436


def test_one_row_per_concurrency_blank_lines_ignored() -> None:
    text = CSV + "\n4,80.5,10,1159,9250,146,19436,595,3,1,2,3,4\n\n"
    assert [(r.concurrency, r.throughput) for r in parse_csv(text)] == [(2, 65.1505), (4, 80.5)]


def test_rows_with_missing_numbers_are_skipped() -> None:
    text = CSV.splitlines()[0] + "\n4,,1,2,3,4,5,6,7,8,9,10,11\n"
    assert parse_csv(text) == []


@pytest.mark.parametrize(
    "text", ["", "\n\n", "Concurrency,Inferences/Second\n1,2\n", "a,b,c\n1,2,3\n"]
)
def test_empty_or_foreign_csv_is_an_error(text: str) -> None:
    with pytest.raises(PerfAnalyzerError):
        parse_csv(text)


def test_arguments_plain_run() -> None:
    args = PerfRun("m", "127.0.0.1:1", "grpc", 4, interval_ms=1500).arguments(Path("o.csv"))
    joined = " ".join(args)
    assert "-m m -u 127.0.0.1:1 -i grpc --concurrency-range 4" in joined
    assert "--measurement-mode time_windows --measurement-interval 1500" in joined
    assert "--stability-percentage 50" in joined
    assert args[-2:] == ["-f", "o.csv"]
    assert "--shared-memory" not in args and "--shape" not in args


def test_arguments_carry_the_admin_key() -> None:
    run = PerfRun("m", "127.0.0.1:1", "http", 1, headers={"ovtriton-admin-key": "k" * 16})
    args = run.arguments(Path("o.csv"))
    assert args[args.index("-H") + 1] == "ovtriton-admin-key:" + "k" * 16


def test_arguments_shared_memory_and_shapes() -> None:
    run = PerfRun(
        "m", "h:1", "http", 1, shared_memory=True, output_shm_bytes=4096, shapes={"x": (3, 8)}
    )
    joined = " ".join(run.arguments(Path("o.csv")))
    assert "--shape x:3,8" in joined
    assert "--shared-memory system --output-shared-memory-size 4096" in joined


def test_links_hashed_libraries_under_plain_names(tmp_path: Path) -> None:
    wheel = tmp_path / "libs"
    wheel.mkdir()
    (wheel / "libb64-98cb6333.so.0d").write_bytes(b"b64")
    (wheel / "libcudart-09529672.so.12.6.77").write_bytes(b"cudart")
    target = link_libraries(wheel, tmp_path / "private")
    assert sorted(p.name for p in target.iterdir()) == sorted(REQUIRED_LIBRARIES)
    assert (target / "libb64.so.0d").read_bytes() == b"b64"
    # Linking again (a second run in the same folder) replaces the links.
    link_libraries(wheel, target)
    assert (target / "libcudart.so.12").read_bytes() == b"cudart"


def test_missing_library_is_named(tmp_path: Path) -> None:
    with pytest.raises(PerfAnalyzerError, match="libb64"):
        link_libraries(tmp_path, tmp_path / "private")
