"""Latency hiding without asyncio: start requests now, collect results later.

:class:`InFlightExecutor` runs jobs on a small thread pool, like OpenVINO's
``AsyncInferQueue``: at most ``max_in_flight`` jobs are queued or running, and
``submit`` blocks the caller until a slot frees up (back-pressure rather than an
unbounded queue of pending requests). Each worker thread owns a *state* (for the
SDK, a :class:`~ovtriton_client._runner.Runner` with its own request objects and
shared-memory regions), so jobs never contend for one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, Generic, TypeVar

from ovtriton_client._errors import InvalidInputError, OvTritonError, RequestTimeoutError

__all__ = ["InFlightExecutor"]

State = TypeVar("State")
T = TypeVar("T")


class InFlightExecutor(Generic[State]):
    """A bounded thread pool whose threads each own a lazily made state.

    Args:
        make_state: Called once in each worker thread, on its first job.
        close_state: Called on every state by :meth:`shutdown`.
        max_in_flight: Most jobs submitted and not finished; also the number of threads.
        name: Prefix of the worker threads' names.

    Raises:
        InvalidInputError: If ``max_in_flight`` is below 1.
    """

    def __init__(
        self,
        make_state: Callable[[], State],
        close_state: Callable[[State], None],
        max_in_flight: int,
        name: str = "ovtriton",
    ) -> None:
        if max_in_flight < 1:
            raise InvalidInputError(f"max_in_flight must be at least 1, not {max_in_flight}")
        self.max_in_flight = max_in_flight
        self._make_state = make_state
        self._close_state = close_state
        self._pool = ThreadPoolExecutor(max_in_flight, thread_name_prefix=name)
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._states: list[State] = []
        self._pending: set[Future[Any]] = set()
        self._closed = False

    def submit(self, job: Callable[[State], T]) -> Future[T]:
        """Run ``job(state)`` on a worker; blocks while ``max_in_flight`` jobs are pending.

        Raises:
            OvTritonError: If the executor has been shut down.
        """
        if self._closed:
            raise OvTritonError("cannot start a request: the model handle is closed")
        self._slots.acquire()
        try:
            future = self._pool.submit(self._run, job)
        except RuntimeError as error:  # shut down while this call waited for a slot
            self._slots.release()
            raise OvTritonError("cannot start a request: the model handle is closed") from error
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._finished)
        return future

    @property
    def in_flight(self) -> int:
        """Jobs submitted and not yet finished."""
        with self._lock:
            return len(self._pending)

    def wait_all(self, timeout: float | None = None) -> None:
        """Block until every job submitted so far has finished.

        Raises:
            RequestTimeoutError: If some are still running after ``timeout`` seconds.
        """
        with self._lock:
            pending = list(self._pending)
        _, not_done = wait(pending, timeout)
        if not_done:
            raise RequestTimeoutError(
                f"{len(not_done)} of {len(pending)} requests still running after {timeout:g} s"
            )

    def shutdown(self) -> None:
        """Finish pending jobs, stop the threads and close every state (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._pool.shutdown(wait=True)
        with self._lock:
            states, self._states = self._states, []
        for state in states:
            self._close_state(state)

    def _run(self, job: Callable[[State], T]) -> T:
        state: State | None = getattr(self._local, "state", None)
        if state is None:
            state = self._make_state()
            self._local.state = state
            with self._lock:
                self._states.append(state)
        return job(state)

    def _finished(self, future: Future[Any]) -> None:
        with self._lock:
            self._pending.discard(future)
        self._slots.release()
