"""Leases in the state database: one holder at a time, renewal, expiry, hand-over."""

from __future__ import annotations

from orchestrator.api import JobLease
from tests.orchestrator.conftest import StateDb


class _Clock:
    def __init__(self, now: float) -> None:
        self.at = now

    def now(self) -> float:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.at += seconds


def test_one_holder_at_a_time_until_it_expires_or_is_released(state_db: StateDb) -> None:
    store = state_db.open()
    clock = _Clock(1_000.0)
    first, second = (JobLease(store, "alerts", 90.0, clock) for _ in range(2))
    assert first.hold() and not second.hold()
    clock.at += 60
    assert first.hold() and not second.hold()  # renewed: 90 s from now again
    clock.at += 89
    assert not second.hold()
    clock.at += 2  # the first holder stopped renewing: the lease expired
    assert second.hold() and not first.hold()
    second.release()
    assert first.hold()
    assert JobLease(store, "reports", 90.0, clock).hold()  # another name, another lease
    store.close()


def test_two_processes_racing_for_a_new_lease_get_one_holder(state_db: StateDb) -> None:
    clock = _Clock(5_000.0)
    leases = [JobLease(state_db.open(), "alerts", 90.0, clock) for _ in range(4)]
    assert sum(lease.hold() for lease in leases) == 1
    for lease in leases:
        lease.store.close()
