"""A watchdog process: nothing of ``ovtriton serve`` outlives it, even after SIGKILL.

``PR_SET_PDEATHSIG`` kills tritonserver when ``ovtriton serve`` dies, but not the
Python stubs: they are tritonserver's children, and the setting does not survive a
fork. They do share tritonserver's process group (it is started in a new session),
so a small separate process that learns those groups through a pipe, and sees the
pipe close when its parent dies however it dies, kills each group, removes the
stubs' shared memory (named on their command lines) and the files it was told
about. A clean stop says ``done`` first, and the watchdog exits doing nothing.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

# Runs as ``python -c``: standard library only, nothing to import from this package.
_PROGRAM = r"""
import os, signal, sys, time
groups, files = set(), set()
for line in sys.stdin:
    word, _, value = line.strip().partition(" ")
    if word == "watch":
        groups.add(int(value))
    elif word == "forget":
        groups.discard(int(value))
    elif word == "file":
        files.add(value)
    elif word == "done":
        sys.exit(0)
regions = set()
for entry in os.listdir("/proc"):
    try:
        if entry.isdigit() and os.getpgid(int(entry)) in groups:
            argv = open(f"/proc/{entry}/cmdline", "rb").read().decode(errors="replace")
            # The mark spelled in two parts: this program's own command line (read
            # by tools that look for stub regions) must not contain it.
            regions.update(a for a in argv.split("\0") if "_backend_" "shm_region_" in a)
    except (OSError, ValueError):
        pass
for group in groups:
    try:
        os.killpg(group, signal.SIGKILL)
    except OSError:
        pass
time.sleep(0.2)  # let the killed stubs' mappings go before their files
for name in regions:
    files.add("/dev/shm/" + name.lstrip("/").replace("/", ""))
for path in files:
    try:
        os.unlink(path)
    except OSError:
        pass
"""


class Watchdog:
    """The watchdog of this process; its methods never raise once it has started."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-c", _PROGRAM],
            stdin=subprocess.PIPE,
            text=True,
            # Its own session: a Ctrl-C or a kill of our process group spares it.
            start_new_session=True,
        )

    def watch(self, group: int) -> None:
        """Kill process group ``group`` if this process dies."""
        self._say(f"watch {group}")

    def forget(self, group: int) -> None:
        """Stop watching ``group`` (it was stopped cleanly)."""
        self._say(f"forget {group}")

    def remove_on_death(self, path: Path) -> None:
        """Remove ``path`` if this process dies."""
        self._say(f"file {path}")

    def close(self) -> None:
        """Release the watchdog: this process stopped cleanly."""
        self._say("done")
        with contextlib.suppress(OSError):
            assert self._process.stdin is not None
            self._process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(2)

    def _say(self, line: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            assert self._process.stdin is not None
            self._process.stdin.write(line + "\n")
            self._process.stdin.flush()
