"""``wait_until_ready`` for both clients: its deadline and the questions it asks.

The blocking and the asyncio client differ only in how they wait (``time.sleep``
or ``await asyncio.sleep``) and whether calls are awaited, so that is all each of
them keeps; what is asked, in which order, for how long, and what a timeout says
are decided here once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any

from ovtriton_client._errors import RequestTimeoutError
from ovtriton_client._protocol import Endpoint

__all__ = ["ReadinessWait"]


class ReadinessWait:
    """One ``wait_until_ready`` call: the polls it makes until a deadline.

    Args:
        endpoint: The server, named in the timeout message.
        models: Models that must be ready as well as the server.
        timeout: Seconds to keep polling for.
        interval: Seconds between polls.
    """

    def __init__(
        self, endpoint: Endpoint, models: Iterable[str], timeout: float, interval: float
    ) -> None:
        self.models = list(models)
        self._endpoint = endpoint
        self._timeout = timeout
        self._interval = interval
        self._deadline = time.monotonic() + timeout

    def probes(self, transport: Any) -> Iterator[tuple[Callable[[], Any], str]]:
        """One poll's calls on ``transport``, in order, each with what a "no" means.

        A call returns a bool, or an awaitable of one on the asyncio transport. Each
        may take the time left, but never less than an interval, so that a poll made
        just before the deadline still gives the server time to answer.
        """
        timeout = max(self._deadline - time.monotonic(), self._interval)
        yield partial(transport.is_ready, timeout), "the server is not ready"
        for name in self.models:
            yield (
                partial(transport.is_model_ready, name, timeout=timeout),
                f"model '{name}' is not ready",
            )

    def pause(self, problem: str) -> float:
        """Seconds to wait before the next poll, after one that found ``problem``.

        Raises:
            RequestTimeoutError: Once the deadline has passed, saying what was still not ready.
        """
        if time.monotonic() >= self._deadline:
            raise RequestTimeoutError(
                f"{self._endpoint} not ready after {self._timeout:g} s: {problem}"
            )
        return max(0.0, min(self._interval, self._deadline - time.monotonic()))
