"""Schedules: one run per elapsed window, a watermark, and safe re-runs of a window."""

from __future__ import annotations

import pytest

from orchestrator.clock import VirtualClock
from orchestrator.engine import Engine
from orchestrator.schedule import Schedule, tick
from tests.orchestrator import sample_flows
from tests.orchestrator.conftest import StateDb

HOUR = 3600.0
T0 = 1_800_000_000.0


def test_each_window_runs_once_even_when_ticked_again(state_db: StateDb) -> None:
    clock = VirtualClock(start=T0)
    engine = Engine(state_db.open(), clock=clock)
    nightly = Schedule("hourly", "nightly_batch", HOUR, start=T0)
    assert tick(engine, nightly) == 0  # no window has ended yet
    clock.advance(3.5 * HOUR)
    assert tick(engine, nightly) == 3
    assert tick(engine, nightly) == 0  # the watermark moved: nothing new
    while engine.run_once("w"):
        pass
    assert sample_flows.calls == [f"window:{int(T0 + n * HOUR)}-{int(T0 + (n + 1) * HOUR)}"
                                  for n in range(3)]  # fmt: skip
    # An operator rewinds the watermark after an incident: already submitted windows are
    # recognised by their dedupe key, so no window runs twice.
    rewound = Schedule("hourly-again", "nightly_batch", HOUR, start=T0)
    engine.submit("nightly_batch", {"window_start": T0 + 3 * HOUR, "window_end": T0 + 4 * HOUR},
                  dedupe_key=f"schedule:hourly-again:{T0 + HOUR!r}")  # fmt: skip
    assert tick(engine, rewound) == 2  # windows 0 and 2; window 1 existed already
    assert engine.store.counts()["ready"] == 3
    with pytest.raises(ValueError, match="every_seconds"):
        Schedule("bad", "nightly_batch", 0, start=T0)
