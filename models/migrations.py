"""Schema migrations: ``sql/schema/NNN_name.sql`` applied in order, recorded, idempotent.

The files hold single-node DDL. With a cluster name, ``render`` rewrites each statement the
way ClickHouse scales out: ``ON CLUSTER``, ``Replicated*MergeTree`` local tables named
``<table>_local``, a ``Distributed`` table under the original name, and materialized views
that read from and write to the local tables (so they fire on every shard). A comment line
``-- sharding_key: <expr>`` before a CREATE TABLE picks the Distributed sharding key
(default ``rand()``); tables with idempotent writes shard by their key so duplicates meet.

A cluster applies the history file by file, so a file is rendered knowing every table the
files before it created (``render_history``): a view in 305 reading ``span_stats_1m`` (made
in 301) reads ``span_stats_1m_local``, whether 301 ran in this ``migrate`` or a year ago.
Materialized views read and write local tables (they fire on each shard's own inserts, and a
local write is synchronous); ``INSERT ... SELECT`` keeps the Distributed names (it runs once,
on one node, and must see and spread every shard's rows); ``ALTER`` goes to the local table
(and to the Distributed one too when columns change); ``DROP TABLE`` drops both.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources

from models.db import Store
from models.errors import MigrationError, StoreError

__all__ = [
    "Migration",
    "applied_versions",
    "load_migrations",
    "migrate",
    "render",
    "render_history",
]

logger = logging.getLogger(__name__)

MIGRATIONS_TABLE = "flowmeter_migrations"
_FILE = re.compile(r"^(\d{3})_(\w+)\.sql$")
_CREATE_TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+)", re.IGNORECASE)
_CREATE_MV = re.compile(r"CREATE MATERIALIZED VIEW IF NOT EXISTS (\w+)", re.IGNORECASE)
_CREATE_VIEW = re.compile(r"CREATE VIEW IF NOT EXISTS (\w+)", re.IGNORECASE)
_ALTER = re.compile(r"ALTER TABLE (\w+)", re.IGNORECASE)
_DROP = re.compile(r"^\s*DROP (TABLE|VIEW) IF EXISTS (\w+)\s*$", re.IGNORECASE)
_ENGINE = re.compile(r"ENGINE\s*=\s*(\w*)MergeTree(?:\(([^()]*)\))?", re.IGNORECASE)
_SHARDING = re.compile(r"^--\s*sharding_key:\s*(.+)$", re.MULTILINE)
_COLUMN_CHANGE = re.compile(r"\b(ADD|DROP|MODIFY|RENAME) COLUMN\b", re.IGNORECASE)
# A sorting key exists only on the local table: the Distributed twin takes the column alone.
_ORDER_BY_CHANGE = re.compile(r",\s*MODIFY ORDER BY \((?:[^()]|\([^()]*\))*\)", re.IGNORECASE)


@dataclass(frozen=True)
class Migration:
    """One schema file: its version, name, statements and checksum."""

    version: int
    name: str
    statements: tuple[str, ...]
    checksum: str


def split_statements(text: str) -> list[str]:
    """Split a schema file on ';' at line ends; keep comments inside statements."""
    parts = re.split(r";\s*(?:\n|$)", text)
    statements = []
    for part in parts:
        code = "\n".join(line for line in part.splitlines() if not line.strip().startswith("--"))
        if code.strip():
            statements.append(part.strip())
    return statements


def load_migrations() -> list[Migration]:
    """Every migration file in version order; MigrationError on a bad or duplicate name."""
    root = resources.files("sql") / "schema"
    found: dict[int, Migration] = {}
    for item in root.iterdir():
        if not item.name.endswith(".sql"):
            continue
        match = _FILE.match(item.name)
        if not match:
            raise MigrationError(f"sql/schema/{item.name}: name it NNN_description.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"sql/schema: two migrations numbered {version:03d}")
        text = item.read_text(encoding="utf-8")
        checksum = hashlib.sha256(text.encode()).hexdigest()[:16]
        found[version] = Migration(version, match.group(2), tuple(split_statements(text)), checksum)
    return [found[v] for v in sorted(found)]


def render(
    statements: Iterable[str], cluster: str = "", replicated: set[str] | None = None
) -> list[str]:
    """The statements to run: unchanged for one node, rewritten for a cluster.

    ``replicated`` holds the tables earlier statements made ``<table>_local`` + Distributed;
    it is updated with the tables these statements create (and drop).
    """
    statements = list(statements)
    if not cluster:
        return statements
    known = set() if replicated is None else replicated
    rendered: list[str] = []
    for statement in statements:
        rendered.extend(_render_one(statement, cluster, known))
    return rendered


def render_history(
    migrations: Iterable[Migration], cluster: str = ""
) -> list[tuple[Migration, list[str]]]:
    """Each migration with its statements, rendered in order as a cluster applies them."""
    replicated: set[str] = set()
    return [(m, render(m.statements, cluster, replicated)) for m in migrations]


def _render_one(statement: str, cluster: str, replicated: set[str]) -> list[str]:
    on_cluster = f"ON CLUSTER '{cluster}'"
    if (match := _CREATE_TABLE.search(statement)) and (engine := _ENGINE.search(statement)):
        table, local = match.group(1), match.group(1) + "_local"
        replicated.add(table)
        args = [f"'/clickhouse/tables/{{shard}}/{{database}}/{local}'", "'{replica}'"]
        if engine.group(2):
            args.append(engine.group(2))
        local_ddl = statement[: match.start()] + f"CREATE TABLE IF NOT EXISTS {local} {on_cluster}"
        local_ddl += statement[match.end() : engine.start()]
        local_ddl += f"ENGINE = Replicated{engine.group(1)}MergeTree({', '.join(args)})"
        local_ddl += statement[engine.end() :]
        sharding = _SHARDING.search(statement)
        key = sharding.group(1).strip() if sharding else "rand()"
        distributed = (
            f"CREATE TABLE IF NOT EXISTS {table} {on_cluster} AS {local} "
            f"ENGINE = Distributed('{cluster}', currentDatabase(), '{local}', {key})"
        )
        return [local_ddl, distributed]
    if match := _CREATE_MV.search(statement):
        head = statement[: match.end()] + f" {on_cluster}"
        tail = _to_local(statement[match.end() :], replicated)
        return [head + tail]
    for pattern in (_CREATE_TABLE, _CREATE_VIEW):
        if match := pattern.search(statement):
            return [statement[: match.end()] + f" {on_cluster}" + statement[match.end() :]]
    if (match := _ALTER.search(statement)) and match.group(1) in replicated:
        table = match.group(1)
        rest = statement[match.end() :]
        local = statement[: match.start()] + f"ALTER TABLE {table}_local {on_cluster}" + rest
        if _COLUMN_CHANGE.search(rest):
            twin = _ORDER_BY_CHANGE.sub("", rest)
            return [local, statement[: match.end()] + f" {on_cluster}" + twin]
        return [local]
    if match := _ALTER.search(statement):
        return [statement[: match.end()] + f" {on_cluster}" + statement[match.end() :]]
    if match := _DROP.match(_code(statement)):
        what, name = match.group(1).upper(), match.group(2)
        # A dropped table may have been created as <name>_local + Distributed: drop both.
        names = [f"{name}_local", name] if what == "TABLE" else [name]
        replicated.discard(name)
        return [f"DROP {what} IF EXISTS {n} {on_cluster} SYNC" for n in names]
    return [statement]


def _code(statement: str) -> str:
    return "\n".join(line for line in statement.splitlines() if not line.strip().startswith("--"))


def _to_local(sql: str, replicated: set[str]) -> str:
    def swap(match: re.Match[str]) -> str:
        name = match.group(2)
        return f"{match.group(1)}{name}_local" if name in replicated else match.group(0)

    return re.sub(r"\b(TO\s+|FROM\s+|JOIN\s+)(\w+)\b", swap, sql, flags=re.IGNORECASE)


def _migrations_table_ddl() -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (version UInt32, name String, "
        "checksum String, applied_at DateTime64(3) DEFAULT now64(3)) "
        "ENGINE = ReplacingMergeTree ORDER BY version"
    )


def applied_versions(store: Store) -> dict[int, str]:
    """Version -> checksum of every migration already applied to the store."""
    rows = store.query("store/applied_migrations")
    return {int(row["version"]): str(row["checksum"]) for row in rows}


def migrate(store: Store, progress: Callable[[Migration], None] | None = None) -> list[Migration]:
    """Apply every pending migration in order; return the ones applied this time."""
    for statement in render([_migrations_table_ddl()], store.cluster):
        store.ddl(statement)
    done = applied_versions(store)
    applied: list[Migration] = []
    # Applied files are rendered too: later files must know the tables they created.
    for migration, statements in render_history(load_migrations(), store.cluster):
        if migration.version in done:
            if done[migration.version] != migration.checksum:
                logger.warning(
                    "sql/schema/%03d_%s.sql changed after it was applied; add a new migration "
                    "instead of editing an applied one",
                    migration.version,
                    migration.name,
                )
            continue
        if progress is not None:
            progress(migration)
        for statement in statements:
            try:
                store.ddl(statement)
            except StoreError as exc:
                raise MigrationError(
                    f"sql/schema/{migration.version:03d}_{migration.name}.sql failed: {exc}"
                ) from exc
        store.insert(
            MIGRATIONS_TABLE,
            [[migration.version, migration.name, migration.checksum]],
            ["version", "name", "checksum"],
        )
        applied.append(migration)
        logger.info("applied migration %03d_%s", migration.version, migration.name)
    return applied
