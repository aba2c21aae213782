from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from models.db import Store, concurrently
from models.errors import QueryError, ReadOnlyError, StoreError


def test_threads_share_the_store_without_sharing_a_client(store: Store) -> None:
    store.insert("business_events", [["e1", 1]], ["event_id", "schema_version"])
    before = len(store._clients)  # the session's store: earlier tests opened some already

    def count(_: int) -> int:
        return int(store.read_only("SELECT count() FROM business_events")[1][0][0])

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(count, range(60)))
    assert results == [1] * 60
    # clients are reused: never more new ones than the threads that ran at once
    assert len(store._clients) - before <= 6


def test_read_only_refuses_writes(store: Store) -> None:
    with pytest.raises(ReadOnlyError, match="read-only"):
        store.read_only("INSERT INTO business_events (event_id) VALUES ('x')")
    with pytest.raises(ReadOnlyError):
        store.read_only("DROP TABLE business_events")
    assert store.read_only("SELECT count() FROM business_events")[1] == [(0,)]


def test_bad_sql_is_a_store_error_with_clickhouse_reason(store: Store) -> None:
    with pytest.raises(StoreError, match=r"UNKNOWN_TABLE|Unknown table"):
        store.read_only("SELECT * FROM no_such_table")


def test_named_query_parameters_are_checked_before_sending(store: Store) -> None:
    with pytest.raises(QueryError, match="unknown parameters"):
        store.query("store/table_rows", extra=1)


def test_closed_store_refuses_work(engine_dsn: str) -> None:
    handle = Store(engine_dsn, database="t_closed")
    handle.close()
    with pytest.raises(StoreError, match="closed"):
        handle.query("store/table_rows")


def test_database_names_are_checked(engine_dsn: str) -> None:
    with pytest.raises(StoreError, match="letters, digits"):
        Store(engine_dsn, database="bad-name; DROP")


def test_read_only_leaves_no_client_read_only(store: Store) -> None:
    with pytest.raises(ReadOnlyError):
        store.read_only("INSERT INTO business_events (event_id) VALUES ('x')")
    store.insert("business_events", [["e2", 1]], ["event_id", "schema_version"])
    assert store.read_only("SELECT event_id FROM business_events")[1] == [("e2",)]


def test_concurrently_returns_results_in_call_order(store: Store) -> None:
    first, second = concurrently(
        lambda: store.read_only("SELECT 1")[1], lambda: store.read_only("SELECT 2")[1]
    )
    assert (first, second) == ([(1,)], [(2,)])


def test_concurrently_raises_after_every_call_finished() -> None:
    finished: list[str] = []

    def failing() -> None:
        raise StoreError("boom")

    with pytest.raises(StoreError, match="boom"):
        concurrently(lambda: finished.append("first"), failing, lambda: finished.append("third"))
    assert sorted(finished) == ["first", "third"]
