"""The result table: measured values, their baselines, ratios and targets.

Pure logic: rows in, markdown out. A row compares one measurement with its
baseline; its ratio is ``value / baseline`` and its target, if any, is a bound on
that ratio.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

PASS = "PASS"
MISS = "MISS"
NOT_MEASURED = "n/a"
_COMPARE: dict[str, Callable[[float, float], bool]] = {">=": operator.ge, "<=": operator.le}


@dataclass(frozen=True)
class Target:
    """A bound on a ratio: ``ratio >= 0.95`` or ``ratio <= 1.05``."""

    op: str
    bound: float

    def __post_init__(self) -> None:
        if self.op not in _COMPARE:
            raise ValueError(f"unknown target operator {self.op!r}")

    def met_by(self, ratio: float) -> bool:
        """Whether ``ratio`` meets the target."""
        return _COMPARE[self.op](ratio, self.bound)

    def __str__(self) -> str:
        return f"{self.op} {self.bound:g}"


def at_least(bound: float) -> Target:
    """A target of ``ratio >= bound``."""
    return Target(">=", bound)


def at_most(bound: float) -> Target:
    """A target of ``ratio <= bound``."""
    return Target("<=", bound)


@dataclass(frozen=True)
class Row:
    """One comparison: ``value`` against ``baseline`` (same unit).

    Attributes:
        comparison: What is compared, e.g. ``"served / raw OpenVINO"``.
        setting: Where, e.g. ``"light_resnet50, gRPC+shm, c=4"``.
        value: The measured value (None: the measurement failed).
        baseline: The baseline's value (None: it failed).
        unit: ``"infer/s"`` or ``"ms"``.
        target: The bound on ``value / baseline``, if this row has one.
        note: Why a value is missing, or other context.
        derived: A summary of other rows (e.g. the best of several), not a
            measurement of its own.
    """

    comparison: str
    setting: str
    value: float | None
    baseline: float | None
    unit: str
    target: Target | None = None
    note: str = ""
    derived: bool = False

    @property
    def ratio(self) -> float | None:
        """Value over baseline, or None when either is missing."""
        if self.value is None or self.baseline is None or self.baseline <= 0:
            return None
        return self.value / self.baseline

    @property
    def result(self) -> str:
        """PASS, MISS or blank (no target)."""
        if self.target is None:
            return ""
        ratio = self.ratio
        if ratio is None:
            return NOT_MEASURED
        return PASS if self.target.met_by(ratio) else MISS


def best_row(
    comparison: str, setting: str, rows: Sequence[Row], target: Target, baseline: float | None
) -> Row:
    """The highest value among ``rows`` against ``baseline``, with ``target``.

    Used for "at the best concurrency" targets: the best served setting against
    the best the baseline did (picking the best *ratio* instead would favour
    rows whose own baseline happened to be measured in a slow moment). No
    measured row gives an unmeasured summary row.
    """
    measured = [r for r in rows if r.value is not None]
    unit = rows[0].unit if rows else ""
    if not measured:
        return Row(
            comparison, setting, None, baseline, unit, target, "no measurement", derived=True
        )
    best = max(measured, key=lambda r: r.value or 0.0)
    return Row(
        comparison,
        f"{setting} (best: {best.setting})",
        best.value,
        baseline,
        unit,
        target,
        derived=True,
    )


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ms":
        return f"{value:.3f} ms"
    return f"{value:.1f} {unit}"


def render(rows: Iterable[Row], header: Sequence[str] = ()) -> str:
    """A markdown document: ``header`` lines, then one table of all rows."""
    lines = [*header]
    if lines:
        lines.append("")
    lines.append("| comparison | setting | value | baseline | ratio | target | result |")
    lines.append("|---|---|---:|---:|---:|---|---|")
    for row in rows:
        ratio = "—" if row.ratio is None else f"{row.ratio:.2f}"
        target = "" if row.target is None else str(row.target)
        setting = f"{row.setting} ({row.note})" if row.note else row.setting
        lines.append(
            f"| {row.comparison} | {setting} | {_number(row.value, row.unit)} | "
            f"{_number(row.baseline, row.unit)} | {ratio} | {target} | {row.result} |"
        )
    return "\n".join(lines) + "\n"


def summary(rows: Iterable[Row]) -> str:
    """``"targets: 5 PASS, 1 MISS, 0 n/a"`` over the rows that have a target."""
    results = [r.result for r in rows if r.target is not None]
    return (
        f"targets: {results.count(PASS)} {PASS}, {results.count(MISS)} {MISS}, "
        f"{results.count(NOT_MEASURED)} {NOT_MEASURED}"
    )
