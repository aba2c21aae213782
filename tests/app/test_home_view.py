from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from models.db import Store, set_current_store

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "main.py")


@pytest.fixture
def current(store: Store) -> Iterator[Store]:
    set_current_store(store)
    yield store
    set_current_store(None)


def test_home_shows_an_empty_state(current: Store) -> None:
    app = AppTest.from_file(MAIN, default_timeout=60).run()
    assert not app.exception
    assert "store is empty" in app.info[0].value
    assert app.metric[0].value == "0"
