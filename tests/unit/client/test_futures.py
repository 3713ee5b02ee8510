"""InFlightExecutor: bounded in-flight jobs, a state per worker thread, matched results."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from ovtriton_client import InvalidInputError, OvTritonError, RequestTimeoutError
from ovtriton_client._futures import InFlightExecutor


class Worker:
    """A per-thread state that records which thread made it and whether it was closed."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()
        self.closed = False


def test_results_match_their_jobs_and_states_are_per_thread() -> None:
    executor = InFlightExecutor(Worker, lambda w: setattr(w, "closed", True), max_in_flight=4)
    seen: list[Worker] = []

    def job(value: int) -> Callable[[Worker], int]:
        def run(worker: Worker) -> int:
            assert worker.thread == threading.get_ident()
            seen.append(worker)
            time.sleep(0.001 * (value % 3))  # finish out of order
            return value * 10

        return run

    futures = [executor.submit(job(i)) for i in range(100)]
    assert [f.result() for f in futures] == [i * 10 for i in range(100)]
    workers = {id(w): w for w in seen}.values()
    assert 1 <= len(workers) <= 4
    executor.shutdown()
    assert all(w.closed for w in workers)


def test_submit_blocks_beyond_max_in_flight() -> None:
    executor = InFlightExecutor(Worker, lambda w: None, max_in_flight=2)
    release = threading.Event()
    running = 0
    peak = 0
    lock = threading.Lock()

    def job(worker: Worker) -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        release.wait(5)
        with lock:
            running -= 1

    executor.submit(job)
    executor.submit(job)
    third_submitted = threading.Event()
    def submit_third() -> None:
        executor.submit(job)
        third_submitted.set()

    threading.Thread(target=submit_third).start()
    assert not third_submitted.wait(0.2), "a third job was accepted while two were in flight"
    assert executor.in_flight == 2
    release.set()
    assert third_submitted.wait(5)
    executor.wait_all(5)
    assert peak <= 2 and executor.in_flight == 0
    executor.shutdown()


def test_errors_surface_through_the_future() -> None:
    executor = InFlightExecutor(Worker, lambda w: None, max_in_flight=1)

    def failing(worker: Worker) -> None:
        raise OvTritonError("server said no")

    future = executor.submit(failing)
    with pytest.raises(OvTritonError, match="server said no"):
        future.result(5)
    assert executor.in_flight == 0  # the slot was given back
    executor.shutdown()


def test_wait_all_timeout_and_closed_executor() -> None:
    executor = InFlightExecutor(Worker, lambda w: None, max_in_flight=1)
    release = threading.Event()
    executor.submit(lambda w: release.wait(5))
    with pytest.raises(RequestTimeoutError, match="1 of 1 requests still running"):
        executor.wait_all(0.05)
    release.set()
    executor.shutdown()
    with pytest.raises(OvTritonError, match="closed"):
        executor.submit(lambda w: None)


def test_max_in_flight_must_be_positive() -> None:
    with pytest.raises(InvalidInputError, match="at least 1"):
        InFlightExecutor(Worker, lambda w: None, max_in_flight=0)
