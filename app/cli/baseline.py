"""``flowmeter baseline set|history``: versioned ROI baselines."""

from __future__ import annotations

import getpass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import quote

import click

from app.cli.remote import baseline_frame, running_api
from app.cli.store import open_store
from models.baselines import baseline_history, set_baseline

__all__ = ["COMMANDS"]


def _decimal(ctx: click.Context, param: click.Parameter, value: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:
        raise click.BadParameter(f"{value!r} is not a number") from None


def _moment(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-03-01") from None


@click.group("baseline")
def baseline_group() -> None:
    """Manual-process baselines that ROI figures are computed against."""


@baseline_group.command("set")
@click.argument("workflow")
@click.option(
    "--manual-minutes", required=True, callback=_decimal, help="Minutes per transaction by hand."
)
@click.option("--hourly-rate", required=True, callback=_decimal, help="Loaded hourly rate.")
@click.option("--error-rate", default="0", callback=_decimal, help="Manual error rate (0-1).")
@click.option("--cost-per-error", default="0", callback=_decimal, help="Cost of one manual error.")
@click.option("--currency", required=True, help="3-letter currency code.")
@click.option("--go-live", callback=_moment, help="When the automation went live (before/after).")
@click.option("--effective-from", callback=_moment, help="When this version applies (default now).")
@click.option("--reason", required=True, help="Why the baseline changes (kept in history).")
@click.option("--by", "changed_by", default=None, help="Who changes it (default: OS user).")
def set_command(
    workflow: str, manual_minutes: Decimal, hourly_rate: Decimal, error_rate: Decimal,
    cost_per_error: Decimal, currency: str, go_live: datetime | None,
    effective_from: datetime | None, reason: str, changed_by: str | None,
) -> None:  # fmt: skip
    """Record a new baseline version for WORKFLOW."""
    client = running_api(actor=changed_by or getpass.getuser())
    if client is not None:
        body = {"manual_minutes": str(manual_minutes), "hourly_rate": str(hourly_rate),
                "manual_error_rate": str(error_rate), "cost_per_error": str(cost_per_error),
                "currency": currency, "reason": reason,
                "effective_from": effective_from.isoformat() if effective_from else None,
                "go_live_at": go_live.isoformat() if go_live else None}  # fmt: skip
        try:
            answer = client.call("POST", f"/baselines/{quote(workflow, safe='')}", body=body)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        version, effective = answer["version"], datetime.fromisoformat(answer["effective_from"])
    else:
        store = open_store()
        try:
            baseline = set_baseline(
                store, workflow, manual_minutes=manual_minutes, hourly_rate=hourly_rate,
                manual_error_rate=error_rate, cost_per_error=cost_per_error, currency=currency,
                reason=reason, changed_by=changed_by or getpass.getuser(),
                effective_from=effective_from, go_live_at=go_live,
            )  # fmt: skip
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        finally:
            store.close()
        version, effective = baseline.version, baseline.effective_from
    click.echo(
        f"{workflow}: baseline version {version} effective from {effective:%Y-%m-%d %H:%M} UTC"
    )


@baseline_group.command("history")
@click.argument("workflow")
def history_command(workflow: str) -> None:
    """Every baseline version of WORKFLOW, oldest first."""
    client = running_api()
    if client is not None:
        frame = baseline_frame(client, workflow)
    else:
        store = open_store()
        try:
            frame = baseline_history(store, workflow)
        finally:
            store.close()
    if frame.empty:
        click.echo(f"{workflow}: no baseline yet (flowmeter baseline set {workflow} ...)")
        return
    for row in frame.to_dict("records"):
        click.echo(
            f"v{row['version']}  from {row['effective_from']:%Y-%m-%d %H:%M}  "
            f"{row['manual_minutes']} min x {row['hourly_rate']} {row['currency']}/h  "
            f"errors {row['manual_error_rate']} x {row['cost_per_error']}  "
            f"by {row['changed_by']}: {row['reason']}"
        )


COMMANDS = [baseline_group]
