"""``--log-format json``: every event as one JSON object on one line of stdout.

Log collectors (Kubernetes, Docker, journald) split on newlines. In text mode a
restart report spans several lines ("its last lines: ..."); in JSON mode each
``write`` call is one event, whatever newlines it holds, so nothing is torn apart.
"""

from __future__ import annotations

import io
import json
import threading
import time
from typing import TextIO, cast

FORMATS = ("text", "json")


class JsonEvents(io.TextIOBase):
    """A text stream whose every ``write`` becomes ``{"time", "source", "message"}``.

    Args:
        out: Where the JSON lines go (stdout).
        source: Who speaks: ``ovtriton`` (the launcher) or ``tritonserver``.
    """

    _lock = threading.Lock()  # one lock for every source: lines never interleave

    def __init__(self, out: TextIO, source: str) -> None:
        super().__init__()
        self._out = out
        self.source = source

    def write(self, text: str) -> int:
        """Emit ``text`` (trailing newlines dropped) as one event; blank text emits nothing."""
        message = text.rstrip("\n")
        if message.strip():
            event = {
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "source": self.source,
                "message": message,
            }
            with self._lock:
                self._out.write(json.dumps(event) + "\n")
                self._out.flush()
        return len(text)

    def writable(self) -> bool:
        """Always: this is an output stream."""
        return True


def streams(log_format: str, stdout: TextIO, stderr: TextIO) -> tuple[TextIO, TextIO, TextIO]:
    """``(announcements, launcher log, tritonserver log)`` for ``log_format``.

    Text keeps today's split (the ready banner on stdout, the rest on stderr);
    JSON puts everything on stdout, one event per line.
    """
    if log_format == "json":
        launcher = cast(TextIO, JsonEvents(stdout, "ovtriton"))
        return launcher, launcher, cast(TextIO, JsonEvents(stdout, "tritonserver"))
    return stdout, stderr, stderr
