"""A finance user of tenant A never sees tenant B's numbers, on any page or download."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app.users import add_user
from models.costs import attributed_costs
from models.db import Store
from models.totals import cost_totals
from tests.app.conftest import MAIN, texts
from tests.app.seed import World
from tests.app.views.conftest import bounds, metric, period

TENANT_B_MARKS = ("tenant-b", "1,234.56", "1234.56", "2,500", "2500", "corr-b-")


@pytest.fixture
def fay(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    path = tmp_path / "users.toml"
    add_user(path, "fay", "finance", "fay-password", tenants=("tenant-a",))
    monkeypatch.setenv("FLOWMETER_USERS_FILE", str(path))
    st.cache_resource.clear()
    app = AppTest.from_file(MAIN, default_timeout=60)
    app.query_params.update(period(world))
    app.run()
    app.text_input[0].input("fay")
    app.text_input[1].input("fay-password")
    app.button[0].click().run()
    return app


def _everything(app: AppTest) -> str:
    parts = [texts(app)]
    parts += [df.value.to_csv() for df in app.dataframe]
    parts += [str(element.proto) for kind in ("html", "plotly_chart", "download_button")
              for element in app.get(kind)]  # fmt: skip
    parts += [str(s.options) for s in app.selectbox]
    return "\n".join(parts)


def test_tenant_a_finance_sees_only_tenant_a(fay: AppTest, shared: Store, world: World) -> None:
    pages = ["roi", "costs", "baselines"]
    for page in pages:
        fay.switch_page(f"views/{page}.py").run()
        assert not fay.exception, page
        shown = _everything(fay)
        for mark in TENANT_B_MARKS:
            assert mark not in shown, f"{mark!r} leaked on {page}"
        if page == "costs":
            start, end = bounds(world)
            own = cost_totals(attributed_costs(shared, start.date(), end.date(),
                                               tenants=("tenant-a",)))  # fmt: skip
            assert metric(fay, "Effective cost") == f"€{float(own.effective_cost):,.2f}"
            assert own.effective_cost > 0
        if page == "roi":
            assert metric(fay, "Transactions") == "6"  # tenant-a's completed runs
            assert metric(fay, "Invoices posted") == "0"  # tenant-b posts the invoices


def test_asking_for_tenant_b_in_the_url_still_shows_only_tenant_a(
    fay: AppTest, shared: Store, world: World
) -> None:
    app = AppTest.from_file(MAIN, default_timeout=60)
    app.session_state["_flowmeter_user"] = fay.session_state["_flowmeter_user"]
    app.query_params.update({**period(world), "tenant": "tenant-b"})
    app.run()
    assert not app.exception
    for page in ("roi", "costs"):
        app.switch_page(f"views/{page}.py").run()
        shown = _everything(app)
        for mark in TENANT_B_MARKS[1:]:
            assert mark not in shown, f"{mark!r} leaked on {page}"
