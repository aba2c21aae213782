"""ROI read from a seeded store: failed runs excluded, baseline change mid-period, before/after."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from models.baselines import baseline_history, load_baselines, set_baseline
from models.db import Store
from models.roi_report import before_after, roi_daily, roi_report
from tests.builders import run

D = Decimal
T0 = datetime(2026, 3, 1)


def _baseline(store: Store, minutes: str, effective: datetime, **kw: object) -> None:
    set_baseline(store, "invoice", manual_minutes=D(minutes), hourly_rate=D("60"),
                 manual_error_rate=D("0"), cost_per_error=D("10"), currency="eur",
                 reason="measured", changed_by="ann", effective_from=effective, **kw)  # type: ignore[arg-type]  # fmt: skip


def test_set_baseline_versions_and_validates(store: Store) -> None:
    _baseline(store, "6", T0)
    _baseline(store, "3", T0 + timedelta(days=1))
    history = baseline_history(store, "invoice")
    assert list(history["version"]) == [1, 2]
    assert list(history["currency"]) == ["EUR", "EUR"]
    with pytest.raises(ValueError, match="--reason is required"):
        set_baseline(store, "invoice", manual_minutes=D(1), hourly_rate=D(1),
                     manual_error_rate=D(0), cost_per_error=D(0), currency="EUR",
                     reason=" ", changed_by="x")  # fmt: skip
    assert len(load_baselines(store, "invoice")) == 2


def test_roi_report_excludes_failed_runs_and_splits_by_version(store: Store) -> None:
    _baseline(store, "6", T0)  # 6 min x 60/h = 6.00 per run
    _baseline(store, "3", T0 + timedelta(days=1))  # 3.00 per run
    for _ in range(4):
        run(store, T0 + timedelta(hours=3), "invoice")
    run(store, T0 + timedelta(hours=3), "invoice", outcome="failed")
    run(store, T0 + timedelta(hours=4), "invoice", outcome="dead_lettered")
    run(store, T0 + timedelta(hours=4), "invoice", mode="manual")  # history, not automation
    for _ in range(2):
        run(store, T0 + timedelta(days=1, hours=2), "invoice")
    frame = roi_report(store, T0, T0 + timedelta(days=2)).set_index("baseline_version")
    assert frame.loc[1, "volume"] == 4 and frame.loc[1, "excluded_runs"] == 2
    assert frame.loc[1, "manual_cost_avoided"] == D("24")
    assert frame.loc[1, "actual_savings"] == D("4")  # 24 - 2 failures x 10
    assert frame.loc[2, "volume"] == 2 and frame.loc[2, "manual_cost_avoided"] == D("6")
    assert frame.loc[2, "roi_percent"] is None  # no platform cost
    daily, payback = roi_daily(store, T0, T0 + timedelta(days=2))
    assert list(daily["cumulative_net"]) == [D("24"), D("30")]
    assert payback == 1


def test_before_after_cycle_time(store: Store) -> None:
    go_live = T0 + timedelta(days=8)
    for day in range(16):
        mode = "manual" if day < 8 else "automated"
        ms = 60_000.0 + day if day < 8 else 2_000.0 + day
        run(store, T0 + timedelta(days=day, hours=1), "invoice", mode=mode, duration_ms=ms)
    result = before_after(store, "invoice", "cycle_time_ms", go_live=go_live, days=8)
    assert (result.n_before, result.n_after) == (8, 8)
    assert result.conclusion == "lower after"
    short = before_after(store, "invoice", "error_rate", go_live=go_live, days=3)
    assert short.conclusion == "not enough data"
