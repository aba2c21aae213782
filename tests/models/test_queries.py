from __future__ import annotations

import pytest

from models.db import Store
from models.errors import QueryError
from models.queries import all_queries, get_query, parse_query


def test_every_query_file_loads() -> None:
    queries = all_queries()
    assert "store/table_rows" in queries
    assert all(q.returns for q in queries.values())


def test_loader_rejects_an_undeclared_parameter() -> None:
    text = "-- x\n-- returns: n UInt64\n-- params: none\nSELECT {n:UInt64}"
    with pytest.raises(QueryError, match="undeclared \\['n'\\]"):
        parse_query("t/x", text)


def test_loader_rejects_an_unused_parameter() -> None:
    text = "-- x\n-- returns: n UInt64\n-- params: n UInt64, m String\nSELECT {n:UInt64}"
    with pytest.raises(QueryError, match="unused \\['m'\\]"):
        parse_query("t/x", text)


def test_loader_rejects_a_retyped_parameter() -> None:
    text = "-- x\n-- returns: n UInt64\n-- params: n String\nSELECT {n:UInt64}"
    with pytest.raises(QueryError, match="type differs \\['n'\\]"):
        parse_query("t/x", text)


def test_loader_needs_a_returns_line() -> None:
    with pytest.raises(QueryError, match="returns"):
        parse_query("t/x", "-- x\nSELECT 1")


def test_bind_rejects_missing_and_unknown_arguments() -> None:
    query = parse_query("t/x", "-- x\n-- returns: n UInt64\n-- params: n UInt64\nSELECT {n:UInt64}")
    assert query.bind({"n": 3}) == {"n": 3}
    with pytest.raises(QueryError, match="missing parameters \\['n'\\]"):
        query.bind({})
    with pytest.raises(QueryError, match="unknown parameters \\['z'\\]"):
        query.bind({"n": 1, "z": 2})


def test_unknown_query_name() -> None:
    with pytest.raises(QueryError, match="no query named"):
        get_query("nope/nothing")


def test_named_query_runs_against_the_store(store: Store) -> None:
    rows = store.query("store/table_rows")
    assert {"otel_traces", "business_events", "cost_records"} <= {r["table"] for r in rows}
