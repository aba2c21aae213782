"""The frame: open access, sign-in with the users file, the shared sidebar in the URL."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app.users import add_user
from models.db import Store
from tests.app.conftest import MAIN, open_app, texts


def test_open_access_says_so_and_shows_every_view(current: Store) -> None:
    app = open_app()
    assert not app.exception
    assert "Open access: no users are configured" in texts(app)
    assert app.title[0].value == "Executive ROI"
    for page in ("health", "traces", "costs", "operations", "baselines", "alerts"):
        app.switch_page(f"views/{page}.py").run()
        assert not app.exception, page
        assert "Open access" in texts(app), page


def test_filters_come_from_the_url_and_go_back_to_it(current: Store) -> None:
    app = open_app(range="24h", tenant="acme")
    assert not app.exception
    caption = texts(app)
    assert "Last 24 hours" in caption and "tenant: `acme`" in caption
    app.sidebar.selectbox(key="_filter_range").select("30d").run()
    assert app.query_params["range"] == ["30d"] or app.query_params["range"] == "30d"
    assert "Last 30 days" in texts(app)


def test_a_bad_url_value_falls_back_with_a_warning(current: Store) -> None:
    app = open_app(range="forever")
    assert not app.exception
    assert "unknown range 'forever'" in app.warning[0].value


@pytest.fixture
def users_file(current: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "users.toml"
    add_user(path, "fay", "finance", "fay-password", tenants=("tenant-a",))
    add_user(path, "erin", "executive", "erin-password")
    add_user(path, "eddie", "engineer", "eddie-password")
    monkeypatch.setenv("FLOWMETER_USERS_FILE", str(path))
    st.cache_resource.clear()
    return path


def _sign_in(name: str, password: str) -> AppTest:
    app = AppTest.from_file(MAIN, default_timeout=60).run()
    app.text_input[0].input(name)
    app.text_input[1].input(password)
    app.button[0].click().run()
    return app


def test_with_users_nothing_shows_before_sign_in(users_file: Path) -> None:
    app = AppTest.from_file(MAIN, default_timeout=60).run()
    assert not app.exception
    assert "Sign in to see the dashboards." in texts(app)
    assert not app.metric and len(app.sidebar.selectbox) == 0


def test_a_wrong_password_is_refused(users_file: Path) -> None:
    app = _sign_in("fay", "not-her-password")
    assert "unknown user or wrong password" in app.error[0].value
    assert "Executive ROI" not in texts(app)


def test_a_tenant_limited_user_only_chooses_their_tenants(users_file: Path) -> None:
    app = _sign_in("fay", "fay-password")
    assert not app.exception
    assert "Open access" not in texts(app)
    assert app.title[0].value == "Executive ROI"
    assert app.sidebar.selectbox(key="_filter_tenant").options == ["All tenants", "tenant-a"]
    assert "fay · finance · tenant-a" in texts(app)


def test_an_executive_does_not_get_the_operations_view(users_file: Path) -> None:
    app = _sign_in("erin", "erin-password")
    assert not app.exception
    with pytest.raises(ValueError, match="operations"):
        app.switch_page("views/operations.py")


def test_a_removed_user_is_signed_out_on_the_next_run(users_file: Path) -> None:
    from app.users import load_users, write_users

    app = _sign_in("erin", "erin-password")
    assert app.title[0].value == "Executive ROI"
    users = load_users(users_file)
    del users["erin"]
    write_users(users_file, users)
    app.run()
    assert "Sign in to see the dashboards." in texts(app)
    assert not app.metric
