"""The budget and the rate limit hold for the whole run when xdist workers share them."""

from __future__ import annotations

import time

from conformance.transport.limits import Budget, RateLimiter


def test_budget_is_shared_through_its_folder(tmp_path):
    # Two objects on one folder stand for two worker processes.
    first, second = Budget(5, tmp_path), Budget(5, tmp_path)
    taken = [budget.take() for _ in range(4) for budget in (first, second)]
    assert taken.count(True) == 5
    assert taken[-1] is False


def test_budget_in_memory():
    budget = Budget(2)
    assert [budget.take() for _ in range(3)] == [True, True, False]


def test_rate_is_shared_through_its_folder(tmp_path):
    first, second = RateLimiter(50.0, tmp_path), RateLimiter(50.0, tmp_path)
    started = time.monotonic()
    for _ in range(5):
        first.wait()
        second.wait()
    # Ten requests at 50 per second for the pair: at least nine intervals of 20 ms.
    assert time.monotonic() - started >= 0.17


def test_no_rate_and_no_pause_means_no_file_work(tmp_path):
    limiter = RateLimiter(None, tmp_path)
    for _ in range(100):
        limiter.wait()
    # No file written: the requests of a run without a rate do not queue on a lock.
    assert list(tmp_path.iterdir()) == []


def test_a_pause_one_worker_records_holds_every_worker(tmp_path):
    first, second = RateLimiter(None, tmp_path), RateLimiter(None, tmp_path)
    first.wait()  # before any pause: nothing to read yet
    second.pause(0.3)
    started = time.monotonic()
    first.wait()
    # A lower bound only: a loaded machine can make the wait longer, never shorter.
    assert time.monotonic() - started >= 0.25
