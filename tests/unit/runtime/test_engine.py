"""The inference engine on real OpenVINO (no Triton): batching, variants, errors."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import openvino as ov
import pytest

from ovtriton.errors import ModelLoadError, RequestError
from ovtriton.rules.dims import Dim
from ovtriton.rules.parameters import parse_parameters
from ovtriton.runtime import engine as engine_module
from ovtriton.runtime.engine import InferenceEngine, choose_mode
from ovtriton.runtime.preparation import prepare_model
from tests.support.models import batch_mixing, dense, save, scaled, two_inputs

CORE = ov.Core()


Build = Callable[..., InferenceEngine]


@pytest.fixture(params=["inline", "pipelined", "adaptive"])
def engine(request: pytest.FixtureRequest) -> Build:
    """Every test runs in every execution mode: inline, pipelined and adaptive."""
    mode = request.param

    def build(
        model: ov.Model,
        tmp_path: Path,
        batched: bool,
        events: list[str] | None = None,
        max_batch_size: int = 8,
        **raw: str,
    ) -> InferenceEngine:
        params = parse_parameters({"execution_mode": mode, **raw})
        prepared = prepare_model(CORE, save(model, tmp_path), params, lambda _: None)
        sink = events if events is not None else []
        served = InferenceEngine(
            CORE,
            prepared,
            params,
            max_batch_size if batched else 0,
            lambda e, *_: sink.append(e),
        )
        assert served.pipelined == (mode != "inline")
        assert served.adaptive == (mode == "adaptive")
        return served

    return build


def rows(count: int, start: float = 0.0) -> np.ndarray:
    return (np.arange(count * 3, dtype=np.float32) + start).reshape(count, 3)


def test_requests_are_concatenated_and_split_back(engine: Build, tmp_path: Path) -> None:
    served = engine(scaled([-1, 3]), tmp_path, batched=True)
    requests = [{"x": rows(1)}, {"x": rows(3, 100)}, {"x": rows(2, 200)}]
    results = served.infer(requests, [[], [], []])
    for request, result in zip(requests, results, strict=True):
        assert isinstance(result, dict)
        np.testing.assert_array_equal(result["y"], request["x"] * 2)


@pytest.mark.parametrize("batched", [False, True])
def test_results_of_one_call_stay_their_own(engine: Build, tmp_path: Path, batched: bool) -> None:
    # Unbatched requests, or batched ones of other shapes, run one after another on
    # the same infer request: the results collected by infer() must not alias it.
    served = engine(scaled([-1, -1]), tmp_path, batched=batched)
    requests = [{"x": rows(1)}, {"x": rows(1, 100)[:, :2].copy()}, {"x": rows(1, 200)}]
    results = served.infer(requests, [[], [], []])
    for request, result in zip(requests, results, strict=True):
        assert isinstance(result, dict)
        np.testing.assert_array_equal(result["y"], request["x"] * 2)


def test_runs_fit_every_inputs_batch(engine: Build, tmp_path: Path) -> None:
    # a takes any batch, b only 1: three rows run as three runs of one.
    served = engine(two_inputs(), tmp_path, batched=True, shape='{"a": "(-1,4)", "b": [1, 4]}')
    a, b = np.arange(12, dtype=np.float32).reshape(3, 4), np.ones((3, 4), np.float32)
    [result] = served.infer([{"a": a, "b": b}], [[]])
    assert isinstance(result, dict)
    np.testing.assert_array_equal(result["s"], a + b)


def test_inputs_without_a_common_batch_cannot_batch(engine: Build, tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="share no size"):
        engine(two_inputs(), tmp_path, batched=True, shape='{"a": "(1,4)", "b": "(2,4)"}')


def test_fixed_batch_pads_and_splits(engine: Build, tmp_path: Path) -> None:
    served = engine(scaled([1, 3]), tmp_path, batched=True, batch_size="2")
    requests = [{"x": rows(3)}, {"x": rows(2, 50)}]
    results = served.infer(requests, [[], []])
    for request, result in zip(requests, results, strict=True):
        assert isinstance(result, dict)
        np.testing.assert_array_equal(result["y"], request["x"] * 2)


def test_bad_request_fails_alone(engine: Build, tmp_path: Path) -> None:
    served = engine(scaled([1, 3]), tmp_path, batched=True, shape="(1:4,3)")
    results = served.infer([{"x": rows(2)}, {"x": rows(5)}, {"x": rows(1)}], [[], [], []])
    assert isinstance(results[1], RequestError)
    assert str(results[1]) == "Invalid input batch size - Expected: [1~4]; Actual: 5; input name: x"
    np.testing.assert_array_equal(results[0]["y"], rows(2) * 2)  # type: ignore[index]
    np.testing.assert_array_equal(results[2]["y"], rows(1) * 2)  # type: ignore[index]


def test_check_verdicts_are_remembered_per_signature_and_bounded(
    engine: Build, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "MAX_REMEMBERED_SIGNATURES", 2)
    served = engine(scaled([1, 3]), tmp_path, batched=True, shape="(1:4,3)")
    for _ in range(2):  # the second round answers from memory, the same way
        results = served.infer([{"x": rows(5)}, {"x": rows(2)}], [[], []])
        assert isinstance(results[0], RequestError) and "Actual: 5" in str(results[0])
        np.testing.assert_array_equal(results[1]["y"], rows(2) * 2)  # type: ignore[index]
    served.infer([{"x": rows(3)}], [[]])  # a third signature: memory starts over
    assert len(served._verdicts) == 1


def test_string_tensors_travel_as_bytes(engine: Build, tmp_path: Path) -> None:
    from openvino import opset13 as ops

    s = ops.parameter([-1], ov.Type.string, name="s")
    s.output(0).get_tensor().set_names({"s"})
    t = ops.gather(s, ops.constant(np.array([1, 0], np.int64)), ops.constant(np.int64(0)))
    t.output(0).get_tensor().set_names({"t"})
    served = engine(ov.Model([t.output(0)], [s], "strings"), tmp_path, batched=False)
    words = np.array([b"open", "vino \u00e9".encode()], dtype=np.object_)
    [result] = served.infer([{"s": words}], [[]])
    assert isinstance(result, dict)
    assert result["t"].dtype == np.object_ and list(result["t"]) == [words[1], words[0]]


def test_unknown_output_is_an_invalid_request(engine: Build, tmp_path: Path) -> None:
    served = engine(scaled([-1, 3]), tmp_path, batched=True)
    [result] = served.infer([{"x": rows(1)}], [["nope"]])
    assert isinstance(result, RequestError) and "nope" in str(result)


def test_batch_auto_compiles_each_batch_once(engine: Build, tmp_path: Path) -> None:
    events: list[str] = []
    served = engine(scaled([1, 3]), tmp_path, batched=False, events=events, batch_size="auto")
    for count in (1, 8, 1, 8):
        [result] = served.infer([{"x": rows(count)}], [[]])
        np.testing.assert_array_equal(result["y"], rows(count) * 2)  # type: ignore[index]
    # Batch 1 is the model's own shape, compiled at load; 8 is compiled once.
    assert served.cache.compiles == 1
    assert events.count("compile") == 1 and events.count("hit") == 3


def test_shape_auto_cache_is_bounded(engine: Build, tmp_path: Path) -> None:
    events: list[str] = []
    served = engine(
        scaled([1, 3]), tmp_path, batched=False, events=events, shape="auto", reshape_cache_size="2"
    )
    for width in (4, 5, 6, 4):
        x = np.ones((2, width), np.float32)
        [result] = served.infer([{"x": x}], [[]])
        np.testing.assert_array_equal(result["y"], x * 2)  # type: ignore[index]
    assert len(served.cache) == 2
    assert "evict" in events and served.cache.compiles == 4


def test_device_that_cannot_compile_fails(engine: Build, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        engine(scaled([1, 3]), tmp_path, batched=False, target_device="NPU")


@pytest.mark.parametrize("sizes", [[1, 2], [2, 1], [1, 1, 1], [3, 1, 4, 1, 5], [4] * 5])
def test_uneven_runs_keep_every_request_its_rows(
    engine: Build, tmp_path: Path, sizes: list[int]
) -> None:
    served = engine(scaled([-1, 3]), tmp_path, batched=True)
    requests = [{"x": np.full((size, 3), i, np.float32)} for i, size in enumerate(sizes)]
    results = served.infer(requests, [[]] * len(sizes))
    for request, result in zip(requests, results, strict=True):
        np.testing.assert_array_equal(result["y"], request["x"] * 2)  # type: ignore[index]


def strict_reshape() -> ov.Model:
    """Takes any length at the served shape but fails inside OpenVINO unless it is 4."""
    from openvino import opset13 as ops

    x = ops.parameter([1, -1], ov.Type.f32, name="x")
    x.output(0).get_tensor().set_names({"x"})
    y = ops.reshape(x, ops.constant(np.array([2, 2], np.int64)), False)
    y.output(0).get_tensor().set_names({"y"})
    return ov.Model([y.output(0)], [x], "strict_reshape")


def test_a_failing_inference_is_answered_with_its_error(engine: Build, tmp_path: Path) -> None:
    served = engine(strict_reshape(), tmp_path, batched=False)
    bad, good = served.infer([{"x": np.ones((1, 3), np.float32)}], [[]]) + served.infer(
        [{"x": np.ones((1, 4), np.float32)}], [[]]
    )
    assert isinstance(bad, RuntimeError) and "reshape" in str(bad)
    np.testing.assert_array_equal(good["y"], np.ones((2, 2), np.float32))  # type: ignore[index]
    served.close()


def _dense_reference(x: np.ndarray) -> np.ndarray:
    """OpenVINO's own answer for each row alone, on the batch-1 model."""
    compiled = CORE.compile_model(dense(), "CPU")
    return np.concatenate([compiled(row[None])[0] for row in x])


