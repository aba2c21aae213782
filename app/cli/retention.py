"""``flowmeter retention``: what each table keeps, what it holds on disk, and applying it."""

from __future__ import annotations

import json

import click

from app.cli.store import open_store, print_table
from app.formatting import size
from models.retention import apply_retention, retention_report
from models.settings import load_settings

__all__ = ["COMMANDS"]


@click.group("retention", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per table.")
@click.pass_context
def retention_group(ctx: click.Context, as_json: bool) -> None:
    """Days each table keeps (FLOWMETER_RETENTION_DAYS) and its size on disk."""
    if ctx.invoked_subcommand is not None:
        return
    settings = load_settings()
    store = open_store()
    try:
        report = retention_report(store, settings.retention_days)
        free = store.query("store/disk_free")
    finally:
        store.close()
    if as_json:
        for row in report:
            click.echo(json.dumps(row))
        return
    print_table(
        ["table", "group", "keeps", "applied", "on disk", "rows", "oldest partition"],
        [
            [
                row["table"],
                row["group"],
                row["keeps"],
                "yes" if row["applied"] else "no: run `flowmeter retention apply`",
                size(int(row["bytes"])),  # type: ignore[call-overload]
                row["rows"],
                row["oldest_partition"],
            ]
            for row in report
        ],
    )
    for disk in free:
        click.echo(
            f"disk {disk['disk']}: {size(int(disk['free_bytes']))} free "
            f"of {size(int(disk['total_bytes']))}"
        )


@retention_group.command("apply")
def apply_command() -> None:
    """Set every table's TTL to FLOWMETER_RETENTION_DAYS now (also done at every start)."""
    settings = load_settings()
    store = open_store()
    try:
        altered = apply_retention(store, settings.retention_days)
    finally:
        store.close()
    for item in altered:
        before = "forever" if not item.current_days else f"{item.current_days} days"
        after = "forever" if not item.days else f"{item.days} days"
        click.echo(f"{item.table}: {before} -> {after}")
    click.echo(f"{len(altered)} table(s) changed; retention matches FLOWMETER_RETENTION_DAYS.")


COMMANDS = [retention_group]
