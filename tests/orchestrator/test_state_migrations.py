"""State database migrations (Alembic): the baseline is e1047bd's schema, head is schema.py,
and a database written by e1047bd upgrades in place with nothing lost, on both backends."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from psycopg import sql

from orchestrator.api import OrchestratorAPI
from orchestrator.clock import VirtualClock
from orchestrator.engine import Engine
from orchestrator.state import migrate
from orchestrator.state.schema import metadata
from tests.orchestrator import sample_flows
from tests.orchestrator.conftest import PG_DSN, PG_URL, StateDb
from tests.orchestrator.fixtures import store_e1047bd as e1047bd

T0 = 1_790_000_000.0


def _engine(db: StateDb) -> sa.Engine:
    """A plain SQLAlchemy engine on the test database (no store, no migrations)."""
    args = {"options": f"-csearch_path={db.schema}"} if db.schema else {}
    return sa.create_engine(db.dsn, connect_args=args)


def _schema(engine: sa.Engine) -> dict[str, Any]:
    """Every table's columns, keys, unique constraints and indexes, as reflected."""
    inspector = sa.inspect(engine)
    found: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        if table == "alembic_version":
            continue
        found[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], c["default"], c.get("autoincrement"))
                for c in inspector.get_columns(table)
            ],
            "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
            "unique": sorted(
                (u["name"] or "", tuple(u["column_names"]))
                for u in inspector.get_unique_constraints(table)
            ),
            "indexes": sorted(
                (i["name"] or "", tuple(i["column_names"]), i["unique"])
                for i in inspector.get_indexes(table)
            ),
        }
    return found


def _sqlite_ddl(engine: sa.Engine) -> list[tuple[str, str]]:
    master = sa.table("sqlite_master", sa.column("name"), sa.column("sql"))
    with engine.connect() as conn:
        rows = conn.execute(sa.select(master.c.name, master.c.sql).order_by(master.c.name))
        return [(n, s) for n, s in rows if "alembic_version" not in n]


