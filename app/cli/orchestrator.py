"""``flowmeter dlq ...``, ``flowmeter approve``, ``flowmeter worker`` and ``flowmeter demo``."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import click

from app.cli.remote import running_api
from app.telemetry import audit_telemetry, telemetry_for
from models.settings import load_settings
from orchestrator.api import OrchestratorAPI

__all__ = ["COMMANDS"]


def _api() -> OrchestratorAPI:
    return OrchestratorAPI.from_settings(load_settings())


def _when(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


@click.group("dlq")
def dlq_group() -> None:
    """Dead letters: list, inspect and replay quarantined runs."""


@dlq_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array (id, workflow, reason, ...).")
@click.option("--workflow", default=None, help="Only this workflow.")
@click.option("--reason", default=None, help="Only this reason (poison, retries_exhausted, ...).")
@click.option("--all", "show_all", is_flag=True, help="Include entries already replayed.")
def dlq_list(as_json: bool, workflow: str | None, reason: str | None, show_all: bool) -> None:
    """List dead letters, newest first (unreplayed only unless --all)."""
    client = running_api()
    if client is not None:
        letters = client.get_rows("/dead-letters", workflow=workflow, reason=reason,
                                  all="true" if show_all else "false")  # fmt: skip
    else:
        api = _api()
        try:
            letters = api.dead_letters(workflow=workflow, reason=reason,
                                       replayed=None if show_all else False)  # fmt: skip
        finally:
            api.close()
    if as_json:
        keys = ("id", "workflow", "reason", "attempts", "run_id", "step", "correlation_id",
                "tenant_id", "error")  # fmt: skip
        rows = [{**{k: d[k] for k in keys}, "quarantined_at": _when(d["quarantined_at"]),
                 "replayed_at": _when(d["replayed_at"]) or None} for d in letters]  # fmt: skip
        click.echo(json.dumps(rows, indent=2))
        return
    if not letters:
        click.echo("No dead letters.")
        return
    click.echo(f"{'ID':>5}  {'WORKFLOW':<20} {'REASON':<20} {'ATT':>3}  QUARANTINED")
    for d in letters:
        click.echo(f"{d['id']:>5}  {d['workflow']:<20} {d['reason']:<20} {d['attempts']:>3}  "
                   f"{_when(d['quarantined_at'])}")  # fmt: skip


@dlq_group.command("show")
@click.argument("dead_letter_id", type=int)
def dlq_show(dead_letter_id: int) -> None:
    """Everything about one dead letter: error, payload, the run's steps."""
    client = running_api()
    if client is not None:
        letter = client.get_rows(f"/dead-letters/{dead_letter_id}")[0]
    else:
        api = _api()
        try:
            letter = api.dead_letter(dead_letter_id)
        finally:
            api.close()
    for key in ("id", "workflow", "reason", "attempts", "step", "run_id", "correlation_id",
                "tenant_id", "error"):  # fmt: skip
        click.echo(f"{key:<15} {letter[key]}")
    click.echo(f"{'quarantined_at':<15} {_when(letter['quarantined_at'])}")
    if letter["replayed_at"]:
        click.echo(f"{'replayed':<15} {_when(letter['replayed_at'])} by {letter['replayed_by']}: "
                   f"{letter['replay_reason']}")  # fmt: skip
    click.echo("payload:")
    click.echo(json.dumps(letter["payload"], indent=2))
    click.echo("steps:")
    for s in letter["steps"]:
        line = f"  {s['seq']:>3} {s['step_key']:<28} {s['status']:<9} attempts={s['attempts']}"
        click.echo(line + (f"  {s['error']}" if s["error"] else ""))


