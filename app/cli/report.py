"""``flowmeter report``: the digest, ROI and cost reports as files, and sending them now."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from app.cli.dates import parse_day
from app.cli.store import open_store, print_table
from app.delivery import DeliveryLog
from app.reports import render
from app.reports.schedule import Period, last_full_month, last_full_week
from app.reports.send import digest_for, send_chargeback, send_digest
from models.cost_export import write_cost_export
from models.costs import COST_GROUPS, attributed_costs
from models.roi_report import roi_report
from models.settings import load_settings
from orchestrator.api import OrchestratorAPI

__all__ = ["COMMANDS"]

_from = click.option("--from", "start", help="First day (YYYY-MM-DD), inclusive.")
_to = click.option("--to", "end", help="Last day (YYYY-MM-DD), inclusive.")
_output = click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True
)


def _window(start: str | None, end: str | None, default: Period) -> tuple[datetime, datetime]:
    """[first day 00:00, day after the last 00:00) in UTC; the default period when unset."""
    if start is None and end is None:
        return default.start, default.end
    if start is None or end is None:
        raise click.UsageError("give both --from and --to, or neither")
    first, last = parse_day(start, "--from"), parse_day(end, "--to")
    if last < first:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    begin = datetime.combine(first, datetime.min.time(), UTC)
    return begin, datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC)


def _subtitle(start: datetime, end: datetime) -> str:
    return f"{start.date().isoformat()} to {(end - timedelta(days=1)).date().isoformat()}"


@click.group("report")
def report_group() -> None:
    """Reports as files (digest, ROI, costs) and sending the scheduled ones now."""


@report_group.command("digest")
@_from
@_to
@click.option("--format", "fmt", type=click.Choice(["html", "pdf", "json"]), default="html")
@_output
def digest_command(start: str | None, end: str | None, fmt: str, output: Path) -> None:
    """The executive digest (default: the last full week, Monday to Sunday UTC)."""
    begin, finish = _window(start, end, last_full_week(datetime.now(UTC)))
    settings = load_settings()
    store = open_store()
    engine = OrchestratorAPI.from_settings(settings)
    try:
        digest = digest_for(store, settings, begin, finish, engine)
    finally:
        engine.close()
        store.close()
    if fmt == "json":
        output.write_text(render.digest_json(digest), encoding="utf-8")
    else:
        html = render.digest_html(digest, dashboard_url=settings.dashboard_url)
        if fmt == "pdf":
            output.write_bytes(render.pdf(html))
        else:
            output.write_text(html, encoding="utf-8")
    click.echo(f"digest of {_subtitle(begin, finish)} written to {output}")


@report_group.command("roi")
@_from
@_to
@click.option("--format", "fmt", type=click.Choice(render.REPORT_FORMATS), default="csv")
@_output
def roi_command(start: str | None, end: str | None, fmt: str, output: Path) -> None:
    """ROI per workflow and baseline version (default: the last full week)."""
    begin, finish = _window(start, end, last_full_week(datetime.now(UTC)))
    settings = load_settings()
    store = open_store()
    try:
        frame = roi_report(
            store,
            begin,
            finish,
            policy=settings.cost_allocation_policy,
            weights=settings.cost_allocation_weights,
        )
    finally:
        store.close()
    if fmt in ("html", "pdf"):
        html = render.table_html(
            frame, title="Flowmeter ROI by workflow", subtitle=_subtitle(begin, finish)
        )
        if fmt == "pdf":
            output.write_bytes(render.pdf(html))
        else:
            output.write_text(html, encoding="utf-8")
    else:
        output.write_bytes(render.table_bytes(frame, fmt, sheet="roi"))
    click.echo(f"{len(frame)} row(s) written to {output}")


@report_group.command("costs")
@_from
@_to
@click.option("--by", type=click.Choice(COST_GROUPS), default="tenant", show_default=True)
@click.option("--format", "fmt", type=click.Choice(render.REPORT_FORMATS), default="csv")
@_output
def costs_command(start: str | None, end: str | None, by: str, fmt: str, output: Path) -> None:
    """Attributed cost (default: the last full month), as `flowmeter export costs` groups it."""
    begin, finish = _window(start, end, last_full_month(datetime.now(UTC)))
    settings = load_settings()
    store = open_store()
    try:
        frame = attributed_costs(
            store,
            begin.date(),
            finish.date(),
            by=by,
            policy=settings.cost_allocation_policy,
            weights=settings.cost_allocation_weights,
        )
    finally:
        store.close()
    scope = {
        "by": by,
        "start": begin.date(),
        "end": finish.date(),
        "policy": settings.cost_allocation_policy,
    }
    if fmt == "json":
        output.write_bytes(render.table_bytes(frame, "json"))
    elif fmt == "pdf":
        with tempfile.TemporaryDirectory() as folder:
            page = Path(folder) / "costs.html"
            write_cost_export(frame, page, "html", **scope)  # type: ignore[arg-type]
            output.write_bytes(render.pdf(page.read_text(encoding="utf-8")))
    else:
        write_cost_export(frame, output, fmt, **scope)  # type: ignore[arg-type]
    click.echo(f"{len(frame)} row(s) written to {output}")


@report_group.command("send")
@click.argument("kind", type=click.Choice(["digest", "chargeback"]))
@click.option("--period", help="Week's Monday (digest) or YYYY-MM (chargeback); default: last.")
def send_command(kind: str, period: str | None) -> None:
    """Send a scheduled report now (once per period: a period already sent is skipped)."""
    settings = load_settings()
    now = datetime.now(UTC)
    chosen = last_full_week(now) if kind == "digest" else last_full_month(now)
    if period:
        text = period if kind == "digest" else f"{period}-01"
        first = datetime.combine(parse_day(text, "--period"), datetime.min.time(), UTC)
        if kind == "digest" and first.weekday() != 0:
            raise click.BadParameter(f"{period} is not a Monday", param_hint="--period")
        end = (
            first + timedelta(days=7)
            if kind == "digest"
            else last_full_month(first + timedelta(days=40)).start
        )
        chosen = Period(kind, first, end)
    if not settings.smtp_url and not settings.report_webhook_url:
        raise click.UsageError("set FLOWMETER_SMTP_URL or FLOWMETER_REPORT_WEBHOOK_URL first")
    store = open_store()
    engine = OrchestratorAPI.from_settings(settings) if kind == "digest" else None
    try:
        if kind == "digest":
            outcomes = send_digest(store, settings, chosen, engine)
        else:
            outcomes = send_chargeback(store, settings, chosen)
    finally:
        if engine is not None:
            engine.close()
        store.close()
    if not outcomes:
        raise click.UsageError(
            f"nobody to send it to: set FLOWMETER_{kind.upper()}_TO (or the report webhook)"
        )
    for outcome in outcomes:
        detail = f": {outcome.error}" if outcome.error else ""
        click.echo(
            f"{chosen.key} via {outcome.channel} to {outcome.target}: {outcome.status}{detail}"
        )
    if any(o.status == "failed" for o in outcomes):
        raise SystemExit(1)


@report_group.command("deliveries")
@click.option("--limit", type=click.IntRange(1, 10000), default=20, show_default=True)
def deliveries_command(limit: int) -> None:
    """The latest report (and alert) deliveries: key, channel, target, status, attempts."""
    store = open_store()
    try:
        rows = DeliveryLog(store).recent(limit)
    finally:
        store.close()
    columns = ["at", "key", "channel", "target", "status", "attempts", "error"]
    print_table(columns, [[row[c] for c in columns] for row in rows])


COMMANDS = [report_group]
