"""Dashboard query speed at >= 10M spans: rollup queries vs the same aggregates from raw tables.

Loads N synthetic runs (5 spans each: run, 3 steps, 1 external call) over 30 days into a
temporary embedded store, generated inside ClickHouse (INSERT ... SELECT FROM numbers(), so
the materialized views fill the rollups exactly as ingest would), plus KPI, cost and dlq log
rows. Then times each dashboard query and lookup (median and p95 of repeated runs) and the
raw-table equivalent in the same run, and prints both and the ratio.

    .venv/bin/python bench/queries.py [--runs 2000000] [--repeat 40] [--store DIR]

With ``--store DIR`` the loaded store is kept in DIR; a later run with the same DIR (and the
same --runs) skips the load and only migrates (new rollups backfill from the raw tables in
their migration) and times. The load average is printed before and after every figure
group, so a noisy shared machine shows in the output.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import cycle
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models import correlation, costs, health, kpis, roi_report
from models.baselines import set_baseline
from models.db import Store
from models.migrations import migrate

START = datetime(2026, 1, 1)
DAYS = 30
TARGET_DASHBOARD_MS = 150.0
TARGET_LOOKUP_MS = 100.0
LOOKUP_KEYS = 40  # lookups rotate over this many keys (each looked up once before timing)


def timed(fn: Callable[[], Any], repeat: int, warm: int = 1) -> tuple[float, float]:
    for _ in range(warm):  # the first runs load marks and caches, as on a running server
        fn()
    samples = []
    for _ in range(repeat):
        begin = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - begin) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return statistics.median(samples), p95


def load(store: Store, total_runs: int, chunk: int) -> None:
    began = time.perf_counter()
    for first in range(0, total_runs, chunk):
        runs = min(chunk, total_runs - first)
        params = {"first_run": first, "runs": runs, "total_runs": total_runs, "start": START,
                  "days": DAYS}  # fmt: skip
        store.execute("bench/generate_spans", **params)
        store.execute("bench/generate_kpis", **params)
        store.execute("bench/generate_logs", **params)
        print(f"  loaded runs {first + runs:>9,} / {total_runs:,}  "
              f"({time.perf_counter() - began:.0f} s)", flush=True)  # fmt: skip
    store.execute("bench/generate_costs", start=START, days=DAYS)
    store.execute("bench/commit_generated_costs")
    print(f"  load done in {time.perf_counter() - began:.0f} s", flush=True)


def loadavg() -> str:
    """The 1/5/15-minute load average and the core count, for reading the figures."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def open_store(directory: Path, runs: int, chunk: int) -> Store:
    """A migrated store in DIRECTORY, loaded with RUNS runs unless it holds them already."""
    marker = directory / "loaded-runs"
    loaded = int(marker.read_text()) if marker.exists() else None
    if loaded is not None and loaded != runs:
        raise SystemExit(f"{directory} holds {loaded:,} runs, not {runs:,}: use --runs {loaded}")
    store = Store(f"chdb://{directory}/clickhouse")
    began = time.perf_counter()
    migrate(store)
    print(f"migrated in {time.perf_counter() - began:.1f} s ({loadavg()})")
    if loaded is None:
        print(f"loading {runs:,} runs = {runs * 5:,} spans over {DAYS} days ({loadavg()})")
        load(store, runs, chunk)
        set_baseline(store, "invoice", manual_minutes=Decimal("6"), hourly_rate=Decimal("40"),
                     manual_error_rate=Decimal("0.02"), cost_per_error=Decimal("25"),
                     currency="EUR", reason="bench", changed_by="bench", effective_from=START,
                     go_live_at=START + timedelta(days=7))  # fmt: skip
        marker.write_text(str(runs))
    else:
        print(f"reusing the {runs:,} runs loaded in {directory}")
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2_000_000, help="runs (x5 spans)")
    parser.add_argument("--chunk", type=int, default=250_000)
    parser.add_argument(
        "--repeat",
        type=int,
        default=40,
        help="timed runs per query (p95 of 10 runs would be the slowest)",
    )
    parser.add_argument("--raw-repeat", type=int, default=3)
    parser.add_argument("--store", type=Path, help="keep the loaded store here and reuse it")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        if args.store is not None:
            directory = args.store.resolve()
            directory.mkdir(parents=True, exist_ok=True)
        else:
            directory = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="flowmeter-bench-"))
            )
        store = open_store(directory, args.runs, args.chunk)
        rows = {r["table"]: r["rows"] for r in store.query("store/table_rows")}
        for table in ("otel_traces", "span_stats_1m", "span_stats_1h", "span_stats_1d", "business_events", "kpi_hourly",
                      "cost_records", "cost_daily", "lookup_keys", "otel_logs"):  # fmt: skip
            print(f"  {table:<18} {rows.get(table, 0):>12,} rows")

        end = START + timedelta(days=DAYS)
        day_start = end - timedelta(days=1)
        d0, d1 = date(2026, 1, 1), date(2026, 1, 31)
        mid_run = args.runs // 2 + 1  # completed, not a multiple of 50 or 97
        dlq_run = 97 * 3  # a dead-lettered run with a dlq log event
        # Each timed lookup asks for another key: LOOKUP_KEYS runs spread over the 30 days.
        spread = [1 + k * (args.runs // LOOKUP_KEYS) + k % 7 for k in range(LOOKUP_KEYS)]
        corr_keys, entity_keys = (
            cycle(f"corr-{r}" for r in spread),
            cycle(f"order-{r}" for r in spread),
        )
        drill_corr, drill_entity = (
            cycle(f"corr-{r}" for r in spread),
            cycle(f"order-{r}" for r in spread),
        )
        # The trace lookup starts from a trace id (resolving one is timed on its own line).
        traces = cycle([correlation.resolve(store, "correlation", f"corr-{r}")["trace_id"].iloc[0]
                        for r in spread])  # fmt: skip
        mid_trace = next(traces)
        dashboard: list[tuple[str, Callable[[], Any], Callable[[], Any] | None]] = [
            ("health by workflow, 30 d", lambda: health.health_summary(store, START, end),
             lambda: store.query("bench/raw_health_by_workflow", start=START, end=end)),
            ("health by workflow, 24 h", lambda: health.health_summary(store, day_start, end),
             lambda: store.query("bench/raw_health_by_workflow", start=day_start, end=end)),
            ("health by step, 30 d", lambda: health.health_summary(store, START, end, by="step"),
             lambda: store.query("bench/raw_health_by_step", start=START, end=end)),
            ("health by tenant, 30 d (5 tenants)",
             lambda: health.health_summary(store, START, end, by="tenant",
                                           tenants=[f"tenant-{i}" for i in range(5)]), None),
            ("health by service, 30 d", lambda: health.health_summary(store, START, end, by="service"), None),
            ("daily timeseries, 30 d",
             lambda: health.health_timeseries(store, START, end, bucket_minutes=1440),
             lambda: store.query("bench/raw_timeseries", start=START, end=end)),
            ("hourly timeseries, 24 h",
             lambda: health.health_timeseries(store, day_start, end, bucket_minutes=60),
             lambda: store.query("bench/raw_timeseries", start=day_start, end=end)),
            ("hourly timeseries, 30 d (720 buckets)",
             lambda: health.health_timeseries(store, START, end, bucket_minutes=60), None),
            ("KPI summary vs previous, 30 d", lambda: kpis.kpi_summary(store, START, end),
             lambda: store.query("bench/raw_kpi_totals", start=START, end=end)),
            ("KPI series per day, 30 d", lambda: kpis.kpi_series(store, START, end, bucket="day"), None),
            ("cost by tenant (allocated), 30 d", lambda: costs.attributed_costs(store, d0, d1),
             lambda: store.query("bench/raw_cost_by_tenant", start=START, end=end)),
            ("unit economics, 30 d", lambda: costs.unit_economics(store, d0, d1), None),
            ("ROI report, 30 d", lambda: roi_report.roi_report(store, START, end), None),
            ("before/after cycle time", lambda: roi_report.before_after(store, "invoice", "cycle_time_ms", days=14), None),
        ]  # fmt: skip
        lookups: list[tuple[str, Callable[[], Any], Callable[[], Any] | None]] = [
            ("resolve correlation id", lambda: correlation.resolve(store, "correlation", next(corr_keys)),
             lambda: store.query("bench/raw_correlation", correlation_id=f"corr-{mid_run}")),
            ("resolve entity id", lambda: correlation.resolve(store, "entity", next(entity_keys)), None),
            ("trace spans by trace id", lambda: correlation.trace_spans(store, [next(traces)]), None),
            ("full drill-down by correlation id",
             lambda: correlation.drilldown(store, "correlation", next(drill_corr)), None),
            ("full drill-down by entity id",
             lambda: correlation.drilldown(store, "entity", next(drill_entity)), None),
            ("span search entity.id=..., 1 day, limit 50",
             lambda: correlation.search_spans(store, "entity.id", f"order-{args.runs - 10}",
                                              day_start, end, limit=50), None),
        ]  # fmt: skip
        found = correlation.drilldown(store, "correlation", f"corr-{dlq_run}")
        assert len(found.spans) == 5 and len(found.dead_letters) == 1, "drill-down check failed"
        assert len(correlation.trace_spans(store, [mid_trace])) == 5, "trace lookup check failed"

        print(f"\n{'query':<44}{'median ms':>10}{'p95 ms':>9}{'raw med':>10}{'raw p95':>10}"
              f"{'ratio':>8}  target")  # fmt: skip
        worst = {"dashboard": 0.0, "lookup": 0.0}
        print(f"before timing: {loadavg()}")
        for group, items, target in (("dashboard", dashboard, TARGET_DASHBOARD_MS),
                                      ("lookup", lookups, TARGET_LOOKUP_MS)):  # fmt: skip
            for label, fn, raw in items:
                median, p95 = timed(fn, args.repeat, warm=LOOKUP_KEYS if group == "lookup" else 1)
                worst[group] = max(worst[group], p95)
                if raw is not None:
                    raw_median, raw_p95 = timed(raw, args.raw_repeat)
                    extra = f"{raw_median:>10.1f}{raw_p95:>10.1f}{raw_median / median:>7.1f}x"
                else:
                    extra = f"{'':>10}{'':>10}{'':>8}"
                verdict = "ok" if p95 <= target else "MISS"
                print(f"{label:<44}{median:>10.1f}{p95:>9.1f}{extra}  {verdict} (p95<={target:.0f})",
                      flush=True)  # fmt: skip
        print(f"after timing: {loadavg()}")
        print(f"\nworst p95: dashboard {worst['dashboard']:.1f} ms (target {TARGET_DASHBOARD_MS:.0f}), "
              f"lookups {worst['lookup']:.1f} ms (target {TARGET_LOOKUP_MS:.0f})")  # fmt: skip
        print("ratio = raw-table median / rollup-or-lookup median, measured in this run")
        print(f"lookups rotate over {LOOKUP_KEYS} keys spread over the {DAYS} days, each looked up "
              "once before timing (marks cached, as on a running server)")  # fmt: skip
        store.close()


if __name__ == "__main__":
    main()
