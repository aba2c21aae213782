"""``flowmeter workflows`` and ``flowmeter rules check|apply``: recognized automations."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from app.cli.store import open_store
from app.plain import plain
from models.rules_check import dry_run
from models.rules_file import load_rules
from models.workflows import workflow_list

__all__ = ["COMMANDS"]


def _moment(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-03-01") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@click.command("workflows")
@click.option("--from", "start", callback=_moment, help="Start (default: 7 days ago), UTC.")
@click.option("--to", "end", callback=_moment, help="End (default: now), UTC.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per workflow.")
def workflows_command(start: datetime | None, end: datetime | None, as_json: bool) -> None:
    """Every workflow with runs: source, runs, completed, failed, retries, p95, ROI."""
    end = end or datetime.now(UTC)
    start = start or end - timedelta(days=7)
    if start >= end:
        raise click.UsageError("--from must be before --to")
    store = open_store()
    try:
        frame = workflow_list(store, start, end)
    finally:
        store.close()
    records = [{k: plain(v) for k, v in row.items()} for row in frame.to_dict("records")]
    if as_json:
        click.echo(json.dumps(records, indent=2))
        return
    if not records:
        click.echo(f"No runs between {start:%Y-%m-%d %H:%M} and {end:%Y-%m-%d %H:%M} UTC.")
        return
    header = f"{'workflow':<32} {'source':<10} {'runs':>7} {'done':>7} {'failed':>7} {'retries':>7} {'p95_ms':>9}  last_seen         ROI"
    click.echo(header)
    for r in records:
        roi = (f"v{r['baseline_version']} {r['net_savings']} {r['currency']}"
               if r["baseline_version"] is not None else "no baseline")  # fmt: skip
        seen = str(r["last_seen"])[:16].replace("T", " ")
        click.echo(
            f"{r['workflow']:<32} {r['source']:<10} {r['runs']:>7} {r['completed']:>7} "
            f"{r['failed']:>7} {r['retries']:>7} {r['p95_ms'] or 0:>9.0f}  {seen}  {roi}"
        )


@click.group("rules")
def rules_group() -> None:
    """Recognition rules and KPI catalog (FLOWMETER_RULES_FILE)."""


@rules_group.command("check")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--hours", default=24, show_default=True, help="Dry-run on spans this recent.")
def check_command(file: Path, hours: int) -> None:
    """Validate FILE and dry-run it on recent stored spans (nothing is written)."""
    rules = load_rules(file)  # RulesError -> "file:line: ..." and exit 1
    click.echo(f"{file}: valid: {len(rules.rules)} rules (profiles: "
               f"{', '.join(rules.profiles) or 'none'}), {len(rules.kpis)} KPIs")  # fmt: skip
    store = open_store()
    try:
        result = dry_run(store, rules, datetime.now(UTC) - timedelta(hours=hours))
    finally:
        store.close()
    click.echo(result.summary())
    for (workflow, source), spans in result.workflows.most_common():
        click.echo(f"  {workflow}  ({source}): {spans:,} spans")


COMMANDS = [workflows_command, rules_group]
