"""A seeded store (and orchestrator state) for the view tests, viewed over fixed dates."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest

from models.db import Store
from models.migrations import migrate
from tests.app.conftest import use_store
from tests.app.seed import EngineWorld, World, seed, seed_engine
from tests.conftest import free_port


@pytest.fixture(scope="session")
def seeded(engine_dsn: str) -> Iterator[tuple[Store, World]]:
    """One seeded database shared by the view tests that only read it."""
    handle = Store(engine_dsn, database=f"t_seeded_{uuid.uuid4().hex[:8]}")
    migrate(handle)
    world = seed(handle)
    yield handle, world
    handle.close()


@pytest.fixture
def shared(
    seeded: tuple[Store, World], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Store]:
    """The shared seeded store as the app's store; orchestrator state in tmp_path; no
    receiver on the OTLP port (a replay's event is refused, never sent elsewhere)."""
    monkeypatch.setenv("FLOWMETER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FLOWMETER_OTLP_HTTP_PORT", str(free_port()))
    yield from use_store(seeded[0], monkeypatch)


@pytest.fixture
def world(shared: Store, seeded: tuple[Store, World]) -> World:
    """What the shared store holds (read-only)."""
    return seeded[1]


@pytest.fixture
def fresh_world(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Store, World]]:
    """A seeded store of this test's own, for tests that write to it."""
    monkeypatch.setenv("FLOWMETER_DATA_DIR", str(tmp_path / "data"))
    world = seed(store)
    for handle in use_store(store, monkeypatch):
        yield handle, world


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
