"""The ``ovtriton`` command.

``ovtriton serve --model-repository DIR [--host H] [--http-port P] [--grpc-port P]
[--metrics-port P] [--tritonserver PATH] [-- extra tritonserver args]`` runs a real
Triton server with the ovtriton backend; ``ovtriton examples DIR`` writes the
example models; ``ovtriton import-ovms CONFIG_JSON --output DIR`` converts an OVMS
deployment (``serve --ovms-config CONFIG_JSON`` serves one directly).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ovtriton import __version__
from ovtriton_serve.server.front_door import FrontDoor
from ovtriton_serve.server.installation import InstallationError, find_installation
from ovtriton_serve.server.process import ServerAddress, TritonProcess, free_port
from ovtriton_serve.server.supervisor import RestartBudget, Supervisor


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
    source = serve.add_mutually_exclusive_group(required=True)
    source.add_argument("--model-repository", type=Path, help="Triton model repository to serve")
    source.add_argument(
        "--ovms-config",
        type=Path,
        help="OVMS config.json to serve, converted into a temporary repository",
    )
    _add_conversion_options(serve, "with --ovms-config: ")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind")
    serve.add_argument("--http-port", type=_port, default=8000, help="HTTP (KServe v2) port")
    serve.add_argument("--grpc-port", type=_port, default=8001, help="gRPC (KServe v2) port")
    serve.add_argument("--metrics-port", type=_port, default=8002, help="Prometheus metrics port")
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
    examples = commands.add_parser(
        "examples",
        help="write the example models (built with OpenVINO opsets) into a repository",
        formatter_class=formatter,
    )
    examples.add_argument("repository", type=Path, help="folder to write the models into")
    _add_import_ovms(commands, formatter)
    return parser


def _add_import_ovms(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    importer = commands.add_parser(
        "import-ovms",
        help="convert an OpenVINO Model Server config.json into a Triton model repository",
        formatter_class=formatter,
    )
    importer.add_argument("config", type=Path, metavar="CONFIG_JSON", help="OVMS's config.json")
    importer.add_argument("--output", type=Path, required=True, help="new or empty folder")
    importer.add_argument("--copy", action="store_true", help="copy version folders, not link")
    _add_conversion_options(importer)


def _add_conversion_options(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    parser.add_argument(
        "--skip-unsupported",
        action="store_true",
        help=f"{prefix}skip entries that cannot be converted, with a warning each",
    )
    parser.add_argument(
        "--cache-dir",
        default=None,
        help=f"{prefix}OVMS's --cache_dir: becomes cache_dir of every model whose "
        "allow_cache is not false",
    )


def _cache_dir(args: argparse.Namespace) -> str | None:
    return str(Path(args.cache_dir).absolute()) if args.cache_dir else None


def _warn(message: str) -> None:
    print(f"ovtriton: warning: {message}", file=sys.stderr)


def import_ovms(args: argparse.Namespace) -> int:
    """Run ``ovtriton import-ovms``; nothing is written unless all of it converts."""
    from ovtriton_serve.ovms_import import OvmsImportError
    from ovtriton_serve.ovms_import import import_ovms as convert

    try:
        plan = convert(
            args.config, args.output, args.copy, args.skip_unsupported, _cache_dir(args), _warn
        )
    except OvmsImportError as error:
        print(f"ovtriton: import-ovms: {error}", file=sys.stderr)
        return 1
    print(f"ovtriton: wrote {len(plan.models)} models to {args.output}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
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
        return _serve_ovms_config(args, tuple(extra))
    return serve(args, tuple(extra))


def _serve_ovms_config(args: argparse.Namespace, extra: tuple[str, ...]) -> int:
    """Convert into a temporary repository, serve it, and remove it when the server stops."""
    import shutil
    import tempfile

    from ovtriton_serve.ovms_import import OvmsImportError
    from ovtriton_serve.ovms_import import import_ovms as convert

    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt  # unwind through the finally below, which removes `work`

    # Until serve() installs its own handlers, SIGTERM would kill the process and
    # leave the temporary repository behind.
    signal.signal(signal.SIGTERM, interrupted)
    work = Path(tempfile.mkdtemp(prefix="ovtriton-ovms-"))
    try:
        args.model_repository = work / "repository"
        try:
            convert(
                args.ovms_config,
                args.model_repository,
                skip_unsupported=args.skip_unsupported,
                cache_dir=_cache_dir(args),
                warn=_warn,
            )
        except OvmsImportError as error:
            print(f"ovtriton: --ovms-config: {error}", file=sys.stderr)
            return 2
        print(
            f"ovtriton: serving {args.ovms_config} converted into {args.model_repository} "
            "(removed when the server stops)",
            flush=True,
        )
        return serve(args, extra)
    except KeyboardInterrupt:
        return 130
    finally:
        shutil.rmtree(work, ignore_errors=True)


def serve(args: argparse.Namespace, extra: tuple[str, ...]) -> int:
    """Run tritonserver (restarted if it dies) behind the front door until a signal."""
    if not args.model_repository.is_dir():
        print(
            f"ovtriton: model repository {args.model_repository} is not a folder", file=sys.stderr
        )
        return 2
    try:
        installation = find_installation(args.tritonserver)
    except InstallationError as error:
        print(f"ovtriton: {error}", file=sys.stderr)
        return 2
    if not any(arg.startswith("--model-control-mode") for arg in extra):
        # Explicit control lets the repository API load and unload models, which is
        # also how a model whose Python stub died is brought back.
        extra = ("--model-control-mode=explicit", "--load-model=*", *extra)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    front: FrontDoor | None = None
    address = ServerAddress(args.host, args.http_port, args.grpc_port, args.metrics_port)
    if not args.no_guard:
        # Triton's HTTP moves to a private loopback port; the front takes the public one.
        address = ServerAddress(
            args.host, free_port(), args.grpc_port, args.metrics_port, http_host="127.0.0.1"
        )
        front = FrontDoor(args.host, args.http_port, address.http_port)
        try:
            front.start()
        except OSError as error:
            print(
                f"ovtriton: cannot listen on {args.host}:{args.http_port}: {error}", file=sys.stderr
            )
            return 1

    def announce(process: TritonProcess) -> None:
        readiness = "ready" if process.is_ready() else "live, but some models failed to load"
        guard = "" if front is None else " (guarded)"
        print(
            f"ovtriton: server {readiness}\n"
            f"  HTTP    http://{args.host}:{args.http_port}{guard}\n"
            f"  gRPC    {address.grpc}\n"
            f"  metrics {address.metrics}",
            flush=True,
        )

    supervisor = Supervisor(
        lambda: TritonProcess(installation, args.model_repository, address, extra),
        RestartBudget(max_restarts=args.max_restarts, window=args.restart_window),
        sys.stderr,
        announce,
    )
    try:
        return supervisor.run(stop)
    finally:
        if front is not None:
            front.stop()


if __name__ == "__main__":
    sys.exit(main())