@dlq_group.command("replay")
@click.argument("dead_letter_id", type=int)
@click.option("--reason", required=True, help="Why (written to the audit log).")
@click.option("--actor", default=None, help="Who (default: the current user).")
def dlq_replay(dead_letter_id: int, reason: str, actor: str | None) -> None:
    """Re-enter the run at its failed step; refused if this entry was replayed before."""
    settings = load_settings()
    client = running_api(settings, actor=actor or _default_actor())
    if client is not None:
        answer = client.call("POST", f"/dead-letters/{dead_letter_id}/replay",
                             body={"reason": reason})  # fmt: skip
        letter, undelivered = answer["dead_letter"], not answer["audit_event_delivered"]
    else:
        telemetry = audit_telemetry(settings)
        api = OrchestratorAPI.from_settings(settings, telemetry=telemetry)
        try:
            letter = api.replay(dead_letter_id, actor or _default_actor(), reason)
        finally:
            api.close()
            telemetry.shutdown()
        undelivered = bool(telemetry.log_export_failures)
    click.echo(f"dead letter {dead_letter_id} replayed: run {letter['run_id']} is queued "
               f"again from step {letter['step'] or '(start)'}")  # fmt: skip
    if undelivered:
        click.echo(f"warning: the dlq.replayed event did not reach the receiver on port "
                   f"{settings.otlp_http_port}: the audit log has the replay, drill-downs "
                   f"will not show it", err=True)  # fmt: skip


@click.command("approve")
@click.argument("run_id")
@click.option("--reason", required=True, help="Why (written to the audit log).")
@click.option("--actor", default=None, help="Who (default: the current user).")
@click.option("--name", default=None, help="Which approval, if the run waits on several.")
@click.option("--reject", is_flag=True, help="Reject instead of approve.")
def approve_command(run_id: str, reason: str, actor: str | None, name: str | None,
                    reject: bool) -> None:  # fmt: skip
    """Approve (or --reject) a run waiting for a human decision."""
    client = running_api(actor=actor or _default_actor())
    if client is not None:
        approval = client.call("POST", f"/approvals/{quote(run_id, safe='')}", body={
            "decision": "reject" if reject else "approve", "reason": reason, "name": name,
        })["approval"]  # fmt: skip
    else:
        api = _api()
        try:
            decide = api.reject if reject else api.approve
            approval = decide(run_id, actor or _default_actor(), reason, name)
        finally:
            api.close()
    click.echo(f"{'rejected' if reject else 'approved'} {approval!r} of run {run_id}")


@click.command("demo")
@click.option("--days", type=click.IntRange(1, 90), default=14, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
def demo_command(days: int, seed: int) -> None:
    """Backfill DAYS of demo history (virtual time, same engine and flows) into the store."""
    import time

    from app.cli.store import open_store
    from collectors.pipeline import Pipeline
    from orchestrator.demo import run_backfill

    settings = load_settings()
    store = open_store()
    pipeline = Pipeline(settings, store)
    started = time.monotonic()
    try:
        pipeline.start()
        telemetry = telemetry_for(settings, pipeline)
        with click.progressbar(length=days * 24, label=f"Simulating {days} days",
                               show_pos=True) as bar:  # fmt: skip

            def progress(virtual_now: float) -> None:
                hours = int((virtual_now - (time.time() - days * 86400)) // 3600)
                bar.update(max(0, min(days * 24, hours) - bar.pos))

            stats = run_backfill(settings, store, telemetry, days=days, seed=seed,
                                 progress=progress)  # fmt: skip
        telemetry.shutdown()
    finally:
        pipeline.stop(60.0)
        store.close()
    click.echo(_summary({**stats, "seconds": round(time.monotonic() - started, 1)}))


@click.command("worker")
@click.option("--threads", type=int, default=None, help="Worker threads (FLOWMETER_WORKERS).")
@click.option("--demo-flows", is_flag=True, help="Also register the demo workflows.")
def worker_command(threads: int | None, demo_flows: bool) -> None:
    """Run orchestrator workers in this process until Ctrl-C (scale out on PostgreSQL)."""
    import signal
    import threading

    from orchestrator.engine import Engine
    from orchestrator.state import store_from_settings
    from orchestrator.worker import WorkerPool

    settings = load_settings()
    if demo_flows:
        import orchestrator.flows  # noqa: F401
    state = store_from_settings(settings)
    telemetry = telemetry_for(settings)
    pool = WorkerPool(Engine(state, telemetry=telemetry, lease_seconds=settings.lease_seconds),
                      threads=threads or settings.workers)  # fmt: skip
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    pool.start()
    click.echo(f"{pool.threads} worker(s) on {state.safe_dsn}; Ctrl-C stops")
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        pool.stop(10.0)
        telemetry.shutdown()
        state.close()


def _summary(stats: dict[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in sorted(stats.items())]
    return "demo backfill done: " + ", ".join(parts)


COMMANDS = [dlq_group, approve_command, demo_command, worker_command]
