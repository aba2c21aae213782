"""Retry policy and circuit breaker rules, driven by a virtual clock."""

from __future__ import annotations

import random

import pytest

from orchestrator.clock import VirtualClock
from orchestrator.policy import CLOSED, HALF_OPEN, OPEN, CircuitBreaker, RetryPolicy


def test_full_jitter_stays_under_an_exponential_ceiling_capped_by_max_delay() -> None:
    policy = RetryPolicy(max_attempts=10, base_delay=0.5, max_delay=4.0)
    assert [policy.ceiling(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    rng = random.Random(3)
    delays = [policy.delay(4, rng) for _ in range(500)]
    assert all(0.0 <= d <= 4.0 for d in delays)
    assert min(delays) < 0.5 and max(delays) > 3.5  # spread over the whole range: full jitter


def test_retryable_respects_retry_on_and_no_retry_on() -> None:
    policy = RetryPolicy(retry_on=(OSError,), no_retry_on=(FileNotFoundError,))
    assert policy.retryable(TimeoutError())
    assert not policy.retryable(FileNotFoundError())
    assert not policy.retryable(ValueError())
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


def test_breaker_opens_half_opens_and_closes_by_the_clock() -> None:
    clock = VirtualClock()
    changes: list[tuple[str, str]] = []
    breaker = CircuitBreaker("erp", clock, failure_threshold=3, reset_timeout=10.0,
                             on_change=lambda _n, a, b: changes.append((a, b)))  # fmt: skip
    for _ in range(2):
        assert breaker.allow()
        breaker.record_failure()
    assert breaker.state == CLOSED
    breaker.record_failure()
    assert breaker.state == OPEN and not breaker.allow()
    clock.advance(9.9)
    assert not breaker.allow() and breaker.retry_after() == pytest.approx(0.1)
    clock.advance(0.1)
    assert breaker.allow() and breaker.state == HALF_OPEN
    assert not breaker.allow()  # one trial at a time
    breaker.record_failure()
    assert breaker.state == OPEN
    clock.advance(10)
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == CLOSED
    assert changes == [(CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, OPEN),
                       (OPEN, HALF_OPEN), (HALF_OPEN, CLOSED)]  # fmt: skip


def test_breakers_of_two_workers_follow_each_other_through_the_shared_state() -> None:
    """Worker A opens the breaker; worker B adopts it within sync_every, and A's close too."""
    clock = VirtualClock()
    db: dict[str, tuple[str, float]] = {}

    def worker() -> CircuitBreaker:
        return CircuitBreaker(
            "erp", clock, failure_threshold=2, reset_timeout=30.0, sync_every=1.0,
            on_change=lambda name, _a, to: db.__setitem__(name, (to, clock.now())),
            shared=lambda: db.get("erp"),
        )  # fmt: skip

    a, b = worker(), worker()
    assert b.allow()  # B synced now: nothing recorded yet
    clock.advance(0.5)
    a.record_failure()
    a.record_failure()
    assert a.state == OPEN and db["erp"] == (OPEN, clock.now())
    assert b.allow()  # B checks the shared state at most once a second
    clock.advance(0.5)
    assert not b.allow() and b.state == OPEN  # adopted, without calling the dependency
    assert b.retry_after() == pytest.approx(29.5)  # A's opening time, not B's
    clock.advance(30)
    assert a.allow() and a.state == HALF_OPEN
    a.record_success()  # A's trial closes it
    clock.advance(1)
    assert b.allow() and b.state == CLOSED and b.failures == 0
