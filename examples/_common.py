"""What the example scripts share: a command line that names the server.

A helper module, not an example: each script imports it from the folder it runs in.
"""

from __future__ import annotations

import argparse


def url_parser(doc: str | None) -> argparse.ArgumentParser:
    """A parser for ``script.py [URL]``, described by the first line of ``doc``.

    Scripts add their own options to it before parsing.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument(
        "url",
        nargs="?",
        default="localhost:8000",
        help="server URL; grpc://host:port for gRPC (default: %(default)s)",
    )
    return parser
