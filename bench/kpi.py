"""KPI write path benchmark (not a test): what validation and exactly-once cost.

In ONE run, on the same N events, against a fresh embedded store:
  (a) baseline: the rows, already built, inserted straight into business_events (one insert);
  (b) kpi_event_from_log: OTLP-style attributes -> validated KpiEvent (no I/O);
  (c) write_kpi_events on new events: existence lookup + one insert;
  (d) write_kpi_events re-sending the same events: lookup only, nothing inserted;
  (e) end to end: (b) then (c) into an empty table.
Prints events/s for each and the ratio against (a).

    .venv/bin/python bench/kpi.py [N]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from collectors.kpi_store import write_kpi_events
from models.db import Store
from models.kpi import kpi_event_from_log, kpi_rows
from models.migrations import migrate

BASE_NS = 1_764_064_800_000_000_000


def _attributes(i: int) -> dict[str, object]:
    return {
        "event.id": f"ev-{i:09d}",
        "schema_version": 1,
        "kpi.value": 1,
        "kpi.amount": f"{i % 5000}.{i % 100:02d}",
        "kpi.currency": "EUR",
        "entity.type": "order",
        "entity.id": f"o-{i}",
        "correlation.id": f"corr-{i // 3}",
        "tenant.id": f"tenant-{i % 7}",
        "product.line": "retail",
        "workflow.name": "order_to_cash",
        "channel": "web",
    }


def _timed(label: str, count: int, baseline: float | None, action: object) -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    seconds = time.perf_counter() - start
    rate = count / seconds
    ratio = f"  {rate / baseline:5.2f}x baseline" if baseline else ""
    print(f"{label:<46} {seconds:7.3f} s  {rate:>10,.0f} events/s{ratio}")
    return rate


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    attributes = [_attributes(i) for i in range(count)]
    with tempfile.TemporaryDirectory() as tmp:
        root = Store(f"chdb://{Path(tmp) / 'clickhouse'}")
        stores = {}
        for name in ("raw", "dedup", "e2e"):
            stores[name] = Store(root.dsn, database=f"bench_{name}")
            migrate(stores[name])
        events = [
            kpi_event_from_log("kpi.order_advanced", a, timestamp_ns=BASE_NS + i * 1_000_000)
            for i, a in enumerate(attributes)
        ]
        columns, rows = kpi_rows(events)
        print(f"{count:,} KPI events, {len(columns)} columns, chDB embedded")
        base = _timed(
            "(a) raw insert of prepared rows (baseline)",
            count,
            None,
            lambda: stores["raw"].insert("business_events", rows, columns),
        )
        _timed(
            "(b) kpi_event_from_log (validation only)",
            count,
            base,
            lambda: [
                kpi_event_from_log("kpi.order_advanced", a, timestamp_ns=BASE_NS + i)
                for i, a in enumerate(attributes)
            ],
        )
        _timed(
            "(c) write_kpi_events, all new",
            count,
            base,
            lambda: write_kpi_events(stores["dedup"], events),
        )
        _timed(
            "(d) write_kpi_events, all re-sent (lookup only)",
            count,
            base,
            lambda: write_kpi_events(stores["dedup"], events),
        )
        _timed(
            "(e) from_log + write_kpi_events, end to end",
            count,
            base,
            lambda: write_kpi_events(
                stores["e2e"],
                [
                    kpi_event_from_log("kpi.order_advanced", a, timestamp_ns=BASE_NS + i)
                    for i, a in enumerate(attributes)
                ],
            ),
        )
        for store in stores.values():
            store.close()
        root.close()


if __name__ == "__main__":
    main()