def test_default_serves_a_batch1_model_on_a_batch_range_when_inline(
    engine: Build, tmp_path: Path
) -> None:
    served = engine(dense(), tmp_path, batched=True, max_batch_size=8)
    # Pipelined (and adaptive) calls overlap on the THROUGHPUT twin's streams instead.
    assert served.batch_range == (None if served.pipelined else Dim(1, 8))
    x = np.random.default_rng(1).standard_normal((6, 8)).astype(np.float32)
    requests = [{"x": x[0:1]}, {"x": x[1:3]}, {"x": x[3:6]}]  # 6 rows: one batched run
    results = served.infer(requests, [[], [], []])
    expected = _dense_reference(x)
    got = np.concatenate([r["y"] for r in results if isinstance(r, dict)])
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_a_graph_that_mixes_samples_keeps_its_batch(engine: Build, tmp_path: Path) -> None:
    served = engine(batch_mixing(), tmp_path, batched=True, max_batch_size=8)
    assert served.batch_range is None
    x = np.random.default_rng(2).standard_normal((3, 8)).astype(np.float32)
    [result] = served.infer([{"x": x}], [[]])
    assert isinstance(result, dict)
    np.testing.assert_allclose(result["y"], 2 * x, rtol=1e-5)  # row by row, as at batch 1


