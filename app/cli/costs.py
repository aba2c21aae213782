"""``flowmeter import costs``, ``flowmeter export costs`` and ``flowmeter costs usage``."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

from app.cli.dates import parse_day
from app.cli.remote import cost_frame, cost_import_result, running_api, upload
from app.cli.store import open_store
from models.cost_export import EXPORT_FORMATS, write_cost_export
from models.costs import COST_GROUPS, attributed_costs, import_cost_file
from models.errors import CostImportError
from models.pricing import load_price_list
from models.settings import load_settings
from models.usage_costs import record_usage_costs

__all__ = ["COMMANDS", "EXPORT_COMMANDS", "IMPORT_COMMANDS"]


@click.command("costs")
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@click.option("--skip-bad", is_flag=True, help="List bad rows and import the others.")
def import_costs_command(file: Path, skip_bad: bool) -> None:
    """Import FOCUS 1.0-1.3 cost data; safe to run twice.

    FILE is a CSV (plain or gzip) or Parquet file, a folder of part files, or an export
    manifest (AWS Data Exports Manifest.json, Azure manifest.json). Every row is validated
    first; if any row is bad, nothing is written (unless --skip-bad).
    """
    settings = load_settings()
    client = running_api(settings)
    if client is not None:
        if file.is_dir() or file.suffix.lower() == ".json":
            raise click.UsageError(
                "flowmeter up is running: it takes one file at a time; import the folder's "
                "part files one by one, or stop up and import the folder or manifest"
            )
        # The same two stages as a local import: the server validates, then stores.
        with click.progressbar(length=1, label=f"validating {file.name}") as bar:
            answer = upload(client, "/costs/import", file, skip_bad=skip_bad)
            bar.update(1)
        with click.progressbar(length=1, label=f"storing {file.name}") as bar:
            bar.update(1)
        for line in answer.get("report", []):
            click.echo(line)
        for problem in answer.get("problems", []):
            click.echo(f"skipped {problem}", err=True)
        click.echo(cost_import_result(answer).summary())
        return
    store = open_store()
    bars: dict[str, Any] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in bars:
            for bar in bars.values():
                bar.render_finish()
            bars[stage] = click.progressbar(length=max(total, 1), label=f"{stage} {file.name}")
            bars[stage].__enter__()
        bar = bars[stage]
        bar.update(done - bar.pos)

    try:
        result = import_cost_file(
            store, file, tag_keys=settings.cost_tag_keys, skip_bad=skip_bad, progress=progress
        )
    finally:
        for bar in bars.values():
            bar.render_finish()
        store.close()
    if result.report is not None:
        for line in result.report.lines():
            click.echo(line)
        for problem in result.report.problems if result.report.bad_count else []:
            click.echo(f"skipped {problem}", err=True)
    click.echo(result.summary())


@click.command("costs")
@click.option("--from", "start", required=True, help="First day (YYYY-MM-DD), inclusive.")
@click.option("--to", "end", required=True, help="Last day (YYYY-MM-DD), inclusive.")
@click.option("--by", type=click.Choice(COST_GROUPS), default="tenant", show_default=True)
@click.option(
    "--format", "fmt", type=click.Choice(EXPORT_FORMATS), default="csv", show_default=True
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def export_costs_command(start: str, end: str, by: str, fmt: str, output: Path) -> None:
    """Export attributed cost (showback/chargeback) as CSV, XLSX, Parquet or an HTML report."""
    first, last = parse_day(start, "--from"), parse_day(end, "--to")
    if last < first:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    settings = load_settings()
    client = running_api(settings)
    if client is not None:
        frame = cost_frame(client, first, last, by)
    else:
        store = open_store()
        try:
            frame = attributed_costs(
                store, first, last + timedelta(days=1), by=by,
                policy=settings.cost_allocation_policy, weights=settings.cost_allocation_weights,
            )  # fmt: skip
        finally:
            store.close()
    write_cost_export(
        frame, output, fmt, by=by, start=first, end=last + timedelta(days=1),
        policy=settings.cost_allocation_policy,
    )  # fmt: skip
    click.echo(f"{len(frame)} row(s) written to {output}")


@click.group("costs")
def costs_group() -> None:
    """Usage-priced costs."""


@costs_group.command("usage")
@click.option("--day", "days", multiple=True, help="Day to price (YYYY-MM-DD); default yesterday.")
def usage_command(days: tuple[str, ...]) -> None:
    """Price span usage with FLOWMETER_PRICING_FILE into cost records (idempotent per day)."""
    settings = load_settings()
    if settings.pricing_file is None:
        raise CostImportError("set FLOWMETER_PRICING_FILE to a TOML price list first")
    prices = load_price_list(settings.pricing_file)
    wanted = [parse_day(d, "--day") for d in days] or [datetime.now().date() - timedelta(days=1)]
    client = running_api(settings)
    if client is not None:
        with click.progressbar(wanted, label="pricing usage") as bar:
            for day in bar:
                client.call("POST", "/costs/usage", body={"days": [day.isoformat()]})
    else:
        store = open_store()
        try:
            with click.progressbar(wanted, label="pricing usage") as bar:
                for day in bar:
                    record_usage_costs(store, day, prices)
        finally:
            store.close()
    click.echo(f"usage costs recorded for {len(wanted)} day(s)")


COMMANDS = [costs_group]
IMPORT_COMMANDS = [import_costs_command]
EXPORT_COMMANDS = [export_costs_command]
