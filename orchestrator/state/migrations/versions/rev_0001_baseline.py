"""Baseline: the state tables exactly as e1047bd created them with ``metadata.create_all``.

A database written by that release has these tables and no ``alembic_version``; the
migrator stamps it at this revision and upgrades it from here.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

Text, Float, Int = sa.Text, sa.Float, sa.Integer


def upgrade() -> None:
    """Create the nine tables and their indexes."""
    op.create_table(
        "fm_runs",
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
    )
    op.create_index("fm_runs_ready", "fm_runs", ["status", "ready_at"])
    op.create_index("fm_runs_correlation", "fm_runs", ["correlation_id"])
    op.create_table(
        "fm_steps",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("step_key", sa.String(200), primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", Int, nullable=False),
        sa.Column("input", Text),
        sa.Column("output", Text),
        sa.Column("error", Text),
        sa.Column("error_type", sa.String(200)),
        sa.Column("compensation", sa.String(200)),
        sa.Column("seq", Int, nullable=False),
        sa.Column("finished_at", Float, nullable=False),
    )
    op.create_table(
        "fm_idempotency",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("result", Text, nullable=False),
        sa.Column("created_at", Float, nullable=False),
        sa.Column("expires_at", Float, nullable=False),
    )
    op.create_table(
        "fm_dead_letters",
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
    )
    op.create_table(
        "fm_audit_log",
        sa.Column("id", Int, primary_key=True, autoincrement=True),
        sa.Column("at", Float, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("reason", Text, nullable=False),
        sa.Column("detail", Text, nullable=False, server_default="{}"),
    )
    op.create_table(
        "fm_approvals",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("requested_at", Float, nullable=False),
        sa.Column("deadline", Float, nullable=False),
        sa.Column("decision", sa.String(20)),
        sa.Column("decided_by", sa.String(200)),
        sa.Column("decided_at", Float),
        sa.Column("reason", Text),
    )
    op.create_table(
        "fm_breakers",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("changed_at", Float, nullable=False),
    )
    op.create_table(
        "fm_schedules",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("workflow", sa.String(100), nullable=False),
        sa.Column("interval_seconds", Float, nullable=False),
        sa.Column("watermark", Float, nullable=False),
    )


def downgrade() -> None:
    """Drop every state table (all engine state is lost)."""
    for table in ("fm_schedules", "fm_breakers", "fm_approvals", "fm_audit_log",
                  "fm_dead_letters", "fm_idempotency", "fm_steps", "fm_runs"):  # fmt: skip
        op.drop_table(table)
