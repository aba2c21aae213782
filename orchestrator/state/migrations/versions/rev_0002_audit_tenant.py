"""The audit log learns the tenant of the record each row is about.

A tenant-limited reader's audit list used to be cut to ``limit`` rows first and filtered by
tenant afterwards, so a reader of tenant B could see none of B's rows. With the tenant on
the row the filter runs in the query, before the limit. Existing rows get it from the dead
letter (``dlq.*`` actions, target = dead letter id) or the run (``approval.*``, target = run
id) they name; anything else keeps "" (visible to unrestricted readers only, as before).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_audit = sa.table(
    "fm_audit_log", sa.column("action", sa.String), sa.column("target", sa.String),
    sa.column("tenant_id", sa.String),
)  # fmt: skip
_letters = sa.table("fm_dead_letters", sa.column("id", sa.Integer),
                    sa.column("tenant_id", sa.String))  # fmt: skip
_runs = sa.table("fm_runs", sa.column("id", sa.String), sa.column("tenant_id", sa.String))


def upgrade() -> None:
    """Add fm_audit_log.tenant_id (filled from the rows' targets) and two tenant indexes."""
    op.add_column(
        "fm_audit_log",
        sa.Column("tenant_id", sa.String(100), nullable=False, server_default=""),
    )
    letter_tenant = (
        sa.select(_letters.c.tenant_id)
        .where(sa.cast(_letters.c.id, sa.String) == _audit.c.target)
        .scalar_subquery()
    )
    op.execute(
        sa.update(_audit)
        .where(_audit.c.action.like("dlq.%"))
        .values(tenant_id=sa.func.coalesce(letter_tenant, ""))
    )
    run_tenant = sa.select(_runs.c.tenant_id).where(_runs.c.id == _audit.c.target)
    op.execute(
        sa.update(_audit)
        .where(_audit.c.action.like("approval.%"))
        .values(tenant_id=sa.func.coalesce(run_tenant.scalar_subquery(), ""))
    )
    op.create_index("fm_audit_log_tenant", "fm_audit_log", ["tenant_id", "id"])
    op.create_index("fm_dead_letters_tenant", "fm_dead_letters", ["tenant_id", "id"])


def downgrade() -> None:
    """Drop the tenant indexes and fm_audit_log.tenant_id."""
    op.drop_index("fm_dead_letters_tenant", "fm_dead_letters")
    op.drop_index("fm_audit_log_tenant", "fm_audit_log")
    with op.batch_alter_table("fm_audit_log") as batch:
        batch.drop_column("tenant_id")
