"""Bounded waits on a condition, instead of fixed sleeps that are flaky on a loaded machine."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(
    condition: Callable[[], object], timeout: float, what: str, poll: float = 0.05
) -> None:
    """Poll ``condition`` until it is truthy.

    Args:
        condition: Checked every ``poll`` seconds.
        timeout: Seconds before giving up; generous, since a loaded machine is slow.
        what: Said in the failure, for example "the stub to be reloaded".
        poll: Seconds between checks.

    Raises:
        AssertionError: ``condition`` stayed false for ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(poll)
