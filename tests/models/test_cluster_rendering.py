"""Cluster DDL as `flowmeter migrate` applies it: file by file, each knowing the files before it."""

from __future__ import annotations

import re

from models.migrations import Migration, load_migrations, render_history

CLUSTER = "prod"
_CREATE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+) ON CLUSTER 'prod'(.*)", re.DOTALL)
_VIEW = re.compile(r"CREATE MATERIALIZED VIEW IF NOT EXISTS (\w+)", re.IGNORECASE)
_REFERENCE = re.compile(r"\b(?:TO|FROM|JOIN|INTO)\s+(\w+)\b", re.IGNORECASE)
_SOURCE_MERGETREE = re.compile(
    r"CREATE TABLE IF NOT EXISTS (\w+).*ENGINE\s*=\s*\w*MergeTree", re.DOTALL | re.IGNORECASE
)


def _code(statement: str) -> str:
    return "\n".join(line for line in statement.splitlines() if not line.strip().startswith("--"))


def _history() -> list[tuple[Migration, list[str]]]:
    return render_history(load_migrations(), CLUSTER)


def test_every_mergetree_table_gets_a_replicated_local_table_and_a_distributed_one() -> None:
    wanted = {
        match.group(1)
        for migration in load_migrations()
        for statement in migration.statements
        if (match := _SOURCE_MERGETREE.search(_code(statement)))
    }
    assert {"otel_traces", "span_stats_1m", "span_stats_1h", "lookup_keys"} <= wanted
    local: dict[str, str] = {}
    distributed: dict[str, str] = {}
    for _, statements in _history():
        for statement in statements:
            if not (match := _CREATE.search(_code(statement))):
                continue
            name, rest = match.groups()
            if "Distributed(" in rest:
                target = re.search(r"Distributed\('prod', currentDatabase\(\), '(\w+)'", rest)
                assert target is not None, statement
                distributed[name] = target.group(1)
            elif "MergeTree" in rest:
                assert re.search(r"ENGINE = Replicated\w*MergeTree\('/clickhouse/", rest), statement
                local[name] = rest
    assert set(local) == {f"{table}_local" for table in wanted}
    assert distributed == {table: f"{table}_local" for table in wanted}


def test_later_files_reference_the_local_tables_earlier_files_created() -> None:
    replicated: set[str] = set()
    views = 0
    for migration, statements in _history():
        for statement in statements:
            code = _code(statement)
            names = [m.group(1) for m in _REFERENCE.finditer(code)]
            if _VIEW.search(code):  # a view fires on each shard's own inserts: locals only
                views += 1
                stray = [n for n in names if n in replicated]
                assert not stray, f"{migration.version:03d}: {stray} in\n{statement}"
            elif code.lstrip().upper().startswith("INSERT"):  # runs once: Distributed names
                assert not [n for n in names if n.endswith("_local")], statement
        for statement in statements:
            if (match := _CREATE.search(_code(statement))) and "Replicated" in match.group(2):
                replicated.add(match.group(1).removesuffix("_local"))
    assert views >= 8
    # 305 reads the 1-minute rollup that 301 created, 306 the hourly one of 305
    rendered = {m.version: "\n".join(s) for m, s in _history()}
    assert "FROM span_stats_1m_local" in rendered[305]
    assert "FROM span_stats_1h_local" in rendered[306]
    assert "FROM otel_traces_local" in rendered[301]
    assert "ALTER TABLE otel_traces_local ON CLUSTER 'prod'" in rendered[100]


def test_a_new_file_knows_tables_of_files_applied_long_ago() -> None:
    old = Migration(1, "old", ("CREATE TABLE IF NOT EXISTS a (x UInt8) ENGINE = MergeTree "
                               "ORDER BY x",), "c1")  # fmt: skip
    new = Migration(
        2, "new",
        ("CREATE TABLE IF NOT EXISTS b (x UInt8) ENGINE = MergeTree ORDER BY x",
         "CREATE MATERIALIZED VIEW IF NOT EXISTS b_mv TO b AS SELECT x FROM a",
         "INSERT INTO b SELECT x FROM a",
         "ALTER TABLE a ADD COLUMN y UInt8",
         "DROP TABLE IF EXISTS a",
         "CREATE MATERIALIZED VIEW IF NOT EXISTS c_mv TO b AS SELECT x FROM a"),
        "c2",
    )  # fmt: skip
    rendered = dict(render_history([old, new], CLUSTER))
    view, insert, *alter = rendered[new][2:6]
    assert "TO b_local AS SELECT x FROM a_local" in view
    assert insert == "INSERT INTO b SELECT x FROM a"
    assert alter == [
        "ALTER TABLE a_local ON CLUSTER 'prod' ADD COLUMN y UInt8",
        "ALTER TABLE a ON CLUSTER 'prod' ADD COLUMN y UInt8",
    ]
    assert "FROM a" in rendered[new][-1] and "a_local" not in rendered[new][-1]  # a is gone
