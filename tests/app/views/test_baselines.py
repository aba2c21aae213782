"""Baselines: history shown; a change is gated on the server side and recorded with a reason."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pandas as pd
import pytest

from app.access import Role, User
from app.actions import change_baseline
from models.baselines import baseline_history
from models.db import Store
from models.errors import PermissionDeniedError
from tests.app.conftest import open_app, texts
from tests.app.seed import World

CHANGE = {
    "manual_minutes": Decimal("15"), "hourly_rate": Decimal("70"),
    "manual_error_rate": Decimal("0.01"), "cost_per_error": Decimal("40"), "currency": "EUR",
}  # fmt: skip


def test_history_is_shown(shared: Store, world: World) -> None:
    app = open_app("baselines")
    assert not app.exception
    history = app.dataframe[1].value
    assert sorted(history["workflow"]) == ["invoice", "order-to-cash"]
    assert set(history["reason"]) == {"initial time study"}


def test_saving_a_new_version_from_the_page(fresh_world: tuple[Store, World]) -> None:
    store = fresh_world[0]
    app = open_app("baselines")
    app.text_area[0].input("new time study, Q4")
    next(b for b in app.button if b.label == "Save new version").click().run()
    assert not app.exception
    assert "baseline v2 saved by `local`" in texts(app)
    history = baseline_history(store, "invoice").sort_values("version")
    first, second = history["go_live_at"].iloc[0], history["go_live_at"].iloc[1]
    assert first == second  # the new version keeps the go-live date
    assert list(history["reason"]) == [
        "initial time study", "new time study, Q4"
    ]  # fmt: skip


def test_an_engineer_or_executive_cannot_change_a_baseline(shared: Store, world: World) -> None:
    for role in (Role.ENGINEER, Role.EXECUTIVE):
        with pytest.raises(PermissionDeniedError, match="may not baseline change"):
            change_baseline(shared, User("x", role), "invoice", reason="try", **CHANGE)  # type: ignore[arg-type]
    with pytest.raises(PermissionDeniedError, match="only an unrestricted"):
        change_baseline(shared, User("fay", Role.FINANCE, ("tenant-a",)), "invoice",
                        reason="try", **CHANGE)  # type: ignore[arg-type]  # fmt: skip
    assert len(baseline_history(shared, "invoice")) == 1  # nothing was written


def test_finance_changes_with_a_reason(fresh_world: tuple[Store, World]) -> None:
    store = fresh_world[0]
    saved = change_baseline(store, User("fin", Role.FINANCE), "invoice", reason="audit",
                            **CHANGE)  # type: ignore[arg-type]  # fmt: skip
    assert (saved.version, saved.changed_by) == (2, "fin")
    with pytest.raises(ValueError, match="--reason is required"):
        change_baseline(store, User("fin", Role.FINANCE), "invoice", reason=" ", **CHANGE)  # type: ignore[arg-type]


def test_empty_store_explains_what_a_baseline_is_for(current: Store) -> None:
    app = open_app("baselines")
    assert not app.exception
    assert "No baseline yet" in app.info[0].value


def test_a_recognized_workflow_is_listed_and_offered_first(
    fresh_world: tuple[Store, World],
) -> None:
    from tests.app.views.conftest import period

    store, world = fresh_world
    span_attributes = {"celery.task_name": "billing.charge", "workflow.name": "billing.charge",
                       "step.name": "billing.charge", "step.outcome": "ok",
                       "flowmeter.kind": "step", "flowmeter.source": "celery"}  # fmt: skip
    store.insert(
        "otel_traces",
        [[world.now - timedelta(hours=2), "ab" * 16, "cd" * 8, "run/billing.charge",
          "billing-worker", span_attributes, 5_000_000]],
        ["Timestamp", "TraceId", "SpanId", "SpanName", "ServiceName", "SpanAttributes",
         "Duration"],
    )  # fmt: skip
    app = open_app("baselines", **period(world))
    assert not app.exception
    seen = next(d.value for d in app.dataframe if "source" in d.value.columns)
    row = seen[seen["workflow"] == "billing.charge"].iloc[0]
    assert (row["source"], row["runs"]) == ("celery", 1)
    assert pd.isna(row["baseline_version"])
    pick = next(s for s in app.selectbox if s.label.startswith("Workflow (pick one"))
    assert pick.options[0] == "billing.charge"  # no baseline yet: offered first
