"""The orchestrator inside ``flowmeter up``: workers, gauges, and (with --demo) demo traffic."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from typing import Any

from models.db import Store
from models.settings import Settings
from orchestrator.engine import Engine
from orchestrator.policy import BREAKER_GAUGE
from orchestrator.store import OrchestratorStore
from orchestrator.telemetry import Telemetry
from orchestrator.worker import WorkerPool

__all__ = ["OrchestratorService", "publish_gauges"]

logger = logging.getLogger(__name__)

DEMO_MARKER = "demo-backfill.json"


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
    """Worker threads on the configured state database; with ``demo`` it first backfills
    ``demo_days`` of history once (virtual time), then keeps demo flows running live."""

    name = "orchestrator"

    def __init__(
        self, settings: Settings, telemetry: Telemetry, *, clickhouse: Store | None = None,
        demo: bool = False, demo_days: int = 14, seed: int = 7,
    ) -> None:  # fmt: skip
        self.settings, self.telemetry, self.clickhouse = settings, telemetry, clickhouse
        self.demo, self.demo_days, self.seed = demo, demo_days, seed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.state: OrchestratorStore | None = None
        self.pool: WorkerPool | None = None
        self.engine: Engine | None = None

    def start(self) -> None:
        """Open the state database and start workers (after the backfill, in demo mode)."""
        self.state = OrchestratorStore.from_settings(self.settings)
        if self.demo:
            import orchestrator.flows  # noqa: F401  (registers the demo workflows)
        self.engine = Engine(self.state, telemetry=self.telemetry,
                             lease_seconds=self.settings.lease_seconds)  # fmt: skip
        engine = self.engine
        self.pool = WorkerPool(engine, threads=self.settings.workers,
                               on_tick=lambda: publish_gauges(engine))  # fmt: skip
        if self.demo:
            self._thread = threading.Thread(target=self._demo, name="fm-demo", daemon=True)
            self._thread.start()
        else:
            self.pool.start()

    def _demo(self) -> None:
        try:
            self._backfill_once()
        except Exception:
            logger.exception("demo backfill failed; live demo traffic continues")
        if self._stop.is_set() or self.pool is None or self.engine is None:
            return
        self.pool.start()
        self._live_traffic(self.engine)

    def _backfill_once(self) -> None:
        marker = self.settings.data_dir / DEMO_MARKER
        if marker.exists() or self.clickhouse is None:
            return
        from orchestrator.demo import run_backfill

        started = time.monotonic()
        logger.info("demo: backfilling %d days of history", self.demo_days)
        stats = run_backfill(self.settings, self.clickhouse, self.telemetry,
                             days=self.demo_days, seed=self.seed)  # fmt: skip
        stats["seconds"] = round(time.monotonic() - started)
        marker.write_text(json.dumps(stats))
        logger.info("demo backfill done: %s", stats)

    def _live_traffic(self, engine: Engine) -> None:
        from orchestrator.demo import DAILY_RUNS
        from orchestrator.flows import catalog

        rng = random.Random(self.seed + 99)
        n = 0
        while not self._stop.wait(self.settings.demo_interval_seconds):
            n += 1
            workflow = rng.choices(list(DAILY_RUNS), weights=list(DAILY_RUNS.values()))[0]
            tenant = rng.choice(list(catalog.TENANTS))
            line = rng.choice(list(catalog.PRODUCT_LINES))
            payload: dict[str, Any] = catalog.make_payload(workflow, 900000 + n, rng, tenant, line)
            payload["id"] = f"{payload['id']}-{int(time.time())}"
            try:
                engine.submit(workflow, payload, correlation_id=payload["id"], tenant_id=tenant,
                              product_line=line, entity_type=workflow.split("_")[0],
                              entity_id=payload["id"])  # fmt: skip
            except Exception:
                logger.exception("demo traffic: submit failed")

    def stop(self, timeout: float) -> None:
        """Stop traffic and workers, flush telemetry, close the database."""
        self._stop.set()
        if self.pool is not None:
            self.pool.stop(timeout / 2)
        if self._thread is not None:
            self._thread.join(timeout / 4)
        try:
            self.telemetry.shutdown()
        finally:
            if self.engine is not None:
                self.engine.close()
            if self.state is not None:
                self.state.close()
