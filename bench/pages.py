"""Time to render each dashboard view (a Streamlit AppTest run) on a big store.

Loads the Analytics benchmark's synthetic data (bench/queries.py ``load``: N runs x 5 spans
over 30 days, generated inside ClickHouse so the rollups fill as ingest would) into a
temporary embedded store, then renders every view several times:

- cold: query caches cleared before each run (what the first visitor after the cache TTL
  waits for), median and max of ``--repeat`` runs;
- warm: the same view again with the caches filled (every later visitor);
- baseline: the same view on an empty store in the same process (the cost of Streamlit,
  the frame and the view code alone); the ratio cold / baseline is what the data costs.

    .venv/bin/python bench/pages.py [--runs 2000000] [--repeat 5] [--days 7]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from models.db import Store, set_current_store  # noqa: E402
from models.migrations import migrate  # noqa: E402

MAIN = str(ROOT / "app" / "main.py")
TARGET_SECONDS = 1.5


def _analytics_bench() -> object:
    spec = importlib.util.spec_from_file_location("bench_queries", ROOT / "bench" / "queries.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def render(page: str, params: dict[str, str]) -> float:
    """Seconds for one full AppTest run of ``page`` (frame + sidebar + view)."""
    app = AppTest.from_file(MAIN, default_timeout=300)
    app.query_params.update(params)
    if page != "roi":
        app.switch_page(f"views/{page}.py")
    began = time.perf_counter()
    app.run()
    elapsed = time.perf_counter() - began
    if app.exception:
        raise RuntimeError(f"{page}: {app.exception[0].value}")
    return elapsed


def timed(fn: Callable[[], float], repeat: int, *, cold: bool) -> list[float]:
    samples = []
    for _ in range(repeat):
        if cold:
            st.cache_data.clear()
        samples.append(fn())
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2_000_000, help="runs (x5 spans)")
    parser.add_argument("--chunk", type=int, default=250_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--days", type=int, default=7, help="period each view shows")
    parser.add_argument(
        "--store", type=Path, default=None, help="reuse (or fill) the store bench/queries.py keeps"
    )
    args = parser.parse_args()
    queries = _analytics_bench()

    with tempfile.TemporaryDirectory(prefix="flowmeter-pages-") as tmp:
        os.environ["FLOWMETER_DATA_DIR"] = tmp  # the orchestrator state Operations reads
        if args.store is not None:
            directory = args.store.resolve()
            directory.mkdir(parents=True, exist_ok=True)
            big = queries.open_store(directory, args.runs, args.chunk)  # type: ignore[attr-defined]
        else:
            big = Store(f"chdb://{tmp}/clickhouse")
            migrate(big)
            print(f"loading {args.runs:,} runs = {args.runs * 5:,} spans over {queries.DAYS} days")  # type: ignore[attr-defined]
            queries.load(big, args.runs, args.chunk)  # type: ignore[attr-defined]
        empty = Store(big.dsn, database=f"empty_{uuid.uuid4().hex[:8]}")
        migrate(empty)
        last = queries.START + timedelta(days=queries.DAYS - 1)  # type: ignore[attr-defined]
        first = last - timedelta(days=args.days - 1)
        period = {"from": first.date().isoformat(), "to": last.date().isoformat()}
        mid = args.runs // 2
        pages: list[tuple[str, str, dict[str, str]]] = [
            ("Executive ROI", "roi", period),
            ("System Health", "health", period),
            ("Trace Explorer (correlation id)", "traces", {**period, "correlation": f"corr-{mid}"}),
            ("Trace Explorer (entity.id=... search)", "traces",
             {**period, "attr": f"entity.id=order-{args.runs - 10}"}),
            ("Cost Attribution", "costs", period),
            ("Operations", "operations", period),
            ("Baselines", "baselines", period),
        ]  # fmt: skip
        print(f"\nviews over {first:%Y-%m-%d} – {last:%Y-%m-%d} ({args.days} days), "
              f"{args.repeat} runs each; seconds")  # fmt: skip
        print(f"{'view':<40} {'cold med':>9} {'cold max':>9} {'warm med':>9} "
              f"{'empty med':>10} {'cold/empty':>10}  target")  # fmt: skip
        failures = 0
        for label, page, params in pages:
            set_current_store(empty)
            render(page, params)  # warm the imports once
            baseline = timed(lambda: render(page, params), args.repeat, cold=True)  # noqa: B023
            set_current_store(big)
            cold = timed(lambda: render(page, params), args.repeat, cold=True)  # noqa: B023
            warm = timed(lambda: render(page, params), args.repeat, cold=False)  # noqa: B023
            cold_median = statistics.median(cold)
            ok = cold_median <= TARGET_SECONDS
            failures += not ok
            print(f"{label:<40} {cold_median:>9.2f} {max(cold):>9.2f} "
                  f"{statistics.median(warm):>9.2f} {statistics.median(baseline):>10.2f} "
                  f"{cold_median / statistics.median(baseline):>9.1f}x  "
                  f"{'ok' if ok else 'OVER'} (< {TARGET_SECONDS} s)")  # fmt: skip
        set_current_store(None)
        empty.close()
        big.close()
    print(f"\n{len(pages) - failures}/{len(pages)} views render under {TARGET_SECONDS} s cold")


if __name__ == "__main__":
    main()
