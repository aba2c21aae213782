"""Values from telemetry and the URL show literally: never as a Markdown link or image.

Streamlit renders st.markdown, captions, alerts, headings and widget labels as Markdown
(CommonMark + GFM). Each test renders every such string of a real dashboard run with a
CommonMark renderer and checks that the hostile value is on the page as text, and that no
link or image came out of it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from models.db import Store
from tests.app.conftest import open_app, use_store
from tests.builders import log_event, run

LINK = "[x](http://evil)"
IMAGE = "![i](http://evil/p.png)"
RENDERER = MarkdownIt("commonmark")
# Element kinds whose text Streamlit shows verbatim (code, JSON, tables, plain text).
VERBATIM = {"Code", "Json", "Text", "Dataframe", "Arrow", "ArrowDataFrame", "Exception"}


def _markdown_sources(node: Any, out: list[str]) -> list[str]:
    """The body/label strings of every element that Streamlit renders as Markdown."""
    proto = getattr(node, "proto", None)
    if proto is not None and hasattr(proto, "ListFields") and type(node).__name__ not in VERBATIM:
        for field, value in proto.ListFields():
            if field.name in ("body", "label") and isinstance(value, str):
                out.append(value)
    children = getattr(node, "children", None)
    for child in (children or {}).values():
        _markdown_sources(child, out)
    return out


def _rendered(app: AppTest) -> tuple[str, str]:
    """(HTML, visible text) of every Markdown-rendered string of the run."""
    sources = _markdown_sources(app.main, []) + _markdown_sources(app.sidebar, [])
    markup = "\n".join(RENDERER.render(source) for source in sources)
    return markup, html.unescape(re.sub(r"<[^>]+>", "", markup))


def _assert_literal(app: AppTest, *values: str) -> None:
    assert not app.exception, app.exception
    markup, text = _rendered(app)
    assert "<a " not in markup and "<img " not in markup, markup
    for value in values:
        assert value in text, f"{value!r} is not shown literally"


@pytest.fixture
def hostile(store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[datetime]:
    """A run whose correlation id, entity id, workflow and tenant are Markdown links/images."""
    monkeypatch.setenv("FLOWMETER_DATA_DIR", str(tmp_path / "data"))
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    trace = run(
        store, now - timedelta(hours=1), LINK, tenant=IMAGE, outcome="dead_lettered",
        correlation=LINK, entity=IMAGE, steps=[("charge", "failed", 10.0)],
    )  # fmt: skip
    log_event(store, now - timedelta(hours=1), "dlq.quarantined",
              {"correlation.id": LINK, "workflow.name": LINK, "tenant.id": IMAGE}, trace)  # fmt: skip
    yield from (now for _ in use_store(store, monkeypatch))


def test_trace_explorer_shows_a_hostile_correlation_id_literally(hostile: datetime) -> None:
    app = open_app("traces", correlation=LINK)
    _assert_literal(app, f"Correlation {LINK}", f"tenant {IMAGE}")


def test_attribute_search_and_unknown_ids_show_literally(hostile: datetime) -> None:
    _assert_literal(open_app("traces", correlation=IMAGE + "-unknown"), IMAGE + "-unknown")
    _assert_literal(open_app("traces", attr=f"{LINK}={IMAGE}"), LINK, IMAGE)


def test_url_filter_values_show_literally_in_headers(hostile: datetime) -> None:
    app = open_app("health", workflow=LINK, tenant=IMAGE, range=LINK)
    _assert_literal(app, f"workflow: {LINK}", f"tenant: {IMAGE}", f"unknown range '{LINK}'")


def test_dead_letter_error_and_correlation_show_literally(
    hostile: datetime, tmp_path: Path
) -> None:
    from orchestrator.clock import VirtualClock
    from orchestrator.engine import Engine
    from orchestrator.state import open_store as open_state_store
    from tests.orchestrator import sample_flows  # noqa: F401  (registers the sample flows)

    (tmp_path / "data").mkdir(exist_ok=True)
    state = open_state_store(f"sqlite:///{tmp_path / 'data' / 'orchestrator.db'}")
    engine = Engine(state, clock=VirtualClock(start=hostile.timestamp()), seed=1)
    try:  # a poison payload dead-letters at once, with the correlation id it came with
        engine.submit("refund_flow", {"amount": IMAGE}, tenant_id="t", correlation_id=LINK)
        while engine.run_once("test") is not None:
            pass
    finally:
        engine.close()
    app = open_app("operations")
    _assert_literal(app, f"Trace of correlation {LINK}", "field 'amount' must be a number")
