"""The ``ovtriton`` command.

``ovtriton serve --model-repository DIR [--host H] [--http-port P] [--grpc-port P]
[--metrics-port P] [--tritonserver PATH] [-- extra tritonserver args]`` runs a real
Triton server with the ovtriton backend; ``ovtriton examples DIR`` writes the
example models; ``ovtriton import-ovms CONFIG_JSON --output DIR`` converts an OVMS
deployment (``serve --ovms-config CONFIG_JSON`` serves one directly).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from ovtriton import __version__
from ovtriton_client._local import remove_local_key, write_local_key
from ovtriton_serve.cli.ovms import (
    add_conversion_options,
    add_import_ovms_parser,
    import_ovms,
    serve_ovms_config,
)
from ovtriton_serve.server.admin import (
    GRPC_HEADER,
    HEADER,
    AdminKey,
    AdminKeyError,
    load_admin_key,
)
from ovtriton_serve.server.events import FORMATS, streams
from ovtriton_serve.server.front_door import DEFAULT_BUDGET, DEFAULT_MAX_BODY, FrontDoor, Limits
from ovtriton_serve.server.health import HealthMonitor, HealthServer
from ovtriton_serve.server.installation import (
    InstallationError,
    check_extra_backend,
    find_installation,
)
from ovtriton_serve.server.process import STOP_TIMEOUT, ServerAddress, TritonProcess, free_port
from ovtriton_serve.server.supervisor import RestartBudget, Supervisor
from ovtriton_serve.server.watchdog import Watchdog


def _size(text: str) -> int:
    """``64M``, ``1G``, ``4096``: bytes, with K/M/G meaning KiB/MiB/GiB."""
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:].upper(), 1)
    try:
        value = int(text[:-1] if scale > 1 else text) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 64M") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"not a TCP port: {value}")
    return value


def _positive_seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {text}")
    return value


def _env(name: str, default: object = None) -> object:
    """``OVTRITON_<NAME>`` from the environment (how orchestrators pass settings), else default.

    argparse applies the option's ``type`` to it, so a bad value fails as a bad flag would.
    """
    return os.environ.get(f"OVTRITON_{name}", default)


class _HelpWithDefaults(argparse.HelpFormatter):
    """Appends "(default: X)" where an option has a meaningful default."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "default" not in text:
            text += " (default: %(default)s)"
        return text


