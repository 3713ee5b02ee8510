"""Pure parts of the orchestration features: health verdicts, JSON events, env options."""

from __future__ import annotations

import io
import json

import pytest

from ovtriton_serve.cli.main import build_parser
from ovtriton_serve.server.events import JsonEvents, streams
from ovtriton_serve.server.health import PHASES, Observation, judge


def observation(**changes: object) -> Observation:
    base: dict[str, object] = {
        "phase": "serving",
        "heartbeat_age": 0.1,
        "triton_live": True,
        "triton_ready": True,
        "unhealed": (),
    }
    base.update(changes)
    return Observation(**base)  # type: ignore[arg-type]


def test_serving_and_healthy_is_live_and_ready() -> None:
    verdict = judge(observation())
    assert verdict.live and verdict.ready and verdict.not_ready == ()


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"triton_live": None}, "did not answer /v2/health/live in time"),
        ({"triton_live": False}, "answered /v2/health/live with an error"),
        ({"unhealed": ("m",)}, "model m: its Python stub died and could not be reloaded"),
        ({"heartbeat_age": 1000.0}, "the supervisor has not run for 1000 s"),
    ],
)
def test_each_failure_fails_liveness_and_readiness_with_its_reason(
    changes: dict[str, object], reason: str
) -> None:
    verdict = judge(observation(**changes))
    assert not verdict.live and not verdict.ready
    assert any(reason in r for r in verdict.not_live)
    assert verdict.not_live == verdict.not_ready


def test_not_ready_models_fail_readiness_only() -> None:
    verdict = judge(observation(triton_ready=False))
    assert verdict.live and not verdict.ready
    assert verdict.not_ready == ("tritonserver is not ready (/v2/health/ready)",)


@pytest.mark.parametrize("phase", [p for p in PHASES if p != "serving"])
def test_starting_restarting_and_stopping_stay_live_but_not_ready(phase: str) -> None:
    # The probes are not asked outside "serving"; what they would say is ignored.
    verdict = judge(observation(phase=phase, triton_live=None, triton_ready=None, unhealed=("m",)))
    assert verdict.live
    assert verdict.not_ready == (f"tritonserver is {phase}",)


def test_a_stalled_supervisor_is_dead_in_any_phase() -> None:
    for phase in PHASES:
        assert not judge(observation(phase=phase, heartbeat_age=500.0)).live


def test_an_unknown_phase_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown phase 'sleeping'"):
        judge(observation(phase="sleeping"))


def test_json_events_put_each_write_on_one_line() -> None:
    out = io.StringIO()
    events = JsonEvents(out, "ovtriton")
    events.write("ovtriton: tritonserver killed by SIGKILL; its last lines:\n  a\n  b\n")
    events.write("\n")  # blank writes are no event
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    event = json.loads(lines[0])
    assert event["source"] == "ovtriton"
    assert event["message"] == "ovtriton: tritonserver killed by SIGKILL; its last lines:\n  a\n  b"
    assert event["time"].endswith("Z")


def test_text_format_keeps_the_streams_and_json_uses_stdout_only() -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    assert streams("text", stdout, stderr) == (stdout, stderr, stderr)
    for stream in streams("json", stdout, stderr):
        stream.write("x\n")
    assert stderr.getvalue() == "" and len(stdout.getvalue().splitlines()) == 3


def test_options_come_from_the_environment_and_flags_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVTRITON_MODEL_REPOSITORY", "/mnt/models")
    monkeypatch.setenv("OVTRITON_HTTP_PORT", "8080")
    monkeypatch.setenv("OVTRITON_GRPC_PORT", "9000")
    monkeypatch.setenv("OVTRITON_HEALTH_PORT", "8003")
    monkeypatch.setenv("OVTRITON_LOG_FORMAT", "json")
    args = build_parser().parse_args(["serve", "--grpc-port", "9001"])
    assert str(args.model_repository) == "/mnt/models"
    assert (args.http_port, args.grpc_port, args.health_port) == (8080, 9001, 8003)
    assert args.log_format == "json" and args.grace_period is None


def test_a_bad_environment_value_fails_like_a_bad_flag(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OVTRITON_HTTP_PORT", "80000")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--model-repository", "/m"])
    assert "not a TCP port: 80000" in capsys.readouterr().err


def test_without_a_repository_in_flags_or_environment_serve_refuses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OVTRITON_MODEL_REPOSITORY", raising=False)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve"])
