"""Cron-like schedules for batch jobs: one run per fixed window, with a durable watermark.

Each tick submits one run per window that ended since the watermark, and advances the
watermark in the same transaction. A window's run carries the dedupe key
``schedule:<name>:<window start>``, so re-running an interrupted window never starts a
second run for it; the run's payload names the window (``window_start``, ``window_end``) so
the job itself can process exactly that slice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orchestrator.engine import Engine

__all__ = ["Schedule", "tick"]


@dataclass(frozen=True)
class Schedule:
    """Run ``workflow`` every ``every_seconds``, for windows starting at ``start``."""

    name: str
    workflow: str
    every_seconds: float
    start: float
    tenant_id: str = ""
    payload: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.every_seconds <= 0:
            raise ValueError(f"schedule {self.name!r}: every_seconds must be above 0")


def tick(engine: Engine, schedule: Schedule) -> int:
    """Submit the runs of every window that has ended; returns how many were new."""

    def make_run(window_start: float, window_end: float) -> dict[str, Any]:
        payload = {**schedule.payload, "window_start": window_start, "window_end": window_end}
        return engine.run_values(
            schedule.workflow, payload, window_end, tenant_id=schedule.tenant_id,
            correlation_id=f"schedule:{schedule.name}:{int(window_start)}",
            dedupe_key=f"schedule:{schedule.name}:{window_start!r}",
        )  # fmt: skip

    return engine.store.schedule_windows(
        schedule.name, schedule.workflow, schedule.every_seconds, schedule.start,
        engine.clock.now(), make_run,
    )  # fmt: skip
