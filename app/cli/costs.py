"""``flowmeter import costs``, ``flowmeter export costs`` and ``flowmeter costs usage``."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import click

from app.cli.remote import cost_frame, cost_import_result, running_api, upload
from app.cli.store import open_store
from models.cost_export import EXPORT_FORMATS, write_cost_export
from models.costs import COST_GROUPS, attributed_costs, import_cost_file
from models.errors import CostImportError
from models.focus import read_focus_file
from models.pricing import load_price_list
from models.settings import load_settings
from models.usage_costs import record_usage_costs

__all__ = ["COMMANDS", "EXPORT_COMMANDS", "IMPORT_COMMANDS"]


@click.command("costs")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_costs_command(file: Path) -> None:
    """Import a FOCUS 1.2/1.3 cost-and-usage file (CSV or Parquet); safe to run twice."""
    settings = load_settings()
    rows_total = len(read_focus_file(file)[0])
    client = running_api(settings)
    if client is not None:
        with click.progressbar(length=rows_total, label=f"importing {file.name}") as bar:
            result = cost_import_result(upload(client, "/costs/import", file))
            bar.update(rows_total)
    else:
        store = open_store()
        try:
            with click.progressbar(length=rows_total, label=f"importing {file.name}") as bar:
                result = import_cost_file(
                    store, file, tag_keys=settings.cost_tag_keys, progress=bar.update
                )
        finally:
            store.close()
    totals = ", ".join(f"{total:,.2f} {cur}" for cur, total in sorted(result.billed_total.items()))
    click.echo(
        f"{result.rows} row(s) stored in {len(result.slices_written)} billing slice(s); "
        f"{len(result.slices_unchanged)} slice(s) already imported unchanged; "
        f"{result.unallocated_rows} row(s) without tenant/product line/workflow tags "
        f"(kept as unallocated). File total billed: {totals}."
    )


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date like 2026-03-01", param_hint=name
        ) from None


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
    first, last = _day(start, "--from"), _day(end, "--to")
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
    wanted = [_day(d, "--day") for d in days] or [datetime.now().date() - timedelta(days=1)]
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
