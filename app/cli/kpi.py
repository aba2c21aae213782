"""``flowmeter import kpi FILE``: KPI events from a CSV or JSON Lines file."""

from __future__ import annotations

from pathlib import Path

import click

from app.cli.remote import running_api, upload
from app.cli.store import open_store
from collectors.kpi_import import ImportReport, KpiFile, import_kpi_file, validate_kpi_file
from collectors.redaction import redactor_for
from models.settings import load_settings

__all__ = ["IMPORT_COMMANDS"]

SHOWN_BAD_ROWS = 50


def _list_bad_rows(report: ImportReport) -> None:
    for row in report.bad[:SHOWN_BAD_ROWS]:
        click.echo(f"line {row.line}: {row.reason}", err=True)
    if report.bad_count > SHOWN_BAD_ROWS:
        click.echo(f"... and {report.bad_count - SHOWN_BAD_ROWS} more bad rows", err=True)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _rows(count: int) -> str:
    return _plural(count, "row")


@click.command("kpi")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-bad", is_flag=True, help="List bad rows and import the others.")
@click.option(
    "--tenant", default=None, help="Stamp this tenant on every event (wins over the file)."
)
def import_kpi_command(file: Path, skip_bad: bool, tenant: str | None) -> None:
    """Import KPI events from FILE (.csv with the contract's field names as header, or .jsonl).

    Every row is validated first; if any row is bad, nothing is written (unless --skip-bad).
    Importing the same file again adds nothing: event_id is the idempotency key.
    """
    kpi_file = KpiFile(file, tenant=tenant)
    with click.progressbar(length=kpi_file.size, label=f"validating {file.name}") as bar:
        checked = validate_kpi_file(kpi_file, bar.update)
    if checked.bad_count:
        _list_bad_rows(checked)
        if not skip_bad:
            verb = "breaks" if checked.bad_count == 1 else "break"
            raise click.ClickException(
                f"{file.name}: {_rows(checked.bad_count)} {verb} the KPI contract; nothing was "
                "imported (fix them, or pass --skip-bad to import the other rows)"
            )
    client = running_api()
    if client is not None:
        with click.progressbar(length=kpi_file.size, label=f"importing {file.name}") as bar:
            answer = upload(client, "/kpis/import", file, skip_bad=skip_bad, tenant=tenant)
            bar.update(kpi_file.size)
        report = ImportReport(rows=answer["rows"], valid=answer["valid"],
                              bad_count=answer["bad_count"], written=answer["written"])  # fmt: skip
    else:
        store = open_store()
        try:
            with click.progressbar(length=kpi_file.size, label=f"importing {file.name}") as bar:
                report = import_kpi_file(
                    store, kpi_file, redactor=redactor_for(load_settings()), progress=bar.update
                )
        finally:
            store.close()
    already = report.valid - report.written
    click.echo(
        f"{file.name}: {_plural(report.written, 'new KPI event')} imported; "
        f"{already} already stored or repeated in the file; "
        f"{_rows(report.bad_count)} skipped as bad"
    )


IMPORT_COMMANDS = [import_kpi_command]
