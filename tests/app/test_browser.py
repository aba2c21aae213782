"""Every view in a real browser: `flowmeter up` on a seeded data dir, headless Chromium.

The store is seeded by a subprocess (tests/app/seed_store.py) and then served by
`flowmeter up`; screenshots land in test-artifacts/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, free_port

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]  # fmt: skip
ERROR_SELECTORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"
    ),
]


@dataclass(frozen=True)
class Served:
    url: str
    world: dict[str, Any]


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWMETER_", "OTEL_"))}
    env.update(
        FLOWMETER_DATA_DIR=str(data_dir),
        FLOWMETER_UI_PORT=str(free_port()),
        FLOWMETER_OTLP_HTTP_PORT=str(free_port()),
        FLOWMETER_OTLP_GRPC_PORT=str(free_port()),
        FLOWMETER_API_PORT=str(free_port()),
        OTEL_SDK_DISABLED="true",
    )
    return env


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    env = _env(tmp_path_factory.mktemp("browser") / "data")
    seeded = subprocess.run(
        [sys.executable, "-m", "tests.app.seed_store"], env=env, cwd=REPO,
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert seeded.returncode == 0, seeded.stderr
    world = json.loads(seeded.stdout.strip().splitlines()[-1].removeprefix("SEEDED "))
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "up"], env=env, cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    for line in process.stdout:  # Streamlit prints its URL once the server listens
        if "URL:" in line:
            break
    else:
        pytest.fail(f"flowmeter up exited with {process.wait()} before serving")
    yield Served(f"http://127.0.0.1:{env['FLOWMETER_UI_PORT']}", world)
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 2000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def _period(served: Served) -> str:
    now = datetime.fromisoformat(served.world["now"])
    return f"from={(now - timedelta(days=3)).date()}&to={now.date()}"


def _open(page: Any, served: Served, path: str, title: str, query: str = "") -> None:
    page.goto(f"{served.url}/{path}?{query or _period(served)}")
    page.get_by_role("heading", name=title).first.wait_for()
    _settled(page)
    assert page.locator(ERROR_SELECTORS).count() == 0, page.locator(
        ERROR_SELECTORS
    ).first.inner_text()
    assert "Traceback" not in page.content()


SETTLED = """() => !document.querySelector(
    '[data-testid="stStatusWidgetRunningIcon"], [data-testid="stStatusWidgetRunningManIcon"],'
    + '[data-testid="stSkeleton"], [data-testid="stSkeletonElement"], [data-testid="stAppSkeleton"]'
)"""


def _settled(page: Any) -> None:
    """Wait until the script run finished and no element is still a loading placeholder."""
    page.wait_for_function(SETTLED)


def _shot(page: Any, name: str) -> None:
    _settled(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize(
    ("path", "title", "expected", "charts"),
    [
        ("", "Executive ROI", "Business outcomes", 3),
        ("health", "System Health", "Per workflow, against the SLO", 1),
        ("costs", "Cost Attribution", "Unit cost per transaction", 0),
        ("operations", "Operations", "Inspect a dead letter", 0),
        ("baselines", "Baselines", "In effect now", 0),
        ("traces", "Trace Explorer", "Search by a correlation ID", 0),
        ("alerts", "Alerts", "Silence or acknowledge", 0),
    ],
)
def test_every_view_renders(
    page: Any, served: Served, path: str, title: str, expected: str, charts: int
) -> None:
    _open(page, served, path, title)
    page.get_by_text(expected).first.wait_for()
    if charts:
        page.locator(".js-plotly-plot .main-svg").nth(charts - 1).wait_for()
    assert "Open access" in page.content()
    _shot(page, path or "roi")


def test_trace_explorer_from_a_search(page: Any, served: Served) -> None:
    _open(page, served, "traces", "Trace Explorer")
    page.get_by_label("Value").fill(served.world["dead_correlation"])
    page.get_by_role("button", name="Search").click()
    page.get_by_text(f"Trace {served.world['dead_trace']}").wait_for()
    page.locator(".js-plotly-plot .main-svg").first.wait_for()
    assert "corr-dead-1" in page.url  # the search is a shareable link
    page.get_by_role("tab", name="Dead letters and replays (1)").click()
    page.get_by_text("retries_exhausted").first.wait_for(state="attached")
    _shot(page, "traces-drilldown")


def test_health_links_into_the_trace_explorer(page: Any, served: Served) -> None:
    _open(page, served, "health", "System Health", _period(served) + "&workflow=order-to-cash")
    page.get_by_role("link", name="failed of").first.click()
    page.get_by_role("heading", name="Trace Explorer").wait_for()
    page.get_by_text("spans with workflow.name = order-to-cash").wait_for()  # code spans
    _shot(page, "health-to-traces")


def test_cost_csv_downloads_and_reconciles(page: Any, served: Served, tmp_path: Path) -> None:
    _open(page, served, "costs", "Cost Attribution")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="CSV", exact=True).click()
    target = tmp_path / "costs.csv"
    download_info.value.save_as(target)
    text = target.read_text(encoding="utf-8-sig")
    assert text.startswith("period_start,period_end,tenant")
    total = sum(float(line.split(",")[-1]) for line in text.strip().splitlines()[1:])
    assert round(total, 2) == 1324.56
