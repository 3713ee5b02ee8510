"""The ``ovtriton`` command.

``ovtriton serve --model-repository DIR [--host H] [--http-port P] [--grpc-port P]
[--metrics-port P] [--tritonserver PATH] [-- extra tritonserver args]``
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from ovtriton.server.installation import InstallationError, find_installation
from ovtriton.server.process import ServerAddress, ServerStartError, TritonProcess


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ovtriton", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="run a real Triton server with the ovtriton backend on a model repository",
        description="Run tritonserver on a model repository with the ovtriton backend "
        "installed. Arguments after -- go to tritonserver unchanged.",
    )
    serve.add_argument("--model-repository", required=True, type=Path)
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--http-port", type=int, default=8000)
    serve.add_argument("--grpc-port", type=int, default=8001)
    serve.add_argument("--metrics-port", type=int, default=8002)
    serve.add_argument(
        "--tritonserver",
        type=Path,
        default=None,
        help="tritonserver binary (default: the nvidia-pytriton build, else /opt/tritonserver)",
    )
    examples = commands.add_parser(
        "examples", help="write the example models (built with OpenVINO opsets) into a repository"
    )
    examples.add_argument("repository", type=Path)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        split = argv.index("--")
        argv, extra = argv[:split], argv[split + 1 :]
    args = build_parser().parse_args(argv)
    if args.command == "examples":
        from ovtriton.examples import write_example_models

        for path in write_example_models(args.repository):
            print(f"ovtriton: wrote {path}")
        return 0
    return serve(args, tuple(extra))


def serve(args: argparse.Namespace, extra: tuple[str, ...]) -> int:
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
    address = ServerAddress(args.host, args.http_port, args.grpc_port, args.metrics_port)
    server = TritonProcess(installation, args.model_repository, address, extra)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        server.start()
    except ServerStartError as error:
        print(f"ovtriton: {error}", file=sys.stderr)
        return 1
    readiness = "ready" if server.is_ready() else "live, but some models failed to load"
    print(
        f"ovtriton: server {readiness}\n"
        f"  HTTP    http://{address.http}\n"
        f"  gRPC    {address.grpc}\n"
        f"  metrics {address.metrics}",
        flush=True,
    )
    code: int | None = None
    while not stop.wait(0.5):
        code = server.poll()
        if code is not None:
            print(f"ovtriton: tritonserver exited unexpectedly with code {code}", file=sys.stderr)
            break
    server.stop()
    return 0 if code is None else 1


if __name__ == "__main__":
    sys.exit(main())
