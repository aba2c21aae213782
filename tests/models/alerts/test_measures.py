"""Alert measures on the real store, against figures computed by hand."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from models.alerts.evaluate import current_values, evaluate_rule
from models.alerts.measures import MEASURES, MeasureContext
from models.alerts.rules import Rule, parse_rules
from models.baselines import set_baseline
from models.costs import import_cost_file
from models.db import Store
from tests.builders import run

DAY = datetime(2026, 11, 24, tzinfo=UTC)
NOW = DAY + timedelta(days=1, seconds=30)  # the rules' default delay is 30 s
HEADER = ["BillingAccountId", "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd",
          "ChargePeriodStart", "ChargePeriodEnd", "BilledCost", "EffectiveCost", "ListCost",
          "ContractedCost", "ChargeCategory", "ServiceName", "ProviderName", "Tags"]  # fmt: skip


def _rule(measure: str, condition: str = "> 0", **extra: str) -> Rule:
    extra = {"window": '"1d"', **extra}
    lines = [f'name = "{measure}"', f'measure = "{measure}"', f'condition = "{condition}"',
             *(f"{k} = {v}" for k, v in extra.items())]  # fmt: skip
    [rule] = parse_rules("[[rule]]\n" + "\n".join(lines) + "\n", MEASURES)
    return rule


@pytest.fixture
def seeded(store: Store, tmp_path: Path) -> Store:
    """10 invoices done by hand in 15 min at EUR 48/h (EUR 12 each) cost EUR 60 of platform."""
    set_baseline(
        store, "invoice", manual_minutes=Decimal("15"), hourly_rate=Decimal("48"),
        manual_error_rate=Decimal("0"), cost_per_error=Decimal("0"), currency="EUR",
        reason="time study", changed_by="test", effective_from=datetime(2026, 10, 1),
    )  # fmt: skip
    for i in range(10):
        run(store, DAY.replace(tzinfo=None) + timedelta(hours=i + 1), "invoice", tenant="acme")
    run(store, DAY.replace(tzinfo=None) + timedelta(hours=12), "invoice", tenant="acme",
        outcome="dead_lettered")  # fmt: skip
    path = tmp_path / "bill.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerow(["acct", "EUR", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z",
                         "2026-11-24T00:00:00Z", "2026-11-24T23:00:00Z", "60.00", "60.00",
                         "60.00", "60.00", "Usage", "Compute", "AWS",
                         json.dumps({"tenant": "acme", "workflow": "invoice"})])  # fmt: skip
    import_cost_file(store, path, tag_keys=("tenant", "product_line", "workflow"))
    return store


def test_system_measures(seeded: Store) -> None:
    ctx = MeasureContext(seeded)
    assert current_values(ctx, _rule("runs"), NOW) == {(): 11.0}
    assert current_values(ctx, _rule("dead_letters_added"), NOW) == {(): 1.0}
    grouped = _rule("run_error_rate", group_by='["workflow"]')
    assert current_values(ctx, grouped, NOW) == {(("workflow", "invoice"),): pytest.approx(1 / 11)}
    # A quiet workflow has no runs: 0, so "no runs for N minutes" (< 1) can fire.
    quiet = _rule("runs", "< 1", filters='{ workflow = "refund" }')
    assert current_values(ctx, quiet, NOW) == {(): 0.0}


def test_economics_by_hand(seeded: Store) -> None:
    ctx = MeasureContext(seeded)
    # Manual cost avoided: 10 completed x EUR 12 = 120; platform cost 60; net 60; ROI 100 %.
    assert current_values(ctx, _rule("net_savings"), NOW) == {(): pytest.approx(60.0)}
    assert current_values(ctx, _rule("roi_percent"), NOW) == {(): pytest.approx(100.0)}
    # EUR 60 / 10 transactions = EUR 6 each, against EUR 12 by hand: half the saving is gone.
    ratio = _rule("cost_per_transaction_vs_baseline", group_by='["workflow"]')
    assert current_values(ctx, ratio, NOW) == {(("workflow", "invoice"),): pytest.approx(0.5)}
    # EUR 60 spent of a EUR 80 November budget.
    budget = _rule("budget_burn", "> 0.7", budget='"80"', filters='{ tenant = "acme" }')
    assert current_values(ctx, budget, NOW) == {(): pytest.approx(0.75)}


def test_change_against_the_previous_period(seeded: Store) -> None:
    ctx = MeasureContext(seeded)
    run(seeded, DAY.replace(tzinfo=None) - timedelta(hours=3), "invoice", tenant="acme")
    rule = _rule("runs", "outside -50..50", change='"previous_period"')
    # 11 runs today against 1 yesterday: +1000 %.
    assert current_values(ctx, rule, NOW) == {(): pytest.approx(1000.0)}
    states, transitions = evaluate_rule(ctx, rule, {}, NOW)
    assert [s.state for s in states] == ["firing"]
    assert [(t.before, t.after) for t in transitions] == [("inactive", "firing")]


def test_gauge_measures_name_their_group(store: Store) -> None:
    from tests.builders import gauge

    at = (NOW - timedelta(minutes=5)).replace(tzinfo=None)
    gauge(store, at, "flowmeter.dlq.depth", 5.0, {"workflow.name": "invoice"})
    gauge(store, at, "flowmeter.dlq.depth", 0.0, {"workflow.name": "refund"})
    gauge(store, at, "flowmeter.breaker.state", 2.0, {"breaker.name": "erp"})
    ctx = MeasureContext(store)
    window = '"15m"'
    depth = _rule("dead_letter_depth", group_by='["workflow"]', window=window)
    assert current_values(ctx, depth, NOW) == {
        (("workflow", "invoice"),): 5.0,
        (("workflow", "refund"),): 0.0,
    }
    breaker = _rule("breaker_open", group_by='["breaker"]', window=window)
    assert current_values(ctx, breaker, NOW) == {(("breaker", "erp"),): 1.0}
