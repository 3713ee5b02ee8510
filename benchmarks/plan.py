"""What one benchmark run measures: the full matrix, or a quick reduced one.

The full plan takes about 20 minutes on a 2-core machine (the load ladder is
most of it); ``--quick`` runs every comparison on a reduced matrix in a few
minutes.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.models import NAIVES, PEERS, Contender
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
        """How tables name this transport ("gRPC+shm")."""
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
        image_models: ONNX models on the load ladder.
        concurrencies: The ladder's perf_analyzer concurrencies (gRPC).
        sweeps: How often the whole ladder is measured (interleaved).
        rivals: The peer and naive configs on the ladder.
        raw_target_models: Image models whose ratio to raw OpenVINO has a target.
        tiny: ovtriton's tiny model against the minimal numpy model.
        guard: HTTP through ``ovtriton serve``'s front door against Triton's own HTTP.
        sdk_protocols: Protocols for the SDK comparisons.
        interval_ms: perf_analyzer's measurement window.
        slow_models: Models whose window is ``slow_interval_ms`` (few requests a second,
            so a short window is too noisy to be stable).
        slow_interval_ms: Their window.
        raw_seconds: Raw OpenVINO's measured window.
        raw_warmup: Raw OpenVINO's warm-up.
        sdk_seconds: Client-side time per side of each SDK comparison.
    """

    name: str
    image_models: tuple[str, ...]
    concurrencies: tuple[int, ...]
    sweeps: int
    rivals: tuple[Contender, ...]
    raw_target_models: tuple[str, ...]
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
    def ladder_runs(self) -> int:
        """perf_analyzer runs of the load ladder."""
        contenders = 1 + len(self.rivals)
        return self.sweeps * len(self.image_models) * len(self.concurrencies) * contenders

    @property
    def perf_runs(self) -> int:
        """perf_analyzer runs in this plan (for progress output)."""
        return self.ladder_runs + 2 * (len(self.tiny) + len(self.guard))

    @property
    def needs_peer(self) -> bool:
        """Whether the C++ OpenVINO backend must be built and served."""
        return any(rival.side == "peer" for rival in self.rivals)

    def interval_for(self, model: str) -> int:
        """perf_analyzer's window for ``model`` (its rivals, named after it, share it)."""
        slow = any(model.startswith(slow) for slow in self.slow_models)
        return self.slow_interval_ms if slow else self.interval_ms


TINY_TARGET = at_least(0.9)
GUARD_TARGET = at_least(0.95)
SDK_LATENCY_TARGET = at_most(1.05)
SDK_SHM_TARGET = at_least(2.0)

FULL = Plan(
    name="full",
    image_models=(SQUEEZENET, RESNET),
    concurrencies=(1, 2, 4, 8),
    sweeps=2,
    rivals=(*PEERS, *NAIVES),
    raw_target_models=(RESNET,),
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
    interval_ms=1500,
    slow_models=frozenset({RESNET}),
    slow_interval_ms=2500,
    raw_seconds=2.0,
    raw_warmup=0.5,
    sdk_seconds=3.0,
)

QUICK = Plan(
    name="quick",
    image_models=(SQUEEZENET,),
    concurrencies=(1, 8),
    sweeps=2,
    rivals=(*PEERS[1:3], NAIVES[0]),
    raw_target_models=(RESNET,),
    tiny=(Pair("tiny", GRPC, 1, TINY_TARGET),),
    guard=(Pair(SQUEEZENET, HTTP, 4, GUARD_TARGET),),
    sdk_protocols=("grpc",),
    interval_ms=1000,
    slow_models=frozenset({RESNET}),
    slow_interval_ms=2000,
    raw_seconds=1.0,
    raw_warmup=0.3,
    sdk_seconds=1.5,
)
