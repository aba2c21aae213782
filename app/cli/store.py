"""``flowmeter migrate`` and ``flowmeter sql``: the store, from the command line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from app.cli.remote import running_api
from models.db import Store
from models.migrations import Migration, migrate
from models.retention import apply_retention
from models.settings import load_settings

__all__ = ["COMMANDS", "open_store", "print_table"]


def open_store(*, run_migrations: bool = True) -> Store:
    """Open the configured store (and bring its schema up to date)."""
    settings = load_settings()
    store = Store(settings.clickhouse_dsn, cluster=settings.clickhouse_cluster)
    if run_migrations:
        try:
            migrate(store)
        except BaseException:
            store.close()
            raise
    return store


@click.command("migrate")
def migrate_command() -> None:
    """Apply pending schema migrations (safe to run twice)."""
    settings = load_settings()
    client = running_api(settings)
    if client is not None:
        answer = client.call("POST", "/migrate")
        for name in answer["applied"]:
            click.echo(f"applying {name}")
        click.echo(f"{len(answer['applied'])} migration(s) applied; the schema is up to date.")
        for table, days in answer.get("retention", []):
            click.echo(f"retention of {table}: {f'{days} days' if days else 'forever'}")
        for revision in answer.get("state_revisions", []):
            click.echo(f"applying state revision {revision}")
        revisions = len(answer.get("state_revisions", []))
        click.echo(f"{revisions} state database revision(s) applied; it is up to date.")
        return
    store = Store(settings.clickhouse_dsn, cluster=settings.clickhouse_cluster)
    try:

        def announce(migration: Migration) -> None:
            click.echo(f"applying {migration.version:03d}_{migration.name}")

        applied = migrate(store, progress=announce)
        click.echo(f"{len(applied)} migration(s) applied; the schema is up to date.")
        for item in apply_retention(store, settings.retention_days):
            click.echo(
                f"retention of {item.table}: {f'{item.days} days' if item.days else 'forever'}"
            )
    finally:
        store.close()
    from orchestrator.state import store_from_settings

    state = store_from_settings(settings, lambda rev: click.echo(f"applying state revision {rev}"))
    state.close()
    click.echo(f"{len(state.applied)} state database revision(s) applied; it is up to date.")


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


@click.command("sql")
@click.argument("statement")
@click.option("--format", "fmt", type=click.Choice(["table", "tsv"]), default="table")
def sql_command(statement: str, fmt: str) -> None:
    """Run a read-only query against the store and print the rows."""
    client = running_api()
    if client is not None:  # the server runs it read-only, with the same check
        answer = client.call("POST", "/sql", body={"statement": statement})
        columns, rows = answer["columns"], [tuple(row) for row in answer["rows"]]
    else:
        store = open_store()
        try:
            columns, rows = store.read_only(statement)
        finally:
            store.close()
    if fmt == "tsv":
        click.echo("\t".join(columns))
        for row in rows:
            click.echo("\t".join("" if v is None else str(v) for v in row))
        return
    print_table(columns, rows)


def print_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print rows under their column names, aligned, with a row count."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(line[i]) for line in cells]) for i, c in enumerate(columns)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    click.echo("  ".join("-" * w for w in widths))
    for line in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)))
    click.echo(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")


COMMANDS = [migrate_command, sql_command]
