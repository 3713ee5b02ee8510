"""The default operating point and every execution mode, on a real Triton server.

Each model computes ``tanh(x @ W + b)`` with seeded random weights (or mixes the
samples of a batch, see :func:`~tests.support.models.batch_mixing`), so a row that
is mixed up, stale or shifted shows when the served values are compared with
OpenVINO's own result for that row alone. Concurrent clients make Triton's dynamic
batcher combine requests: into one batched run on the batch-range variant (inline),
onto the THROUGHPUT twin's streams when groups overlap (pipelined, adaptive), or a
row at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import openvino as ov
import pytest

from tests.functional.clients import PROTOCOLS, infer, run_clients
from tests.functional.serving import Serve, add_model, param
from tests.support.models import batch_mixing, dense

pytestmark = pytest.mark.functional

MODELS = {
    # name: (model, config, the load's log line says "batch range")
    "default": (dense, "", True),
    "inline": (dense, param("execution_mode", "inline"), True),
    "pipelined": (dense, param("execution_mode", "pipelined"), False),
    "adaptive": (dense, param("execution_mode", "adaptive"), False),
    "batch_one": (dense, param("batch_size", "1"), False),
    "throughput": (dense, param("PERFORMANCE_HINT", "THROUGHPUT"), False),
    "mixing": (batch_mixing, "", False),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    repository = tmp_path_factory.mktemp("operating_point")
    for name, (build, config, _) in MODELS.items():
        add_model(repository, name, build(), config)
    with Serve(repository) as serve:
        assert "server ready" in serve.output, serve.output[-2000:]
        yield serve


def expected(name: str, x: np.ndarray) -> np.ndarray:
    """OpenVINO's own answer, each row run alone on the model as it was written."""
    compiled = ov.Core().compile_model(MODELS[name][0](), "CPU")
    return np.concatenate([compiled(row[None])[0] for row in x])


def load_line(server: Serve, model: str) -> str:
    return next(line for line in server.lines if f"ovtriton: model {model} from" in line)


@pytest.mark.parametrize("model", MODELS)
def test_the_load_says_how_the_model_runs(server: Serve, model: str) -> None:
    line = load_line(server, model)
    assert ("batch range [1~32]" in line) == MODELS[model][2], line
    mode = {m: f"{m}: execution_mode" for m in ("inline", "pipelined", "adaptive")}
    assert mode.get(model, "auto:") in line, line


@pytest.mark.parametrize("model", MODELS)
def test_concurrent_requests_get_their_own_rows(server: Serve, model: str) -> None:
    problems: list[str] = []
    answered = [0]

    def client_loop(seed: int) -> None:
        rng = np.random.default_rng(seed)
        protocol = PROTOCOLS[seed % 2]
        for _ in range(12):
            batch = int(rng.integers(1, 4))  # requests of 1-3 rows, combined by Triton
            x = rng.standard_normal((batch, 8)).astype(np.float32)
            y = infer(protocol, server, model, {"x": x})["y"]
            if y.shape != (batch, 4 if model != "mixing" else 8) or not np.allclose(
                y, expected(model, x), rtol=1e-4, atol=1e-5
            ):
                problems.append(f"{model} {x.shape}: wrong, mixed or shifted rows")
            answered[0] += 1

    run_clients(client_loop, 8, timeout=120)
    assert not problems, problems[:5]
    assert answered[0] == 8 * 12


def test_a_bad_execution_mode_fails_the_load_naming_it(tmp_path: Path) -> None:
    add_model(tmp_path, "bad", dense(), param("execution_mode", "sometimes"))
    with Serve(tmp_path) as serve:
        assert "'execution_mode'" in serve.output and "sometimes" in serve.output
