"""The dashboard's reads are bounded: query time, result rows, period length, cache size."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from app import data
from models.db import ReadLimits, Store
from models.errors import QueryLimitError
from tests.app.conftest import open_app, texts

APP = Path(__file__).resolve().parents[2] / "app"


def test_every_dashboard_read_runs_with_the_configured_clickhouse_limits(current: Store) -> None:
    assert current.query("store/read_limits") == [
        {"max_execution_time": 0.0, "max_result_rows": 0}  # imports and collectors: unbounded
    ]
    settings = data.SETTINGS
    assert data._store().query("store/read_limits") == [
        {
            "max_execution_time": settings.dashboard_query_timeout_seconds,
            "max_result_rows": settings.dashboard_max_rows,
        }
    ]
    assert current.query("store/read_limits")[0]["max_result_rows"] == 0  # the pool is not marked


def test_a_result_over_the_row_limit_is_an_error_naming_the_setting(current: Store) -> None:
    migrations = len(current.query("store/applied_migrations"))
    assert migrations > 2
    bounded = current.limited(ReadLimits(max_result_rows=2, rows_setting="FLOWMETER_X=2"))
    with pytest.raises(QueryLimitError, match=r"returns more than 2 rows \(FLOWMETER_X=2\)"):
        bounded.query_df("store/applied_migrations")
    exact = current.limited(ReadLimits(max_result_rows=migrations))
    assert len(exact.query_df("store/applied_migrations")) == migrations  # never cut


def test_a_read_stopped_by_a_limit_leaves_nothing_behind_for_the_next(current: Store) -> None:
    """chDB could hand the rest of a stopped result to the next query on the same client."""
    bounded = current.limited(ReadLimits(max_result_rows=2))
    expected = current.query("store/applied_migrations")
    for _ in range(30):
        with pytest.raises(QueryLimitError):
            bounded.query_df("store/applied_migrations")
        assert current.query("store/applied_migrations") == expected


def test_a_url_asking_for_all_of_history_is_cut_with_a_visible_notice(current: Store) -> None:
    app = open_app("health", **{"from": "1970-01-01", "to": "2999-12-31"})
    assert not app.exception
    shown = " ".join(str(w.value) for w in app.warning)
    warnings = re.sub(r"\\(.)", r"\1", shown)  # as Markdown shows the escaped text
    days = data.SETTINGS.dashboard_max_days
    assert f"a period is at most {days} days (FLOWMETER_DASHBOARD_MAX_DAYS)" in warnings
    assert "1970" not in texts(app).replace(shown, "")
    assert app.query_params["from"] != ["1970-01-01"]  # the link now says what is shown


def test_every_cached_read_has_a_ttl_and_a_max_entries() -> None:
    cached = 0
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and ast.unparse(node.func).endswith("cache_data")):
                continue  # st.cache_data(...) as a decorator; st.cache_data.clear() is no cache
            cached += 1
            keywords = {k.arg for k in node.keywords}
            assert {"ttl", "max_entries"} <= keywords, f"{path.name}:{node.lineno}"
    assert cached >= 15