@pytest.mark.parametrize(
    "raw",
    [
        {"batch_size": "1"},
        {"PERFORMANCE_HINT": "THROUGHPUT"},
        {"NUM_STREAMS": "2"},
        {"nireq": "2"},
        {"shape": "(1,8)"},
    ],
)
def test_explicit_settings_keep_the_models_own_batch(
    engine: Build, tmp_path: Path, raw: dict[str, str]
) -> None:
    served = engine(dense(), tmp_path, batched=True, max_batch_size=8, **raw)
    assert served.batch_range is None
    x = np.random.default_rng(3).standard_normal((3, 8)).astype(np.float32)
    [result] = served.infer([{"x": x}], [[]])
    assert isinstance(result, dict)
    np.testing.assert_allclose(result["y"], _dense_reference(x), rtol=1e-5, atol=1e-6)


def test_choose_mode_honours_the_parameter_and_times_only_static_models() -> None:
    assert choose_mode("inline", None, False).mode == "inline"
    assert choose_mode("pipelined", 1e-6, True).mode == "pipelined"
    assert choose_mode("auto", 1e-6, True).mode == "inline"
    assert choose_mode("auto", 1.0, True).mode == "adaptive"
    # a dynamic sequence length timed at its smallest says nothing about long requests
    assert choose_mode("auto", 1e-6, False).mode == "adaptive"
    assert choose_mode("auto", None, True).mode == "adaptive"
    assert "execution_mode" in choose_mode("inline", None, True).reason
    assert choose_mode("adaptive", 1e-6, True).mode == "adaptive"


class _ThreadAnswers:
    """A responder that records each answer and the thread that gave it."""

    def __init__(self) -> None:
        self.results: dict[int, object] = {}
        self.threads: dict[int, int] = {}
        self._lock = threading.Lock()

    def respond(self, index: int, result: object) -> None:
        with self._lock:
            self.results[index] = result
            self.threads[index] = threading.get_ident()


def test_adaptive_runs_a_lone_request_inline_and_overlapping_ones_on_the_twin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = parse_parameters({"execution_mode": "adaptive"})
    prepared = prepare_model(CORE, save(scaled([1, 3]), tmp_path), params, lambda _: None)
    served = InferenceEngine(CORE, prepared, params, 8)
    assert served.loaded is not None  # the default operating point's THROUGHPUT twin
    assert served.loaded.compiled.get_property("PERFORMANCE_HINT") == "THROUGHPUT"
    assert served.initial.compiled.get_property("PERFORMANCE_HINT") == "LATENCY"
    lone = _ThreadAnswers()
    served.serve([{"x": rows(1)}], [[]], lone)
    # Answered before serve returned, on this thread: inline.
    assert lone.threads == {0: threading.get_ident()}
    np.testing.assert_array_equal(lone.results[0]["y"], rows(1) * 2)  # type: ignore[index]

    held: list[tuple[object, ...]] = []
    monkeypatch.setattr(served.loaded, "start", lambda *job: held.append(job))
    several = _ThreadAnswers()
    served.serve([{"x": rows(1, 10)}, {"x": rows(1, 20)}], [[], []], several)
    assert len(held) == 2 and not several.results  # two runs queued on the twin
    while_busy = _ThreadAnswers()
    served.serve([{"x": rows(1, 30)}], [[]], while_busy)
    assert len(held) == 3 and not while_busy.results  # runs in flight: pipelined too
    monkeypatch.undo()
    for job in held:
        served.loaded.start(*job)  # type: ignore[arg-type]
    served.wait()
    for answers, starts in ((several, (10, 20)), (while_busy, (30,))):
        for index, start in enumerate(starts):
            assert answers.threads[index] != threading.get_ident()
            np.testing.assert_array_equal(
                answers.results[index]["y"], rows(1, start) * 2  # type: ignore[index]
            )
    # All answered: idle again, so the next lone request is inline once more.
    again = _ThreadAnswers()
    served.serve([{"x": rows(1, 40)}], [[]], again)
    assert again.threads == {0: threading.get_ident()}
    served.close()