def _pg_dump(db: StateDb) -> str:
    dump = subprocess.run(
        ["pg_dump", "--schema-only", "--no-owner", f"--schema={db.schema}",
         f"--exclude-table={db.schema}.alembic_version", PG_URL],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    lines = [line for line in dump.replace(db.schema, "SCHEMA").splitlines()
             if line and not line.startswith(("--", "\\restrict", "\\unrestrict"))]  # fmt: skip
    return "\n".join(lines)


def _new_schema() -> str:
    schema = f"t_mig_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    return schema


def _drop_schema(schema: str) -> None:
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def _to_baseline(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        config = migrate._config(conn)
        command.upgrade(config, migrate.BASELINE)


def test_head_is_the_newest_script_and_the_baseline_its_root() -> None:
    script = ScriptDirectory.from_config(migrate._config())
    assert script.get_heads() == [migrate.HEAD]
    assert [r.revision for r in script.walk_revisions()][-1] == migrate.BASELINE
    assert migrate.MIGRATIONS.is_relative_to(Path(migrate.__file__).parent)


def test_the_baseline_revision_creates_exactly_what_e1047bd_created_on_sqlite(
    tmp_path: Path,
) -> None:
    old = sa.create_engine(f"sqlite:///{tmp_path / 'e1047bd.db'}")
    e1047bd.metadata.create_all(old)
    new = sa.create_engine(f"sqlite:///{tmp_path / 'baseline.db'}")
    _to_baseline(new)
    assert _schema(new) == _schema(old)
    assert _sqlite_ddl(new) == _sqlite_ddl(old)  # the very CREATE statements
    old.dispose()
    new.dispose()


@pytest.mark.postgres
def test_the_baseline_revision_creates_exactly_what_e1047bd_created_on_postgres() -> None:
    old_db, new_db = StateDb(PG_DSN, _new_schema()), StateDb(PG_DSN, _new_schema())
    try:
        old, new = _engine(old_db), _engine(new_db)
        e1047bd.metadata.create_all(old)
        _to_baseline(new)
        assert _schema(new) == _schema(old)
        if shutil.which("pg_dump"):  # tables, sequences, defaults, constraints, indexes
            assert _pg_dump(new_db) == _pg_dump(old_db)
        old.dispose()
        new.dispose()
    finally:
        _drop_schema(old_db.schema)
        _drop_schema(new_db.schema)


def test_head_matches_the_schema_module(state_db: StateDb) -> None:
    store = state_db.open()
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    assert migrate.current_revision(store.engine) == migrate.HEAD
    assert store.applied == ["0001", "0002", "0003"]
    store.close()
    again = state_db.open()
    assert again.applied == []  # at head: one SELECT, nothing applied
    again.close()


def _write_like_e1047bd(engine: sa.Engine) -> dict[str, list[dict[str, Any]]]:
    """Runs, steps, dead letters, audit rows, approvals, ... as e1047bd wrote them."""

    def run(i: int, status: str, tenant: str, **extra: Any) -> dict[str, Any]:
        return {
            "id": f"{i:032x}", "workflow": "refund_flow", "status": status, "phase": "main",
            "payload": json.dumps({"id": f"r-{i}", "amount": 5}), "correlation_id": f"c-{i}",
            "tenant_id": tenant, "product_line": "software", "entity_type": "refund",
            "entity_id": f"r-{i}", "mode": "automated", "dedupe_key": None,
            "traceparent": f"00-{i:032x}-{i:016x}-01", "created_at": T0 + i, "ready_at": T0 + i,
            "finished_at": None, "lease_owner": None, "lease_token": 1, "lease_expires_at": None,
            "executions": 1, "replays": 0, "result": None, "error": None, **extra,
        }  # fmt: skip

    rows: dict[str, list[dict[str, Any]]] = {
        "fm_runs": [
            run(1, "completed", "acme", result=json.dumps("refunded 5"), finished_at=T0 + 9),
            run(2, "dead_lettered", "acme", error="boom", finished_at=T0 + 9),
            run(3, "dead_lettered", "globex", error="boom", finished_at=T0 + 9),
            run(4, "waiting", "globex", ready_at=T0 + 3600, dedupe_key="approve:r-4"),
        ],
        "fm_steps": [
            {
                "run_id": f"{1:032x}",
                "step_key": "check_refund",
                "status": "ok",
                "attempts": 1,
                "input": "[[],{}]",
                "output": "true",
                "error": None,
                "error_type": None,
                "compensation": None,
                "seq": 1,
                "finished_at": T0 + 1,
            },
            {
                "run_id": f"{2:032x}",
                "step_key": "pay_refund",
                "status": "error",
                "attempts": 2,
                "input": "[[],{}]",
                "output": None,
                "error": "boom",
                "error_type": "FlakyError",
                "compensation": None,
                "seq": 2,
                "finished_at": T0 + 2,
            },
        ],
        "fm_idempotency": [
            {
                "key": "refund:r-1",
                "result": '"refunded 5"',
                "created_at": T0,
                "expires_at": T0 + 7 * 86400,
            },
        ],
        "fm_dead_letters": [
            {
                "run_id": f"{2:032x}",
                "workflow": "refund_flow",
                "step": "pay_refund",
                "reason": "retries_exhausted",
                "error": "boom",
                "payload": "{}",
                "attempts": 2,
                "correlation_id": "c-2",
                "tenant_id": "acme",
                "quarantined_at": T0 + 9,
                "replayed_at": T0 + 20,
                "replayed_by": "ana",
                "replay_reason": "fixed",
            },
            {
                "run_id": f"{3:032x}",
                "workflow": "refund_flow",
                "step": "pay_refund",
                "reason": "retries_exhausted",
                "error": "boom",
                "payload": "{}",
                "attempts": 2,
                "correlation_id": "c-3",
                "tenant_id": "globex",
                "quarantined_at": T0 + 9,
                "replayed_at": None,
                "replayed_by": None,
                "replay_reason": None,
            },
        ],
        "fm_audit_log": [
            {
                "at": T0 + 20,
                "actor": "ana",
                "action": "dlq.replay",
                "target": "1",
                "reason": "fixed",
                "detail": json.dumps({"run_id": f"{2:032x}"}),
            },
            {
                "at": T0 + 30,
                "actor": "bob",
                "action": "approval.rejected",
                "target": f"{3:032x}",
                "reason": "no",
                "detail": json.dumps({"name": "manager"}),
            },
            {
                "at": T0 + 40,
                "actor": "root",
                "action": "maintenance",
                "target": "-",
                "reason": "",
                "detail": "{}",
            },
        ],
        "fm_approvals": [
            {
                "run_id": f"{4:032x}",
                "name": "manager",
                "requested_at": T0 + 4,
                "deadline": T0 + 86400,
                "decision": None,
                "decided_by": None,
                "decided_at": None,
                "reason": None,
            },
        ],
        "fm_breakers": [{"name": "erp", "state": "open", "changed_at": T0 + 5}],
        "fm_schedules": [
            {
                "name": "nightly",
                "workflow": "count_flow",
                "interval_seconds": 86400.0,
                "watermark": T0,
            },
        ],
    }
    e1047bd.metadata.create_all(engine)
    with engine.begin() as conn:  # ids from the database's own sequences, as e1047bd did
        for name, table_rows in rows.items():
            for row in table_rows:
                conn.execute(sa.insert(e1047bd.metadata.tables[name]), row)
    return rows


def _dump(engine: sa.Engine, table: str) -> list[dict[str, Any]]:
    t = sa.Table(table, sa.MetaData(), autoload_with=engine)
    key = list(t.primary_key.columns)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(t).order_by(*key))]


