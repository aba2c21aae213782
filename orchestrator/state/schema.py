"""The state database's tables, as the newest migration leaves them.

``migrations/versions`` holds how each version came to be (Alembic revisions); this module
is the picture the stores query. A test compares the two on SQLite and PostgreSQL, so a
column added here without a revision (or the other way round) fails.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "ACTIVE",
    "approvals",
    "audit_log",
    "breakers",
    "dead_letters",
    "idempotency",
    "leases",
    "metadata",
    "runs",
    "schedules",
    "steps",
]

ACTIVE = ("ready", "waiting")

metadata = sa.MetaData()
Text, Float, Int = sa.Text, sa.Float, sa.Integer

runs = sa.Table(
    "fm_runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("workflow", sa.String(100), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("phase", sa.String(20), nullable=False, server_default="main"),
    sa.Column("payload", Text, nullable=False),
    sa.Column("result", Text),
    sa.Column("error", Text),
    sa.Column("correlation_id", sa.String(200), nullable=False),
    sa.Column("tenant_id", sa.String(100), nullable=False, server_default=""),
    sa.Column("product_line", sa.String(100), nullable=False, server_default=""),
    sa.Column("entity_type", sa.String(100), nullable=False, server_default=""),
    sa.Column("entity_id", sa.String(200), nullable=False, server_default=""),
    sa.Column("mode", sa.String(20), nullable=False, server_default="automated"),
    sa.Column("dedupe_key", sa.String(300), unique=True),
    sa.Column("traceparent", sa.String(60), nullable=False),
    sa.Column("created_at", Float, nullable=False),
    sa.Column("ready_at", Float, nullable=False),
    sa.Column("finished_at", Float),
    sa.Column("lease_owner", sa.String(100)),
    sa.Column("lease_token", Int, nullable=False, server_default="0"),
    sa.Column("lease_expires_at", Float),
    sa.Column("executions", Int, nullable=False, server_default="0"),
    sa.Column("replays", Int, nullable=False, server_default="0"),
    sa.Index("fm_runs_ready", "status", "ready_at"),
    sa.Index("fm_runs_correlation", "correlation_id"),
)
steps = sa.Table(
    "fm_steps",
    metadata,
    sa.Column("run_id", sa.String(32), primary_key=True),
    sa.Column("step_key", sa.String(200), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),  # ok | error | retrying
    sa.Column("attempts", Int, nullable=False),
    sa.Column("input", Text),
    sa.Column("output", Text),
    sa.Column("error", Text),
    sa.Column("error_type", sa.String(200)),
    sa.Column("compensation", sa.String(200)),
    sa.Column("seq", Int, nullable=False),
    sa.Column("finished_at", Float, nullable=False),
)
idempotency = sa.Table(
    "fm_idempotency",
    metadata,
    sa.Column("key", sa.String(300), primary_key=True),
    sa.Column("result", Text, nullable=False),
    sa.Column("created_at", Float, nullable=False),
    sa.Column("expires_at", Float, nullable=False),
)
dead_letters = sa.Table(
    "fm_dead_letters",
    metadata,
    sa.Column("id", Int, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(32), nullable=False),
    sa.Column("workflow", sa.String(100), nullable=False),
    sa.Column("step", sa.String(200), nullable=False, server_default=""),
    sa.Column("reason", sa.String(50), nullable=False),
    sa.Column("error", Text, nullable=False),
    sa.Column("payload", Text, nullable=False),
    sa.Column("attempts", Int, nullable=False),
    sa.Column("correlation_id", sa.String(200), nullable=False),
    sa.Column("tenant_id", sa.String(100), nullable=False),
    sa.Column("quarantined_at", Float, nullable=False),
    sa.Column("replayed_at", Float),
    sa.Column("replayed_by", sa.String(200)),
    sa.Column("replay_reason", Text),
    # revision 0002: a tenant-limited reader's newest letters without scanning the others'
    sa.Index("fm_dead_letters_tenant", "tenant_id", "id"),
)
audit_log = sa.Table(
    "fm_audit_log",
    metadata,
    sa.Column("id", Int, primary_key=True, autoincrement=True),
    sa.Column("at", Float, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(50), nullable=False),
    sa.Column("target", sa.String(200), nullable=False),
    sa.Column("reason", Text, nullable=False),
    sa.Column("detail", Text, nullable=False, server_default="{}"),
    # revision 0002: the tenant of the record acted on ("" when it has none), so a
    # tenant-limited reader's audit list is filtered in the query, before its limit
    sa.Column("tenant_id", sa.String(100), nullable=False, server_default=""),
    sa.Index("fm_audit_log_tenant", "tenant_id", "id"),
)
approvals = sa.Table(
    "fm_approvals",
    metadata,
    sa.Column("run_id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("requested_at", Float, nullable=False),
    sa.Column("deadline", Float, nullable=False),
    sa.Column("decision", sa.String(20)),
    sa.Column("decided_by", sa.String(200)),
    sa.Column("decided_at", Float),
    sa.Column("reason", Text),
)
breakers = sa.Table(
    "fm_breakers",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("changed_at", Float, nullable=False),
)
leases = sa.Table(
    # One holder at a time per name (the alert evaluator, the report scheduler), for a
    # while: whoever holds it renews it; anyone may take it once it expired.
    "fm_leases",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("expires_at", Float, nullable=False),
)
schedules = sa.Table(
    "fm_schedules",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("workflow", sa.String(100), nullable=False),
    sa.Column("interval_seconds", Float, nullable=False),
    sa.Column("watermark", Float, nullable=False),
)
