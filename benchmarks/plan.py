"""What one benchmark run measures: the full matrix, or a quick reduced one.

The full plan fits in a few minutes on a 2-core machine; ``--quick`` is a smoke
test of every comparison in one to two minutes.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.table import Target, at_least, at_most

RESNET = "light_resnet50"
SQUEEZENET = "light_squeezenet"


@dataclass(frozen=True)
class Transport:
    """How perf_analyzer reaches the server."""

    protocol: str
    shared_memory: bool = False

    @property
    def label(self) -> str:
        name = {"http": "HTTP", "grpc": "gRPC"}[self.protocol]
        return f"{name}+shm" if self.shared_memory else name


HTTP = Transport("http")
HTTP_SHM = Transport("http", shared_memory=True)
GRPC = Transport("grpc")
GRPC_SHM = Transport("grpc", shared_memory=True)


@dataclass(frozen=True)
class Pair:
    """A perf_analyzer comparison of two models at one transport and concurrency."""

    model: str
    transport: Transport
    concurrency: int
    target: Target | None = None


@dataclass(frozen=True)
class Plan:
    """The matrix of one run.

    Attributes:
        name: ``"full"`` or ``"quick"``.
        image_models: ONNX models compared with raw OpenVINO.
        transports: perf_analyzer transports for that comparison.
        concurrencies: perf_analyzer concurrencies for that comparison.
        raw_targets: Per image model, the bound on best served / raw throughput.
        naive: ovtriton against the naive model.py (``model`` is the image model).
        tiny: ovtriton's tiny model against the minimal numpy model.
        guard: HTTP through ``ovtriton serve``'s front door against Triton's own HTTP.
        sdk_protocols: Protocols for the SDK comparisons.
        interval_ms: perf_analyzer's measurement window.
        slow_models: Models whose window is ``slow_interval_ms`` (few requests a second,
            so a short window is too noisy to be stable).
        slow_interval_ms: Their window.
        raw_seconds: Raw OpenVINO's measured window (before and after each transport).
        raw_warmup: Raw OpenVINO's warm-up.
        sdk_seconds: Client-side time per side of each SDK comparison.
    """

    name: str
    image_models: tuple[str, ...]
    transports: tuple[Transport, ...]
    concurrencies: tuple[int, ...]
    raw_targets: dict[str, Target]
    naive: tuple[Pair, ...]
    tiny: tuple[Pair, ...]
    guard: tuple[Pair, ...]
    sdk_protocols: tuple[str, ...]
    interval_ms: int
    slow_models: frozenset[str]
    slow_interval_ms: int
    raw_seconds: float
    raw_warmup: float
    sdk_seconds: float

    @property
    def perf_runs(self) -> int:
        """perf_analyzer runs in this plan (for progress output)."""
        matrix = len(self.image_models) * len(self.transports) * len(self.concurrencies)
        return matrix + 2 * (len(self.naive) + len(self.tiny) + len(self.guard))

    def interval_for(self, model: str) -> int:
        """perf_analyzer's window for ``model`` (its naive twin shares it)."""
        base = model.removesuffix("_naive")
        return self.slow_interval_ms if base in self.slow_models else self.interval_ms

    @property
    def naive_models(self) -> tuple[str, ...]:
        return tuple(sorted({pair.model for pair in self.naive}))


RAW_TARGETS = {RESNET: at_least(0.95), SQUEEZENET: at_least(0.85)}
NAIVE_TARGET = at_least(1.3)
TINY_TARGET = at_least(0.9)
GUARD_TARGET = at_least(0.95)
SDK_LATENCY_TARGET = at_most(1.05)
SDK_SHM_TARGET = at_least(2.0)

FULL = Plan(
    name="full",
    image_models=(RESNET, SQUEEZENET),
    transports=(HTTP, HTTP_SHM, GRPC, GRPC_SHM),
    concurrencies=(1, 2, 4),
    raw_targets=RAW_TARGETS,
    naive=(
        Pair(SQUEEZENET, GRPC, 1),
        Pair(SQUEEZENET, GRPC, 4, NAIVE_TARGET),
        Pair(RESNET, GRPC, 4),
    ),
    tiny=(
        Pair("tiny", HTTP, 1, TINY_TARGET),
        Pair("tiny", GRPC, 1, TINY_TARGET),
        Pair("tiny", GRPC, 4, TINY_TARGET),
    ),
    guard=(
        Pair(SQUEEZENET, HTTP, 1, GUARD_TARGET),
        Pair(SQUEEZENET, HTTP, 4, GUARD_TARGET),
        Pair(SQUEEZENET, HTTP_SHM, 4, GUARD_TARGET),
        Pair("tiny", HTTP, 4),
    ),
    sdk_protocols=("http", "grpc"),
    interval_ms=2000,
    slow_models=frozenset({RESNET}),
    slow_interval_ms=3000,
    raw_seconds=2.5,
    raw_warmup=0.5,
    sdk_seconds=3.0,
)

QUICK = Plan(
    name="quick",
    image_models=(SQUEEZENET,),
    transports=(HTTP, GRPC, GRPC_SHM),
    concurrencies=(1, 4),
    raw_targets=RAW_TARGETS,
    naive=(Pair(SQUEEZENET, GRPC, 4, NAIVE_TARGET),),
    tiny=(Pair("tiny", GRPC, 1, TINY_TARGET),),
    guard=(Pair(SQUEEZENET, HTTP, 4, GUARD_TARGET),),
    sdk_protocols=("grpc",),
    interval_ms=1000,
    slow_models=frozenset({RESNET}),
    slow_interval_ms=2000,
    raw_seconds=1.5,
    raw_warmup=0.3,
    sdk_seconds=1.5,
)

PLANS = {plan.name: plan for plan in (FULL, QUICK)}
