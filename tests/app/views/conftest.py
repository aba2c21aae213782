"""A seeded store (and orchestrator state) for the view tests, viewed over fixed dates."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path

import pytest

from models.db import Store
from tests.app.seed import EngineWorld, World, seed, seed_engine


@pytest.fixture
def world(current: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    """The seeded world in the app's store; the orchestrator state lives in tmp_path."""
    monkeypatch.setenv("FLOWMETER_DATA_DIR", str(tmp_path / "data"))
    return seed(current)


def period(world: World) -> dict[str, str]:
    """URL parameters for whole days covering everything seeded."""
    return {
        "from": (world.now - timedelta(days=3)).date().isoformat(),
        "to": world.now.date().isoformat(),
    }


def bounds(world: World) -> tuple[datetime, datetime]:
    """The [start, end) that ``period`` means."""
    start = datetime.combine((world.now - timedelta(days=3)).date(), time())
    return start, datetime.combine(world.now.date() + timedelta(days=1), time())


def metric(app, label: str) -> str:  # type: ignore[no-untyped-def]
    """The shown value of the metric tile with this label."""
    return str(next(m.value for m in app.metric if m.label == label))


@pytest.fixture
def engine_world(world: World, tmp_path: Path) -> EngineWorld:
    """Dead letters and a waiting approval in the orchestrator state the app reads."""
    (tmp_path / "data").mkdir(exist_ok=True)
    return seed_engine(f"sqlite:///{tmp_path / 'data' / 'orchestrator.db'}")
