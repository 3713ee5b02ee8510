"""The ``ovtriton`` command line explains itself and refuses nonsense before starting anything."""

from __future__ import annotations

import argparse

import pytest

from ovtriton import __version__
from ovtriton_serve.cli.main import build_parser, main


def _options(parser: argparse.ArgumentParser, command: str) -> list[argparse.Action]:
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub = subparsers.choices[command]
    return [a for a in sub._actions if not isinstance(a, argparse._HelpAction)]


@pytest.mark.parametrize("command", ["serve", "examples"])
def test_every_option_has_help_and_shows_its_default(command: str) -> None:
    parser = build_parser()
    for action in _options(parser, command):
        assert action.help, f"{command} {action.option_strings or action.dest} has no help"
        if action.default not in (None, False):
            formatter = parser._get_formatter()
            assert "default" in (formatter._get_help_string(action) or "")


def test_serve_help_prints_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "(default: 127.0.0.1)" in text and "(default: 8000)" in text


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"ovtriton {__version__}"


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--max-restarts", "-1", "must be 0 or more"),
        ("--http-port", "0", "not a TCP port"),
        ("--grpc-port", "70000", "not a TCP port"),
        ("--restart-window", "0", "more than 0 seconds"),
    ],
)
def test_bad_values_are_refused_naming_the_option(
    option: str, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--model-repository", ".", option, value])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert option in error and message in error
