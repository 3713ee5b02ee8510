"""The load ladder: ovtriton against its peer, the naive model.py and raw OpenVINO.

Pure logic: the order of the runs (:func:`schedule`), what the samples say
(:func:`summarise`), the target rows (:func:`target_rows`) and the markdown
table (:func:`ladder_table`). :meth:`benchmarks.suite.Suite.load_ladder` runs it.

Each side keeps its best: a rival's best config at each concurrency, and every
contender's best sweep; the spread (lowest to highest sweep) says how far a
number moved on a shared machine.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from benchmarks.models import Contender
from benchmarks.table import Row, at_least, at_most

PEER_TARGET = at_least(1.0)
PEER_STRETCH = at_least(1.2)
STRETCH_CONCURRENCY = 8
LATENCY_TARGET = at_most(1.05)
RAW_TARGET = at_least(0.9)
NAIVE_TARGET = at_least(1.0)


@dataclass(frozen=True)
class Block:
    """The runs of one model at one concurrency in one sweep, in the order to run them."""

    sweep: int
    model: str
    concurrency: int
    contenders: tuple[Contender, ...]


def schedule(
    models: Sequence[str],
    concurrencies: Sequence[int],
    contenders: Sequence[Contender],
    sweeps: int,
) -> list[Block]:
    """Every sweep measures every model at every concurrency with every contender.

    The order alternates (forward, then backward) from one block to the next, so
    no contender always runs first after a model switch, or always right after
    the same rival: a slow drift of a shared machine hits each of them alike.
    """
    blocks: list[Block] = []
    for sweep in range(sweeps):
        for model in models:
            for concurrency in concurrencies:
                order = tuple(contenders if len(blocks) % 2 == 0 else reversed(contenders))
                blocks.append(Block(sweep, model, concurrency, order))
    return blocks


@dataclass(frozen=True)
class Sample:
    """One perf_analyzer measurement (or raw OpenVINO: ``p50_ms`` 0 when not timed)."""

    throughput: float
    p50_ms: float


@dataclass
class Samples:
    """Every sample of the ladder, by (model, concurrency, contender label of a side)."""

    by_key: dict[tuple[str, int, str, str], list[Sample]] = field(default_factory=dict)
    raw: dict[tuple[str, int], list[float]] = field(default_factory=dict)

    def add(self, model: str, concurrency: int, contender: Contender, sample: Sample) -> None:
        """Record one measurement of a contender."""
        key = (model, concurrency, contender.side, contender.label)
        self.by_key.setdefault(key, []).append(sample)

    def add_raw(self, model: str, concurrency: int, throughput: float) -> None:
        """Record one raw OpenVINO measurement."""
        self.raw.setdefault((model, concurrency), []).append(throughput)


@dataclass(frozen=True)
class Best:
    """A side's best at one model and concurrency.

    Attributes:
        throughput: The highest throughput of any config in any sweep.
        p50_ms: The lowest p50 of any config in any sweep (a side's best latency).
        config: The config that gave ``throughput``.
        low: That config's lowest sweep (the spread is ``low`` to ``throughput``).
        sweeps: How many samples that config has.
    """

    throughput: float
    p50_ms: float
    config: str
    low: float
    sweeps: int


def best_of(samples: Samples, model: str, concurrency: int, side: str) -> Best | None:
    """The side's best at ``model`` and ``concurrency``, or None if nothing was measured."""
    found = {
        label: values
        for (m, c, s, label), values in samples.by_key.items()
        if (m, c, s) == (model, concurrency, side) and values
    }
    if not found:
        return None
    config, values = max(found.items(), key=lambda item: max(v.throughput for v in item[1]))
    p50s = [v.p50_ms for vs in found.values() for v in vs if v.p50_ms > 0]
    return Best(
        throughput=max(v.throughput for v in values),
        p50_ms=min(p50s) if p50s else 0.0,
        config=config,
        low=min(v.throughput for v in values),
        sweeps=len(values),
    )


@dataclass(frozen=True)
class Point:
    """What the ladder says at one model and concurrency."""

    model: str
    concurrency: int
    ovtriton: Best | None
    peer: Best | None
    naive: Best | None
    raw: float | None
    raw_low: float | None


def summarise(samples: Samples, models: Sequence[str], concurrencies: Sequence[int]) -> list[Point]:
    """One :class:`Point` per model and concurrency, in the plan's order."""
    points = []
    for model in models:
        for concurrency in concurrencies:
            raw = samples.raw.get((model, concurrency), [])
            points.append(
                Point(
                    model,
                    concurrency,
                    best_of(samples, model, concurrency, "ovtriton"),
                    best_of(samples, model, concurrency, "peer"),
                    best_of(samples, model, concurrency, "naive"),
                    max(raw) if raw else None,
                    min(raw) if raw else None,
                )
            )
    return points


def _value(best: Best | None) -> float | None:
    return None if best is None else best.throughput


def target_rows(points: Iterable[Point], raw_target_models: Sequence[str]) -> list[Row]:
    """The ladder's target rows (see the plan's targets in benchmarks/README.md)."""
    rows = []
    for point in points:
        where = f"{point.model}, gRPC, c={point.concurrency}"
        peer_note = "" if point.peer is None else f"best peer: {point.peer.config}"
        rows.append(
            Row("ovtriton / best peer", where, _value(point.ovtriton), _value(point.peer),
                "infer/s", PEER_TARGET, peer_note, derived=True)
        )  # fmt: skip
        if point.concurrency == STRETCH_CONCURRENCY:
            rows.append(
                Row("ovtriton / best peer (stretch)", where, _value(point.ovtriton),
                    _value(point.peer), "infer/s", PEER_STRETCH, peer_note, derived=True)
            )  # fmt: skip
        if point.concurrency == 1:
            rows.append(
                Row(
                    "p50 latency: ovtriton / best peer",
                    where,
                    None if point.ovtriton is None else point.ovtriton.p50_ms,
                    None if point.peer is None else point.peer.p50_ms,
                    "ms",
                    LATENCY_TARGET,
                    derived=True,
                )
            )
        rows.append(
            Row(
                "ovtriton / raw OpenVINO (best hint)",
                where,
                _value(point.ovtriton),
                point.raw,
                "infer/s",
                RAW_TARGET if point.model in raw_target_models else None,
                raw_hint(point.concurrency),
                derived=True,
            )
        )
        naive_note = "" if point.naive is None else f"best naive: {point.naive.config}"
        rows.append(
            Row("ovtriton / best naive model.py", where, _value(point.ovtriton),
                _value(point.naive), "infer/s", NAIVE_TARGET, naive_note, derived=True)
        )  # fmt: skip
    return rows


def raw_hint(concurrency: int) -> str:
    """How raw OpenVINO runs at ``concurrency``: its best hint for that load."""
    if concurrency == 1:
        return "raw: LATENCY, one synchronous request"
    return "raw: THROUGHPUT, full AsyncInferQueue"


def _throughput(best: Best | None) -> str:
    if best is None:
        return "—"
    spread = f" ({best.low:.1f}-{best.throughput:.1f})" if best.sweeps > 1 else ""
    return f"{best.throughput:.1f}{spread}"


def _ratio(value: float | None, baseline: float | None) -> str:
    if value is None or not baseline:
        return "—"
    return f"{value / baseline:.2f}"


def _ms(best: Best | None) -> str:
    return "—" if best is None or best.p50_ms <= 0 else f"{best.p50_ms:.1f}"


def ladder_table(points: Sequence[Point], title: str = "## Load ladder (gRPC)") -> str:
    """The side-by-side table: throughput with its spread over sweeps, p50, ratios."""
    lines = [
        title,
        "",
        "Infer/s is each side's best sweep (lowest-highest sweep in brackets); a rival's "
        "column is its best config at that concurrency; p50 is each side's lowest, in ms.",
        "",
        "| model | c | ovtriton infer/s | best peer infer/s | peer config | ovtriton / peer "
        "| ovtriton p50 | peer p50 | best naive infer/s | ovtriton / naive "
        "| raw OpenVINO infer/s | ovtriton / raw |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in points:
        raw = "—" if p.raw is None else f"{p.raw:.1f}"
        if p.raw is not None and p.raw_low is not None and p.raw_low != p.raw:
            raw += f" ({p.raw_low:.1f}-{p.raw:.1f})"
        lines.append(
            f"| {p.model} | {p.concurrency} | {_throughput(p.ovtriton)} | {_throughput(p.peer)} "
            f"| {'—' if p.peer is None else p.peer.config} "
            f"| {_ratio(_value(p.ovtriton), _value(p.peer))} | {_ms(p.ovtriton)} | {_ms(p.peer)} "
            f"| {_throughput(p.naive)} | {_ratio(_value(p.ovtriton), _value(p.naive))} "
            f"| {raw} | {_ratio(_value(p.ovtriton), p.raw)} |"
        )
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class MemoryRow:
    """The memory one served model costs (``megabytes`` None: not measured)."""

    model: str
    backend: str
    megabytes: float | None
    how: str


def memory_table(rows: Sequence[MemoryRow]) -> str:
    """RSS per served model, in MB: ovtriton's stub against the peer's server growth."""
    lines = [
        "## Memory per served model (RSS, MB)",
        "",
        "ovtriton: the RSS of the model's Python stub process (one per instance: the "
        "interpreter, OpenVINO and the compiled model or models). Peer: how much "
        "tritonserver's RSS grew when the model was loaded (its instances share one "
        "compiled model).",
        "",
        "| model | backend | RSS MB | measured as |",
        "|---|---|---:|---|",
    ]
    for row in rows:
        value = "—" if row.megabytes is None else f"{row.megabytes:.0f}"
        lines.append(f"| {row.model} | {row.backend} | {value} | {row.how} |")
    return "\n".join(lines) + "\n"
