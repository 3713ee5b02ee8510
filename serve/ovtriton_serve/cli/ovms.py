"""The OVMS side of the ``ovtriton`` command: ``import-ovms`` and ``serve --ovms-config``.

The conversion itself is :mod:`ovtriton_serve.ovms_import`, imported only when one of
these runs (it pulls in jsonschema and, for pipelines, OpenVINO).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def add_import_ovms_parser(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``import-ovms CONFIG_JSON --output DIR [--copy] ...`` to the subcommands."""
    importer = commands.add_parser(
        "import-ovms",
        help="convert an OpenVINO Model Server config.json into a Triton model repository",
        formatter_class=formatter,
    )
    importer.add_argument("config", type=Path, metavar="CONFIG_JSON", help="OVMS's config.json")
    importer.add_argument("--output", type=Path, required=True, help="new or empty folder")
    importer.add_argument("--copy", action="store_true", help="copy version folders, not link")
    add_conversion_options(importer)


def add_conversion_options(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """The options ``import-ovms`` and ``serve --ovms-config`` share."""
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
    count = len(plan.models)
    print(f"ovtriton: wrote {count} model{'' if count == 1 else 's'} to {args.output}")
    return 0


def serve_ovms_config(
    args: argparse.Namespace,
    extra: tuple[str, ...],
    serve: Callable[[argparse.Namespace, tuple[str, ...]], int],
) -> int:
    """Convert into a temporary repository, serve it, and remove it when the server stops."""
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
