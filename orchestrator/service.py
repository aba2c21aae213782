"""The orchestrator inside ``flowmeter up``: worker threads and the engine's gauges.

Demo traffic is a separate service (``orchestrator.demo_service``); when it backfills
history first, it hands this service the event to wait for (``start_after``), because the
backfill's virtual-time runs must not be claimed by live workers.
"""

from __future__ import annotations

import logging
import threading

from models.settings import Settings
from orchestrator.engine import Engine
from orchestrator.policy import BREAKER_GAUGE
from orchestrator.state import StateStore, store_from_settings
from orchestrator.telemetry import Telemetry
from orchestrator.worker import WorkerPool

__all__ = ["OrchestratorService", "publish_gauges"]

logger = logging.getLogger(__name__)


def publish_gauges(engine: Engine) -> None:
    """DLQ depth, queue lag and breaker states as OTLP gauges."""
    tel = engine.telemetry
    if tel is None:
        return
    for workflow, depth in engine.store.dead_letter_depth().items():
        tel.dlq_depth.set(depth, {"workflow.name": workflow})
    now = engine.clock.now()
    oldest = engine.store.oldest_ready(now)
    tel.queue_lag.set(0.0 if oldest is None else max(0.0, now - oldest), {"queue": "default"})
    for breaker in engine.store.rows("fm_breakers"):
        tel.breaker_state.set(BREAKER_GAUGE[breaker["state"]], {"breaker.name": breaker["name"]})


class OrchestratorService:
    """Worker threads on the configured state database (migrated to the newest revision
    when opened); with ``start_after`` the workers start once that event is set."""

    name = "orchestrator"

    def __init__(
        self, settings: Settings, telemetry: Telemetry, *,
        start_after: threading.Event | None = None,
    ) -> None:  # fmt: skip
        self.settings, self.telemetry, self.start_after = settings, telemetry, start_after
        self._stop = threading.Event()
        self._gate: threading.Thread | None = None
        self.state: StateStore | None = None
        self.pool: WorkerPool | None = None
        self.engine: Engine | None = None

    def start(self) -> None:
        """Open (and migrate) the state database and start the workers."""
        self.state = store_from_settings(self.settings)
        self.engine = Engine(self.state, telemetry=self.telemetry,
                             lease_seconds=self.settings.lease_seconds)  # fmt: skip
        engine = self.engine
        self.pool = WorkerPool(engine, threads=self.settings.workers,
                               on_tick=lambda: publish_gauges(engine))  # fmt: skip
        if self.start_after is None:
            self.pool.start()
            return
        self._gate = threading.Thread(target=self._start_when_open, name="fm-worker-gate",
                                      daemon=True)  # fmt: skip
        self._gate.start()

    def _start_when_open(self) -> None:
        assert self.start_after is not None and self.pool is not None
        while not self._stop.is_set():
            if self.start_after.wait(0.5):
                if not self._stop.is_set():
                    self.pool.start()
                return

    def stop(self, timeout: float) -> None:
        """Stop the workers, flush telemetry, close the database."""
        self._stop.set()
        if self._gate is not None:
            self._gate.join(timeout / 4)
        if self.pool is not None:
            self.pool.stop(timeout / 2)
        try:
            self.telemetry.shutdown()
        finally:
            if self.engine is not None:
                self.engine.close()
            if self.state is not None:
                self.state.close()
