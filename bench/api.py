"""HTTP API speed at 10M spans: ROI and cost endpoints vs the same model calls, and the CLI's
overhead through the API vs opening the store itself, all measured in the same run.

Reuses the store that bench/queries.py builds (2M runs = 10M spans over 30 days; building it
takes several minutes the first time):

    .venv/bin/python bench/api.py --store /tmp/api-bench-10m [--repeat 40] [--cli-repeat 5]

1. The API service (uvicorn, as ``flowmeter up`` runs it) serves the loaded store; each
   endpoint and its direct model call (what bench/queries.py times) run ``--repeat`` times,
   alternating, over one keep-alive connection; median and p95 of each, and the ratio.
2. ``flowmeter export costs`` and ``flowmeter sql`` run as subprocesses ``--cli-repeat``
   times while the API holds the store (the CLI goes through it), then again after the API
   and the store are closed (the CLI opens the store itself).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from queries import DAYS, START, TARGET_DASHBOARD_MS, loadavg, open_store

from app.api.service import ApiService
from models import costs, roi_report
from models.db import Store
from models.settings import load_settings

TOKEN = "bench-admin-token-0123456789"
FLOWMETER = [sys.executable, "-m", "app.cli"]


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def timed_pair(
    direct: Callable[[], Any], over_api: Callable[[], Any], repeat: int
) -> tuple[list[float], list[float]]:
    """Alternate the two so load on the shared machine hits both alike (one warm run each)."""
    direct(), over_api()
    a, b = [], []
    for _ in range(repeat):
        begin = time.perf_counter()
        direct()
        a.append((time.perf_counter() - begin) * 1000)
        begin = time.perf_counter()
        over_api()
        b.append((time.perf_counter() - begin) * 1000)
    return a, b


class Client:
    """One keep-alive connection, as a BI tool or script would hold."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname or "", parts.port)

    def get(self, path: str, **params: str) -> Any:
        self.connection.request("GET", f"/api/v1{path}?{urlencode(params)}",
                                headers={"authorization": f"Bearer {TOKEN}"})  # fmt: skip
        response = self.connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"GET {path}: {response.status} {body[:300]!r}")
        return json.loads(body)


def cli_times(args: list[str], env: dict[str, str], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        begin = time.perf_counter()
        done = subprocess.run([*FLOWMETER, *args], env=env, capture_output=True, text=True,
                              check=False)  # fmt: skip
        samples.append((time.perf_counter() - begin) * 1000)
        if done.returncode != 0:
            raise SystemExit(f"flowmeter {' '.join(args)} failed: {done.stderr[-500:]}")
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True, help="bench/queries.py's --store")
    parser.add_argument("--runs", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--cli-repeat", type=int, default=5)
    args = parser.parse_args()
    directory = args.store.resolve()
    store = open_store(directory, args.runs, 250_000)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWMETER_")}
    env.update(FLOWMETER_DATA_DIR=str(directory), FLOWMETER_API_PORT="0",
               FLOWMETER_API_TOKENS=f"{TOKEN}=admin:*",
               FLOWMETER_OTLP_HTTP_PORT="1")  # fmt: skip
    settings = load_settings(env=env)
    assert settings.clickhouse_dsn == store.dsn, (settings.clickhouse_dsn, store.dsn)
    service = ApiService(settings, store)
    service.start()
    client = Client(service.url)

    end = START + timedelta(days=DAYS)
    first, last = START.date(), (end - timedelta(days=1)).date()  # inclusive, as the API takes
    period = {"from": first.isoformat(), "to": last.isoformat()}
    d1 = last + timedelta(days=1)
    cases: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
        ("ROI report, 30 d", lambda: roi_report.roi_report(store, START, end),
         lambda: client.get("/roi", **period)),
        ("cost by tenant (allocated), 30 d", lambda: costs.attributed_costs(store, first, d1),
         lambda: client.get("/costs", **period)),
        ("cost by workflow (allocated), 30 d",
         lambda: costs.attributed_costs(store, first, d1, by="workflow"),
         lambda: client.get("/costs", **period, by="workflow")),
    ]  # fmt: skip
    # the API answers what the model computes
    api_total = sum(float(r["effective_cost"]) for r in client.get("/costs", **period)["rows"])
    model_total = float(costs.attributed_costs(store, first, d1)["effective_cost"].sum())
    assert abs(api_total - model_total) < 1e-6, (api_total, model_total)

    print(f"\nAPI at {args.runs * 5:,} spans, {args.repeat} timed runs each, alternating "
          f"({loadavg()})")  # fmt: skip
    print(f"{'query':<38}{'direct med':>11}{'p95':>8}{'API med':>10}{'p95':>8}{'p95 ratio':>11}"
          "  target")  # fmt: skip
    for label, direct, over_api in cases:
        a, b = timed_pair(direct, over_api, args.repeat)
        verdict = "ok" if p95(b) <= TARGET_DASHBOARD_MS else "MISS"
        print(f"{label:<38}{statistics.median(a):>11.1f}{p95(a):>8.1f}{statistics.median(b):>10.1f}"
              f"{p95(b):>8.1f}{p95(b) / p95(a):>10.2f}x  {verdict} (API p95<="
              f"{TARGET_DASHBOARD_MS:.0f} ms)", flush=True)  # fmt: skip
    print(f"after API timing: {loadavg()}")

    with tempfile.TemporaryDirectory(prefix="api-bench-") as folder:
        export = ["export", "costs", "--from", period["from"], "--to", period["to"], "-o",
                  str(Path(folder) / "costs.csv")]  # fmt: skip
        commands = {"export costs, 30 d": export,
                    "sql SELECT count() FROM cost_records": ["sql",
                                                             "SELECT count() FROM cost_records"]}  # fmt: skip
        through_api: dict[str, list[float]] = {name: [] for name in commands}
        direct_cli: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.cli_repeat):  # alternate: the machine's load hits both alike
            assert (directory / "api.json").exists()
            for name, cmd in commands.items():
                through_api[name] += cli_times(cmd, env, 1)
            service.stop(5.0)
            store.close()
            assert not (directory / "api.json").exists()
            for name, cmd in commands.items():
                direct_cli[name] += cli_times(cmd, env, 1)
            store = Store(settings.clickhouse_dsn)
            service = ApiService(settings, store)
            service.start()
        service.stop(5.0)
        store.close()
    print(f"\nCLI wall time per command, {args.cli_repeat} runs each ({loadavg()})")
    print(f"{'command':<40}{'direct med':>11}{'via API med':>13}{'overhead':>10}{'ratio':>8}")
    for name in commands:
        a, b = statistics.median(direct_cli[name]), statistics.median(through_api[name])
        print(f"{name:<40}{a:>11.0f}{b:>13.0f}{b - a:>+10.0f}{b / a:>7.2f}x")
    print("direct = the CLI opens the embedded store itself (up stopped); via API = `flowmeter up`"
          " holds the store and the CLI goes through its API. Milliseconds.")  # fmt: skip


if __name__ == "__main__":
    main()
