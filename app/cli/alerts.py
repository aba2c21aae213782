"""``flowmeter alerts``: validate and try a rules file, run the evaluator, list alerts."""

from __future__ import annotations

import json
import signal
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

import click

from app.alerts.rules_file import configured_rules
from app.alerts.service import AlertService
from app.cli.store import open_store, print_table
from models.alerts.evaluate import current_values
from models.alerts.history import history, load_states
from models.alerts.measures import MEASURES, MeasureContext
from models.alerts.rules import load_rules
from models.errors import FlowmeterError
from models.settings import load_settings

__all__ = ["COMMANDS"]


@click.group("alerts")
def alerts_group() -> None:
    """Alert rules: check a file, run the evaluator, list what fires."""


@alerts_group.command("check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--no-store", is_flag=True, help="Only validate; do not read current values.")
def check_command(path: Path, no_store: bool) -> None:
    """Validate a rules file and evaluate each rule once (nothing is stored or sent)."""
    rules = load_rules(path, MEASURES)
    click.echo(f"{path}: {len(rules)} rule(s) valid")
    if no_store:
        return
    settings = load_settings()
    store = open_store()
    context = MeasureContext(
        store, slo_success_target=settings.slo_success_target,
        policy=settings.cost_allocation_policy, weights=dict(settings.cost_allocation_weights),
    )  # fmt: skip
    now = datetime.now(UTC)
    rows = []
    try:
        for rule in rules:
            try:
                values = current_values(context, rule, now)
            except (FlowmeterError, ValueError) as exc:
                rows.append([rule.name, "", "error", str(exc)])
                continue
            if not values:
                rows.append([rule.name, "", "no data", f"no_data = {rule.no_data}"])
            for group, value in sorted(values.items()):
                labels = ", ".join(f"{k}={v}" for k, v in group) or "(all)"
                verdict = "breaching" if rule.condition.breached(value) else "ok"
                rows.append([rule.name, labels, f"{value:.6g}", f"{verdict} ({rule.condition})"])
    finally:
        store.close()
    print_table(["rule", "group", "value", "condition"], rows)


@alerts_group.command("run")
def run_command() -> None:
    """Evaluate the rules until stopped (server mode; `flowmeter up` does this itself)."""
    settings = load_settings()
    rules = configured_rules(settings)
    if not rules:
        raise click.UsageError("set FLOWMETER_ALERT_RULES_FILE to a rules file first")
    stop = threading.Event()

    def _request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _request_stop)
    signal.signal(signal.SIGTERM, _request_stop)
    store = open_store()
    service = AlertService(settings, store, rules)
    try:
        service.start()
        click.echo(f"evaluating {len(rules)} rule(s); Ctrl-C stops")
        stop.wait()
    finally:
        service.stop(10)
        store.close()


@alerts_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--hours", type=click.IntRange(1, 24 * 90), default=24, show_default=True)
def list_command(as_json: bool, hours: int) -> None:
    """What fires now, and the state changes of the last hours."""
    store = open_store()
    try:
        states = [s for s in load_states(store).values() if s.state in ("firing", "pending")]
        changes = history(store, start=datetime.now(UTC) - timedelta(hours=hours))
    finally:
        store.close()
    if as_json:
        for s in states:
            click.echo(json.dumps({"rule": s.rule, "group": dict(s.group), "state": s.state,
                                   "value": s.value, "since": str(s.since)}))  # fmt: skip
        return
    print_table(
        ["rule", "group", "state", "value", "since"],
        [
            [
                s.rule,
                ", ".join(f"{k}={v}" for k, v in s.group.items()) or "(all)",
                s.state,
                s.value,
                s.since,
            ]
            for s in states
        ],
    )
    click.echo("")
    print_table(
        ["at", "rule", "group", "change", "value"],
        [
            [
                c["at"],
                c["rule"],
                ", ".join(f"{k}={v}" for k, v in c["group_labels"].items()),
                f"{c['before']} -> {c['after']}",
                c["value"],
            ]
            for c in changes
        ],
    )


COMMANDS = [alerts_group]
