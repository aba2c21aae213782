"""The scheduled reports inside ``flowmeter up``: each due period's report goes out once."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from app.delivery import DeliveryLog, Outcome
from app.reports.schedule import Period, due_chargeback, due_digest
from app.reports.send import channels, send_chargeback, send_digest
from models.db import Store
from models.settings import Settings
from orchestrator.api import OrchestratorAPI

__all__ = ["ReportService"]

logger = logging.getLogger(__name__)


class ReportService:
    """Checks once a minute whether a digest or chargeback is due and not yet delivered."""

    name = "reports"

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        engine: Callable[[], OrchestratorAPI] | None = None,
        clock: Callable[[], float] = time.time,
        interval: float = 60.0,
    ) -> None:
        self.settings, self.store, self.engine = settings, store, engine
        self.clock, self.interval = clock, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def due(self, now: datetime) -> list[Period]:
        """Periods whose send time has passed and whose channels have not all had them."""
        log = DeliveryLog(self.store)
        periods: list[Period] = []
        wanted = (
            (due_digest(self.settings.digest_schedule, now), self.settings.digest_to),
            (due_chargeback(self.settings.chargeback_schedule, now), self.settings.chargeback_to),
        )
        for period, recipients in wanted:
            targets = {c.name for c in channels(self.settings, recipients)}
            if period is not None and targets and not targets <= log.sent_channels(period.key):
                periods.append(period)
        return periods

    def run_due(self, now: datetime | None = None) -> dict[str, list[Outcome]]:
        """Send every due report now; key -> one outcome per channel."""
        moment = now or datetime.fromtimestamp(self.clock(), UTC)
        sent: dict[str, list[Outcome]] = {}
        for period in self.due(moment):
            if period.kind == "digest":
                engine = self.engine() if self.engine is not None else None
                try:
                    sent[period.key] = send_digest(self.store, self.settings, period, engine)
                finally:
                    if engine is not None:
                        engine.close()
            else:
                sent[period.key] = send_chargeback(self.store, self.settings, period)
            logger.info(
                "%s: %s", period.key, ", ".join(f"{o.channel} {o.status}" for o in sent[period.key])
            )
        return sent

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_due()
            except Exception:  # a report that cannot be built is logged, the loop goes on
                logger.exception("scheduled reports failed; trying again in %.0f s", self.interval)
            self._stop.wait(self.interval)

    def start(self) -> None:
        """Start the minute loop in a daemon thread."""
        self._thread = threading.Thread(target=self._loop, name="reports", daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """Stop the loop; a report being sent finishes its current attempt."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