def build_parser() -> argparse.ArgumentParser:
    """The ``ovtriton`` command line; every option's help shows its default."""
    formatter = _HelpWithDefaults
    parser = argparse.ArgumentParser(
        prog="ovtriton", description="Serve OpenVINO models on Triton.", formatter_class=formatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="run a real Triton server with the ovtriton backend on a model repository",
        description="Run tritonserver on a model repository with the ovtriton backend "
        "installed. Arguments after -- go to tritonserver unchanged.",
        formatter_class=formatter,
    )
    # Every serve option also reads OVTRITON_<NAME> (e.g. OVTRITON_HTTP_PORT); a flag wins.
    repository = _env("MODEL_REPOSITORY")
    source = serve.add_mutually_exclusive_group(required=repository is None)
    source.add_argument(
        "--model-repository",
        default=repository,
        type=Path,
        help="Triton model repository to serve, e.g. /mnt/models",
    )
    source.add_argument(
        "--ovms-config",
        type=Path,
        help="OVMS config.json to serve, converted into a temporary repository",
    )
    add_conversion_options(serve, "with --ovms-config: ")
    serve.add_argument("--host", default=_env("HOST", "127.0.0.1"), help="address to bind")
    for name, default, what in (
        ("http", 8000, "HTTP (KServe v2) port"),
        ("grpc", 8001, "gRPC (KServe v2) port"),
        ("metrics", 8002, "Prometheus metrics port"),
    ):
        serve.add_argument(
            f"--{name}-port", type=_port, default=_env(f"{name.upper()}_PORT", default), help=what
        )
    serve.add_argument(
        "--health-port",
        type=_port,
        default=_env("HEALTH_PORT"),
        help="serve GET /livez and /readyz here: fail for a hung server or a stub that "
        "could not be reloaded (default: off)",
    )
    serve.add_argument(
        "--grace-period",
        type=_positive_seconds,
        default=_env("GRACE_PERIOD"),
        help="seconds in-flight requests get to finish after SIGTERM/SIGINT "
        f"(default: {STOP_TIMEOUT} s, then open connections are closed)",
    )
    serve.add_argument(
        "--log-format",
        choices=FORMATS,
        default=_env("LOG_FORMAT", "text"),
        help="json: every event as one JSON line on stdout",
    )
    serve.add_argument(
        "--tritonserver",
        type=Path,
        default=None,
        help="tritonserver binary (default: the nvidia-pytriton build, else /opt/tritonserver)",
    )
    serve.add_argument(
        "--no-guard",
        action="store_true",
        help="expose Triton's HTTP endpoint directly, without the validating front door",
    )
    serve.add_argument(
        "--max-restarts",
        type=_non_negative,
        default=5,
        help="Triton restarts allowed within --restart-window before giving up",
    )
    serve.add_argument(
        "--restart-window",
        type=_positive_seconds,
        default=300.0,
        help="seconds over which --max-restarts is counted",
    )
    serve.add_argument(
        "--extra-backend",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="also install the Triton backend in DIR beside ovtriton (the folder's name is "
        "the backend's, e.g. openvino/ for Triton's C++ OpenVINO backend); repeatable",
    )
    serve.add_argument(
        "--start-timeout",
        type=_positive_seconds,
        default=300.0,
        help="seconds model loading may take before ovtriton serve gives up",
    )
    security = serve.add_argument_group("security (see the README's Security section)")
    security.add_argument(
        "--admin-key-file",
        type=Path,
        help=f"file holding the key administrative APIs need in the '{HEADER}' header "
        "(not world-readable; default: $OVTRITON_ADMIN_KEY, else a generated key)",
    )
    security.add_argument(
        "--max-body", type=_size, default=DEFAULT_MAX_BODY, help="largest request (default 64M)"
    )
    security.add_argument(
        "--max-inflight",
        type=_size,
        default=DEFAULT_BUDGET,
        help="request bytes held at once before 503 (default 512M)",
    )
    examples = commands.add_parser(
        "examples",
        help="write the example models (built with OpenVINO opsets) into a repository",
        formatter_class=formatter,
    )
    examples.add_argument("repository", type=Path, help="folder to write the models into")
    add_import_ovms_parser(commands, formatter)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ovtriton``; arguments after ``--`` go to tritonserver. Returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        split = argv.index("--")
        argv, extra = argv[:split], argv[split + 1 :]
    args = build_parser().parse_args(argv)
    if args.command == "examples":
        from ovtriton_serve.examples import write_example_models

        for path in write_example_models(args.repository):
            print(f"ovtriton: wrote {path}")
        return 0
    if args.command == "import-ovms":
        return import_ovms(args)
    if args.ovms_config is not None:
        return serve_ovms_config(args, tuple(extra), serve)
    return serve(args, tuple(extra))


def _triton_defaults(extra: tuple[str, ...], grace_period: float | None) -> tuple[str, ...]:
    """``extra`` plus the tritonserver settings serve needs, unless ``extra`` sets them."""
    if not any(arg.startswith("--model-control-mode") for arg in extra):
        # Explicit control lets the repository API load and unload models, which is
        # also how a model whose Python stub died is brought back.
        extra = ("--model-control-mode=explicit", "--load-model=*", *extra)
    if grace_period is not None and not any(a.startswith("--exit-timeout-secs") for a in extra):
        # Triton waits this long for in-flight requests after SIGTERM.
        extra = (*extra, f"--exit-timeout-secs={math.ceil(grace_period)}")
    return extra


def _health_checks(
    args: argparse.Namespace, probe_host: str, supervisor: Supervisor
) -> HealthServer | None:
    """Start ``/livez`` and ``/readyz`` on ``--health-port`` (None when it is not set).

    The checks go where clients go: through the front door when guarded.
    """
    if args.health_port is None:
        return None
    monitor = HealthMonitor(f"{probe_host}:{args.http_port}", supervisor.state)
    checks = HealthServer(args.host, args.health_port, monitor)
    checks.start()
    return checks


def _banner(args: argparse.Namespace, address: ServerAddress, ready: bool, guarded: bool) -> str:
    """The "server ready" event: one message, several lines."""
    readiness = "ready" if ready else "live, but some models failed to load"
    guard = " (guarded)" if guarded else ""
    health = (
        "" if args.health_port is None else f"\n  health  {_probe_host(args)}:{args.health_port}"
    )
    return (
        f"ovtriton: server {readiness}\n"
        f"  HTTP    http://{args.host}:{args.http_port}{guard}\n"
        f"  gRPC    {address.grpc}\n"
        f"  metrics {address.metrics}{health}\n"
    )


