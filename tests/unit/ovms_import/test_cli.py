"""The ``import-ovms`` command line and ``serve``'s two repository sources."""

from __future__ import annotations

import argparse

import pytest

from ovtriton_serve.cli.main import build_parser, main


def test_every_import_ovms_option_has_help() -> None:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for action in subparsers.choices["import-ovms"]._actions:
        assert action.help, f"import-ovms {action.option_strings or action.dest} has no help"


def test_import_ovms_requires_output(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["import-ovms", "config.json"])
    assert exit_info.value.code == 2
    assert "--output" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["serve"],
        ["serve", "--model-repository", ".", "--ovms-config", "config.json"],
    ],
)
def test_serve_takes_exactly_one_of_repository_and_ovms_config(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "--model-repository" in error and "--ovms-config" in error


def test_serve_ovms_config_fails_before_starting_on_a_bad_config(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["serve", "--ovms-config", "/nonexistent/config.json"]) == 2
    assert "cannot read /nonexistent/config.json" in capsys.readouterr().err
