"""Versioned migrations of the state database (Alembic), run at open and by ``flowmeter migrate``.

The revisions ship inside the package (``orchestrator/state/migrations``) and Alembic is
configured here, in code: an installed wheel needs no alembic.ini. A database written before
migrations existed (e1047bd, ``metadata.create_all``) has the tables but no
``alembic_version``: it is stamped at the baseline revision, then upgraded like any other.
Concurrent starters are serialised: SQLite's ``BEGIN IMMEDIATE`` write lock, PostgreSQL's
transaction-scoped advisory lock, both held for the whole upgrade.

New revision (from the repository root, against a scratch database):
``.venv/bin/python -m orchestrator.state.migrate revision "what changes"``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from models.errors import MigrationError

__all__ = ["BASELINE", "HEAD", "MIGRATIONS", "current_revision", "upgrade"]

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001"
HEAD = "0003"  # the newest revision; a test checks it against the scripts
# pg_advisory_xact_lock key of state migrations (any constant unique to Flowmeter)
_LOCK_KEY = 0x466C6F776D6574  # "Flowmet"
_version = sa.table("alembic_version", sa.column("version_num", sa.String))


def _config(conn: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # revision files must be importable module names (mypy and ruff check them)
    config.set_main_option("file_template", "rev_%%(rev)s_%%(slug)s")
    config.attributes["connection"] = conn
    return config


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated, or empty)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _at_head(engine: Engine) -> bool:
    # The cheap check every store open makes: one SELECT, no Alembic machinery.
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return False
        return conn.execute(sa.select(_version.c.version_num)).scalar() == HEAD


def upgrade(engine: Engine, progress: Callable[[str], None] | None = None) -> list[str]:
    """Bring the state database to HEAD; returns the revisions applied (oldest first)."""
    if _at_head(engine):
        return []
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK_KEY)))
        context = MigrationContext.configure(conn)
        before = context.get_current_revision()
        config = _config(conn)
        if before is None and sa.inspect(conn).has_table("fm_runs"):
            logger.info("state database without a migration history: stamping %s", BASELINE)
            command.stamp(config, BASELINE)
            before = BASELINE
        script = ScriptDirectory.from_config(config)
        known = {r.revision for r in script.walk_revisions()}
        if before is not None and before not in known:
            raise MigrationError(
                f"the state database is at revision {before!r}, which this release does not "
                f"know (its revisions: {', '.join(sorted(known))}): a newer Flowmeter wrote "
                "it; run that release, or restore a backup taken before the upgrade"
            )
        pending = [
            r.revision for r in script.iterate_revisions("head", before or "base")
            if r.revision != before
        ]  # fmt: skip
        pending.reverse()
        for revision in pending:
            if progress is not None:
                progress(revision)
        if pending:
            command.upgrade(config, "head")
            logger.info("state database upgraded to %s (%s)", HEAD, ", ".join(pending))
        return pending


def _revision(message: str) -> None:
    """Write a new, empty revision file after HEAD (a developer's command)."""
    command.revision(_config(), message=message, rev_id=f"{int(HEAD) + 1:04d}")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "revision":
        sys.exit('usage: python -m orchestrator.state.migrate revision "message"')
    _revision(sys.argv[2])