def _probe_host(args: argparse.Namespace) -> str:
    """Where this machine reaches the public ports (a wildcard bind: loopback)."""
    return "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host


def _publish_key(key: AdminKey, args: argparse.Namespace, log: TextIO) -> list[tuple[int, Path]]:
    """Write the key for this user's local clients (0600 files) and say how to use it.

    Returns:
        ``(port, file)`` for the HTTP and gRPC ports; empty if they could not be written.
    """
    try:
        published = [(p, write_local_key(p, key.value)) for p in (args.http_port, args.grpc_port)]
        where = f"this user can read it from {published[0][1]}"
    except OSError as error:  # a runtime directory we must not trust: say so, serve on
        published, where = [], f"it could not be written for local users ({error})"
    grant = f"$(cat {published[0][1]})" if published else "KEY"
    print(
        f"ovtriton: administrative APIs (model repository, shared memory, logging, trace, "
        f"statistics) need the key ({key.source}) in header '{HEADER}' (gRPC metadata "
        f"'{GRPC_HEADER}'); {where}\n"
        f'  grant access: curl -H "{HEADER}: {grant}" -X POST '
        f"http://{args.host}:{args.http_port}/v2/repository/index",
        file=log,
        flush=True,
    )
    return published


def _start_front(args: argparse.Namespace, key: AdminKey) -> tuple[FrontDoor | None, ServerAddress]:
    """Start the front door (unless ``--no-guard``); return it and Triton's addresses.

    Raises:
        OSError: The public HTTP port cannot be bound.
    """
    if args.no_guard:
        return None, ServerAddress(args.host, args.http_port, args.grpc_port, args.metrics_port)
    # Triton's HTTP moves to a private loopback port; the front takes the public one.
    address = ServerAddress(
        args.host, free_port(), args.grpc_port, args.metrics_port, http_host="127.0.0.1"
    )
    limits = Limits(max_body=args.max_body, budget=args.max_inflight)
    front = FrontDoor(args.host, args.http_port, address.http_port, key, limits)
    front.start()
    return front, address


def serve(args: argparse.Namespace, extra: tuple[str, ...]) -> int:
    """Run tritonserver (restarted if it dies) behind the front door until a signal."""
    if not args.model_repository.is_dir():
        print(
            f"ovtriton: model repository {args.model_repository} is not a folder", file=sys.stderr
        )
        return 2
    try:
        installation = find_installation(args.tritonserver)
        extra_backends = tuple(check_extra_backend(d) for d in args.extra_backend)
    except InstallationError as error:
        print(f"ovtriton: {error}", file=sys.stderr)
        return 2
    installation = dataclasses.replace(installation, extra_backends=extra_backends)
    try:
        key = load_admin_key(args.admin_key_file)
    except AdminKeyError as error:
        print(f"ovtriton: {error}", file=sys.stderr)
        return 2
    extra = _triton_defaults(extra, args.grace_period)
    announcements, log, triton_log = streams(args.log_format, sys.stdout, sys.stderr)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    try:
        front, address = _start_front(args, key)
    except OSError as error:
        print(f"ovtriton: cannot listen on {args.host}:{args.http_port}: {error}", file=sys.stderr)
        return 1

    published = _publish_key(key, args, log)
    watchdog = Watchdog()
    for _, path in published:
        watchdog.remove_on_death(path)

    def announce(process: TritonProcess) -> None:
        announcements.write(_banner(args, address, process.is_ready(), front is not None))
        announcements.flush()

    supervisor = Supervisor(
        lambda: TritonProcess(
            installation,
            args.model_repository,
            address,
            extra,
            triton_log,
            admin_key=key.value,
            watchdog=watchdog,
            stop_timeout=STOP_TIMEOUT + (args.grace_period or 0.0),
        ),
        RestartBudget(max_restarts=args.max_restarts, window=args.restart_window),
        log,
        announce,
        on_stop=front.stop if front is not None else lambda: None,
        start_timeout=args.start_timeout,
    )
    try:
        checks = _health_checks(args, _probe_host(args), supervisor)
    except OSError as error:
        print(
            f"ovtriton: cannot listen on health port {args.health_port}: {error}", file=sys.stderr
        )
        checks = None
        stop.set()  # stops at once, cleaning up as after a signal
    try:
        return 1 if stop.is_set() else supervisor.run(stop)
    finally:
        if checks is not None:
            checks.stop()
        if front is not None:
            front.stop()
        for port, _ in published:
            remove_local_key(port, key.value)
        watchdog.close()


if __name__ == "__main__":
    sys.exit(main())
