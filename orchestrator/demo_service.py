"""Demo traffic for ``flowmeter up --demo``: its own service beside the orchestrator's.

It backfills ``days`` of history once per data directory (virtual time, the same engine and
flows; see ``orchestrator.demo``), then submits a demo run every
``FLOWMETER_DEMO_INTERVAL_SECONDS``. The orchestrator's workers execute them like any run;
they wait for ``backfilled`` so no live worker claims a run of the simulated past.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from typing import Any

from models.db import Store
from models.settings import Settings
from orchestrator.demo import DAILY_RUNS, run_backfill
from orchestrator.engine import Engine
from orchestrator.flows import catalog  # importing the package registers the demo flows
from orchestrator.state import StateStore, store_from_settings
from orchestrator.telemetry import Telemetry

__all__ = ["DEMO_MARKER", "DemoTrafficService"]

logger = logging.getLogger(__name__)

DEMO_MARKER = "demo-backfill.json"


class DemoTrafficService:
    """Backfill once, then keep demo flows arriving on the configured state database."""

    name = "demo-traffic"

    def __init__(
        self, settings: Settings, telemetry: Telemetry, clickhouse: Store, *,
        days: int = 14, seed: int = 7,
    ) -> None:  # fmt: skip
        self.settings, self.telemetry, self.clickhouse = settings, telemetry, clickhouse
        self.days, self.seed = days, seed
        self.backfilled = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.state: StateStore | None = None

    def start(self) -> None:
        """Start the backfill (once per data dir) and then the live traffic, in a thread."""
        self._thread = threading.Thread(target=self._run, name="fm-demo", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._backfill_once()
        except Exception:
            logger.exception("demo backfill failed; live demo traffic continues")
        finally:
            self.backfilled.set()
        if self._stop.is_set():
            return
        self.state = store_from_settings(self.settings)
        self._live_traffic(Engine(self.state, telemetry=self.telemetry))

    def _backfill_once(self) -> None:
        marker = self.settings.data_dir / DEMO_MARKER
        if marker.exists():
            return
        started = time.monotonic()
        logger.info("demo: backfilling %d days of history", self.days)
        stats = run_backfill(self.settings, self.clickhouse, self.telemetry,
                             days=self.days, seed=self.seed)  # fmt: skip
        stats["seconds"] = round(time.monotonic() - started)
        marker.write_text(json.dumps(stats))
        logger.info("demo backfill done: %s", stats)

    def _live_traffic(self, engine: Engine) -> None:
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
        """Stop submitting (a backfill under way finishes in its daemon thread)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.state is not None:
            self.state.close()