def test_an_e1047bd_database_upgrades_in_place_with_nothing_lost(state_db: StateDb) -> None:
    old = _engine(state_db)
    written = _write_like_e1047bd(old)
    before = {table: _dump(old, table) for table in written}
    assert migrate.current_revision(old) is None  # e1047bd kept no migration history

    store = state_db.open()  # opening a store stamps the baseline, then upgrades
    assert store.applied == ["0002", "0003"]
    assert migrate.current_revision(store.engine) == migrate.HEAD
    for table, rows in before.items():
        after = _dump(store.engine, table)
        if table == "fm_audit_log":
            assert [{k: v for k, v in r.items() if k != "tenant_id"} for r in after] == rows
            # the tenant of each row's target, filled by revision 0002
            assert [r["tenant_id"] for r in after] == ["acme", "globex", ""]
        else:
            assert after == rows, table
    assert len(before["fm_runs"]) == 4 and len(before["fm_dead_letters"]) == 2

    # ... and the engine carries on with it: a tenant-limited read, a replay, an approval.
    api = OrchestratorAPI(store, clock=VirtualClock(start=T0 + 100))
    assert [d["id"] for d in api.dead_letters(tenant_ids=("globex",), limit=1)] == [2]
    assert [a["id"] for a in api.audit_log(tenant_ids=("acme",))] == [1]
    api.replay(2, actor="eve", reason="after the upgrade")
    assert api.approve(f"{4:032x}", actor="ana", reason="ok") == "manager"
    assert [a["tenant_id"] for a in api.audit_log(limit=2)] == ["globex", "globex"]
    engine = Engine(store, clock=VirtualClock(start=T0 + 7200), seed=1)
    sample_flows.failures.clear()
    assert engine.run_once("w") is not None
    assert engine.run_once("w") is not None
    assert store.run(f"{3:032x}").status == "completed"
    assert store.counts()["completed"] >= 2
    store.close()
    old.dispose()


def test_an_installed_wheel_migrates_a_new_database_without_the_source_tree(
    tmp_path: Path,
) -> None:
    """The revisions ship inside the package and Alembic needs no alembic.ini: build the
    wheel, install it alone into a folder, and open a store from there."""
    root = Path(__file__).resolve().parents[2]
    source = tmp_path / "source"
    shutil.copytree(root, source, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "*.egg-info", "__pycache__", ".*_cache", "tests"))  # fmt: skip
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"),
         str(source)], capture_output=True, text=True, check=False,
    )  # fmt: skip
    if built.returncode != 0:
        pytest.skip(
            f"cannot build a wheel here (no setuptools from the index?): {built.stderr[-300:]}"
        )
    (wheel,) = (tmp_path / "dist").glob("flowmeter-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"orchestrator/state/migrations/env.py", "orchestrator/state/migrations/script.py.mako",
            "orchestrator/state/migrations/versions/rev_0001_baseline.py",
            "orchestrator/state/migrations/versions/rev_0002_audit_tenant.py",
            "orchestrator/state/migrations/versions/rev_0003_leases.py"} <= names  # fmt: skip
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:  # a wheel is installed by unpacking it
        archive.extractall(site)
    dependencies = [p for p in sys.path if p.endswith("site-packages")]
    probe = (
        "import orchestrator, sys; from orchestrator.state import open_store; "
        f"store = open_store('sqlite:///{tmp_path / 'state.db'}'); "
        "print(orchestrator.__file__); print(','.join(store.applied))"
    )
    # -S: no site hooks, so the editable install of the source tree is not on the path
    ran = subprocess.run(
        [sys.executable, "-S", "-c", probe], cwd=tmp_path, capture_output=True, text=True,
        env={"PYTHONPATH": ":".join([str(site), *dependencies])}, check=True,
    )  # fmt: skip
    location, applied = ran.stdout.split()
    assert Path(location).is_relative_to(site)
    assert applied == "0001,0002,0003"


def test_migrate_announces_each_revision_it_applies_to_a_data_dir(tmp_path: Path) -> None:
    """What `flowmeter migrate` runs for the state database: an e1047bd data dir gets 0002,
    a second run nothing."""
    from models.settings import load_settings
    from orchestrator.state import store_from_settings

    settings = load_settings(env={"FLOWMETER_DATA_DIR": str(tmp_path)})
    old = sa.create_engine(settings.orchestrator_dsn)
    _write_like_e1047bd(old)
    old.dispose()
    heard: list[str] = []
    store_from_settings(settings, heard.append).close()
    assert heard == ["0002", "0003"]
    again: list[str] = []
    store_from_settings(settings, again.append).close()
    assert again == []


def test_a_database_from_a_newer_release_is_refused_with_a_clear_error(
    sqlite_db: StateDb,
) -> None:
    from models.errors import MigrationError

    sqlite_db.open().close()
    version = sa.table("alembic_version", sa.column("version_num", sa.String))
    engine = _engine(sqlite_db)
    with engine.begin() as conn:
        conn.execute(sa.update(version).values(version_num="0099"))
    engine.dispose()
    with pytest.raises(MigrationError, match=r"revision '0099'.*a newer Flowmeter wrote it"):
        sqlite_db.open()
