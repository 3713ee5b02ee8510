"""The ratio table: ratios, targets, best-of rows, markdown."""

from __future__ import annotations

import pytest

from benchmarks.table import (
    MISS,
    NOT_MEASURED,
    PASS,
    Row,
    Target,
    at_least,
    at_most,
    best_row,
    render,
    summary,
)


def row(value: float | None, baseline: float | None, target: Target | None = None) -> Row:
    return Row("served / raw", f"v={value}", value, baseline, "infer/s", target)


def test_ratio_and_result() -> None:
    assert row(95, 100, at_least(0.95)).ratio == pytest.approx(0.95)
    assert row(95, 100, at_least(0.95)).result == PASS
    assert row(94, 100, at_least(0.95)).result == MISS
    assert row(1.06, 1.0, at_most(1.05)).result == MISS
    assert row(1.05, 1.0, at_most(1.05)).result == PASS


@pytest.mark.parametrize(("value", "baseline"), [(None, 1.0), (1.0, None), (1.0, 0.0)])
def test_missing_or_zero_values_are_not_measured(
    value: float | None, baseline: float | None
) -> None:
    assert row(value, baseline).ratio is None
    assert row(value, baseline, at_least(1)).result == NOT_MEASURED
    assert row(value, baseline).result == ""


def test_unknown_operator_is_refused() -> None:
    with pytest.raises(ValueError, match="operator"):
        Target("==", 1.0)


def test_best_row_takes_the_highest_value_against_the_given_baseline() -> None:
    # The 80 row has the best own ratio (its baseline was measured slow): not chosen.
    rows = [row(50, 100), row(None, 100), row(90, 100), row(80, 84)]
    best = best_row("served / raw", "resnet", rows, at_least(0.95), baseline=100)
    assert (best.value, best.baseline, best.derived) == (90, 100, True)
    assert "best: v=90" in best.setting
    assert best.result == MISS


def test_best_row_of_nothing_measured() -> None:
    best = best_row("served / raw", "resnet", [row(None, 100)], at_least(0.95), baseline=100)
    assert best.result == NOT_MEASURED
    assert best_row("served / raw", "resnet", [row(90, 100)], at_least(0.5), None).result == (
        NOT_MEASURED
    )


def test_render_markdown() -> None:
    text = render(
        [
            row(95.04, 100, at_least(0.95)),
            Row("SDK / raw", "tiny", 1.2345, 1.0, "ms", at_most(1.05), note="100 calls"),
            row(None, 1.0),
        ],
        ["# title"],
    )
    lines = text.splitlines()
    assert lines[0] == "# title" and lines[1] == ""
    assert lines[2].startswith("| comparison | setting | value | baseline | ratio |")
    assert lines[4] == (
        "| served / raw | v=95.04 | 95.0 infer/s | 100.0 infer/s | 0.95 | >= 0.95 | PASS |"
    )
    assert lines[5] == (
        "| SDK / raw | tiny (100 calls) | 1.234 ms | 1.000 ms | 1.23 | <= 1.05 | MISS |"
    )
    assert lines[6].endswith("| — | 1.0 infer/s | — |  |  |")


def test_summary_counts_rows_with_targets() -> None:
    rows = [row(1, 1, at_least(1)), row(0, 1, at_least(1)), row(None, 1, at_least(1)), row(1, 1)]
    assert summary(rows) == "targets: 1 PASS, 1 MISS, 1 n/a"
