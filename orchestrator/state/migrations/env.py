"""Alembic's environment for the state database: always online, on the caller's connection.

``orchestrator.state.migrate`` passes the connection (already in a transaction, and on
PostgreSQL holding the migration lock) in ``config.attributes``; there is no alembic.ini.
"""

from __future__ import annotations

from alembic import context

from orchestrator.state.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
