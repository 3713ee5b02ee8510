"""Restart budget and exit descriptions (pure logic)."""

from __future__ import annotations

import signal

from ovtriton_serve.server.supervisor import RestartBudget, describe_exit


def test_backoff_doubles_up_to_the_cap() -> None:
    budget = RestartBudget(max_restarts=10, window=1000, first_delay=0.5, max_delay=3)
    delays = [budget.next_delay(float(t)) for t in range(5)]
    assert delays == [0.5, 1.0, 2.0, 3, 3]


def test_budget_is_spent_within_the_window_and_refills_after() -> None:
    budget = RestartBudget(max_restarts=2, window=60)
    assert budget.next_delay(0) is not None
    assert budget.next_delay(1) is not None
    assert budget.next_delay(2) is None
    assert budget.next_delay(100) is not None


def test_exit_descriptions() -> None:
    assert describe_exit(-signal.SIGKILL) == "killed by SIGKILL"
    assert describe_exit(1) == "exited with code 1"
