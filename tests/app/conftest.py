"""Fixtures for dashboard tests: the store the app reads, fresh caches, signed-in users."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from models.db import Store, set_current_store
from models.migrations import migrate

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "main.py")


@pytest.fixture(scope="session")
def empty_store(engine_dsn: str) -> Iterator[Store]:
    """One migrated, empty database shared by the tests that only read it."""
    handle = Store(engine_dsn, database=f"t_empty_{uuid.uuid4().hex[:8]}")
    migrate(handle)
    yield handle
    handle.close()


def use_store(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """Make ``store`` the app's store with empty caches and open access; undo afterwards."""
    monkeypatch.delenv("FLOWMETER_USERS_FILE", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    set_current_store(store)
    yield store
    set_current_store(None)
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def current(empty_store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """The shared empty store as the app's store (tests here never write to it)."""
    yield from use_store(empty_store, monkeypatch)


def open_app(page: str = "", **params: str) -> AppTest:
    """Run the dashboard (optionally one page of it) with URL query parameters."""
    app = AppTest.from_file(MAIN, default_timeout=60)
    app.query_params.update(params)
    if page:  # before the first run a page is found by its file name (= its url_path)
        app.switch_page(f"views/{page}.py")
    return app.run()


def texts(app: AppTest) -> str:
    """Every markdown, caption, metric, info and error text of the last run, joined."""
    parts: list[str] = []
    for group in (app.markdown, app.caption, app.info, app.error, app.warning, app.title,
                  app.subheader, app.header, app.success):  # fmt: skip
        parts.extend(str(element.value) for element in group)
    for metric in app.metric:
        parts.append(f"{metric.label}: {metric.value} {metric.delta or ''}")
    return "\n".join(parts)
