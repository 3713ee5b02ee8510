"""Pure helpers of the benchmark suite: /proc/stat, plans, repository configs."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import openvino as ov
import pytest

from benchmarks.machine import CpuSplit, busy_seconds, process_seconds, self_seconds
from benchmarks.models import (
    SERVING_CONFIG,
    TensorSpec,
    add_ovtriton_model,
    add_python_model,
    tensor_specs,
    tiny_model,
    tiny_reference,
)
from benchmarks.plan import FULL, QUICK, Transport


def test_busy_seconds_excludes_idle_and_iowait() -> None:
    stat = "cpu  100 10 50 1000 40 5 5 0 0 0\ncpu0 50 5 25 500 20 2 3 0 0 0\n"
    assert busy_seconds(stat, 100.0) == pytest.approx((100 + 10 + 50 + 5 + 5) / 100)


def test_process_seconds_reads_this_process_and_zero_for_a_gone_one() -> None:
    sum(i * i for i in range(2_000_000))  # burn a few ticks
    assert 0 < process_seconds(os.getpid()) <= self_seconds() + 0.05
    assert process_seconds(2**22 + 1) == 0.0  # above Linux's pid_max default


def test_cpu_split_per_inference() -> None:
    split = CpuSplit(client=1.5, front=0.5, triton=2.0, stubs=9.0) - CpuSplit(0.5, 0.3, 1.0, 1.0)
    assert split == CpuSplit(1.0, 0.2, 1.0, 8.0)
    assert split.per_inference_ms(1000) == (
        "CPU ms/infer: client 1.00, front 0.20, triton 1.00, stub 8.00"
    )


def test_busy_seconds_needs_the_aggregate_line() -> None:
    with pytest.raises(ValueError, match="cpu"):
        busy_seconds("cpu0 1 2 3 4\n", 100.0)


def test_plans_count_their_perf_runs() -> None:
    # ovtriton + 4 peer configs + 2 naive, 2 models, 4 concurrencies, 2 sweeps
    assert FULL.ladder_runs == 7 * 2 * 4 * 2
    assert FULL.perf_runs == FULL.ladder_runs + 2 * (len(FULL.tiny) + len(FULL.guard))
    assert FULL.concurrencies == (1, 2, 4, 8) and FULL.sweeps >= 2
    assert set(QUICK.image_models) <= set(FULL.image_models)
    assert QUICK.sweeps >= 2 and QUICK.needs_peer and FULL.needs_peer
    assert Transport("grpc", shared_memory=True).label == "gRPC+shm"


def test_tiny_model_matches_its_numpy_reference() -> None:
    model = tiny_model()
    x = np.linspace(-3, 3, 32, dtype=np.float32).reshape(2, 16)
    y = ov.Core().compile_model(model, "CPU")(x)[0]
    np.testing.assert_allclose(y, tiny_reference(x), rtol=1e-5, atol=1e-6)


def test_tensor_specs_drop_the_batch_dimension() -> None:
    inputs, outputs = tensor_specs(tiny_model())
    assert inputs == (TensorSpec("x", "TYPE_FP32", (16,)),)
    assert outputs == (TensorSpec("y", "TYPE_FP32", (16,)),)
    assert inputs[0].config_entry() == '{ name: "x" data_type: TYPE_FP32 dims: [ 16 ] }'


def test_both_backends_get_the_same_serving_config(tmp_path: Path) -> None:
    ours = add_ovtriton_model(tmp_path, "tiny", tiny_model())
    source = tmp_path / "model_source.py"
    source.write_text("# model.py\n")
    inputs, outputs = tensor_specs(tiny_model())
    theirs = add_python_model(tmp_path, "tiny_numpy", source, inputs, outputs)
    assert (ours / "1" / "model.xml").is_file()
    assert (theirs / "1" / "model.py").read_text() == "# model.py\n"
    for folder, backend in ((ours, "ovtriton"), (theirs, "python")):
        config = (folder / "config.pbtxt").read_text()
        assert config.startswith(f'backend: "{backend}"\n{SERVING_CONFIG}')
    assert 'input [\n  { name: "x"' in (theirs / "config.pbtxt").read_text()


def test_slow_models_get_longer_windows_and_their_rivals_too() -> None:
    assert FULL.interval_for("light_resnet50") == FULL.slow_interval_ms
    assert FULL.interval_for("light_resnet50_naive2") == FULL.slow_interval_ms
    assert FULL.interval_for("light_resnet50_peer_latency") == FULL.slow_interval_ms
    assert FULL.interval_for("light_squeezenet") == FULL.interval_ms


def test_peer_models_take_the_models_own_shapes_and_the_contenders_config(tmp_path: Path) -> None:
    from benchmarks.models import PEERS, add_peer_model

    model = tmp_path / "tiny.xml"
    ov.save_model(tiny_model(), model)  # read_model takes IR as well as ONNX
    throughput = next(p for p in PEERS if p.label == "2 instances, THROUGHPUT")
    config = (add_peer_model(tmp_path, "peer", model, throughput) / "config.pbtxt").read_text()
    assert config.startswith('backend: "openvino"\n')
    assert "max_batch_size: 0\n" in config  # else it compiles a static batch of max_batch_size
    assert 'name: "x" data_type: TYPE_FP32 dims: [ -1, 16 ]' in config
    assert "count: 2 kind: KIND_CPU" in config
    assert 'key: "PERFORMANCE_HINT" value: { string_value: "THROUGHPUT" }' in config


def test_naive_models_get_their_instance_count(tmp_path: Path) -> None:
    source = tmp_path / "model_source.py"
    source.write_text("# model.py\n")
    inputs, outputs = tensor_specs(tiny_model())
    folder = add_python_model(tmp_path, "naive", source, inputs, outputs, instances=2)
    assert "instance_group [ { kind: KIND_CPU count: 2 } ]" in (folder / "config.pbtxt").read_text()


def test_the_peer_is_found_through_ovtriton_peers_or_reported(tmp_path: Path) -> None:
    from benchmarks import peer

    (tmp_path / peer.SCRIPT_NAME).write_text("#!/bin/sh\n")
    assert peer.find_script({"OVTRITON_PEERS": str(tmp_path)}) == tmp_path / peer.SCRIPT_NAME
    assert not peer.is_built(tmp_path / "nothing")
    built = tmp_path / "out" / "openvino"
    built.mkdir(parents=True)
    (built / peer.LIBRARY).write_bytes(b"")
    (built / "plugins.xml").write_text("<ie/>")
    assert not peer.is_built(tmp_path / "out")  # a build without the f32 pin is redone
    (built / "plugins.xml").write_text('<property key="INFERENCE_PRECISION_HINT" value="f32"/>')
    assert peer.is_built(tmp_path / "out")
    assert peer.backend_folder(tmp_path / "out").name == "openvino"  # the backend's name


def test_rss_of_this_process_and_none_for_a_gone_one() -> None:
    from benchmarks.machine import rss_mb

    own = rss_mb(os.getpid())
    assert own is not None and own > 1
    assert rss_mb(2**22 + 1) is None


@pytest.mark.parametrize("bf16", [False, True])
def test_every_side_computes_at_the_peers_precision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bf16: bool
) -> None:
    from benchmarks import machine, raw_openvino

    monkeypatch.setattr(machine, "native_bf16", lambda: bf16)
    precision = machine.precision_properties()
    assert precision == ({"INFERENCE_PRECISION_HINT": "f32"} if bf16 else {})
    inputs, outputs = tensor_specs(tiny_model())
    source = tmp_path / "model_source.py"
    source.write_text("# model.py\n")
    folder = add_python_model(
        tmp_path, "naive", source, inputs, outputs, parameters=list(precision.items())
    )
    line = 'key: "INFERENCE_PRECISION_HINT" value: { string_value: "f32" }'
    assert (line in (folder / "config.pbtxt").read_text()) == bf16
    path = tmp_path / "tiny.xml"
    model = tiny_model()
    model.reshape({"x": [1, 16]})
    ov.save_model(model, path)
    for concurrency in (1, 2):
        raw = raw_openvino.for_concurrency(path, concurrency)
        hint = raw._compiled.get_property("INFERENCE_PRECISION_HINT")
        if bf16:  # f32 when asked; otherwise the CPU's default, whatever it is
            assert hint == ov.Type.f32
