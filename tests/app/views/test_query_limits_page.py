"""A page whose reads exceed the dashboard's limits says which setting stopped it."""

from __future__ import annotations

import pytest

from app import data
from models.db import ReadLimits, Store
from tests.app.conftest import open_app
from tests.app.seed import World
from tests.app.views.conftest import period


def test_a_page_over_the_row_limit_names_the_setting_instead_of_failing(
    shared: Store, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    tight = ReadLimits(max_result_rows=1, rows_setting="FLOWMETER_DASHBOARD_MAX_ROWS=1")
    monkeypatch.setattr(data, "LIMITS", tight)  # the seeded world has two tenants, many spans
    app = open_app("traces", correlation=world.dead_correlation, **period(world))
    assert not app.exception
    assert (
        "returns more than 1 rows \\(FLOWMETER\\_DASHBOARD\\_MAX\\_ROWS=1\\)" in app.error[0].value
    )
