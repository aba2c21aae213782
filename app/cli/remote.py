"""Local or remote: while ``flowmeter up`` holds the embedded store, store commands go
through its HTTP API instead of opening the store (which chDB would refuse).

``running_api()`` finds the running process through ``<data dir>/api.json``; with none, or
against a ClickHouse server, it answers None and the command opens the store itself. The
helpers below turn API answers back into what the in-process calls return, so a command
prints the same lines either way.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from app.api.client import ApiClient
from app.api.discovery import read_runtime_file
from models.costs import ImportResult
from models.settings import Settings, load_settings

__all__ = ["baseline_frame", "cost_frame", "cost_import_result", "running_api"]


def running_api(settings: Settings | None = None, *, actor: str | None = None) -> ApiClient | None:
    """The API of the process holding this data directory's embedded store, or None."""
    settings = settings or load_settings()
    if not settings.embedded:
        return None  # a ClickHouse server takes every process: work directly
    runtime = read_runtime_file(settings.data_dir)
    if runtime is None or runtime.pid == os.getpid():
        return None
    return ApiClient(runtime, actor=actor, tls_ca=settings.tls_cert)


def cost_import_result(answer: dict[str, Any]) -> ImportResult:
    """An ``ImportResult`` from the answer of POST /costs/import."""
    return ImportResult(
        rows=int(answer["rows"]),
        slices_written=[(a, datetime.fromisoformat(p)) for a, p in answer["slices_written"]],
        slices_unchanged=[(a, datetime.fromisoformat(p)) for a, p in answer["slices_unchanged"]],
        unallocated_rows=int(answer["unallocated_rows"]),
        billed_total={cur: Decimal(total) for cur, total in answer["billed_total"].items()},
    )


def cost_frame(client: ApiClient, first: date, last: date, by: str) -> pd.DataFrame:
    """GET /costs as the frame ``models.costs.attributed_costs`` returns (Decimal money)."""
    rows = client.get_rows("/costs", **{"from": first.isoformat(), "to": last.isoformat(),
                                         "by": by})  # fmt: skip
    columns = ["period_start", "period_end", by, "allocation_method", "currency",
               "billed_cost", "effective_cost"]  # fmt: skip
    for row in rows:
        row["period_start"] = date.fromisoformat(row["period_start"])
        row["period_end"] = date.fromisoformat(row["period_end"])
        row["billed_cost"] = Decimal(row["billed_cost"])
        row["effective_cost"] = Decimal(row["effective_cost"])
    return pd.DataFrame(rows, columns=columns)


def baseline_frame(client: ApiClient, workflow: str) -> pd.DataFrame:
    """GET /baselines as ``models.baselines.baseline_history`` returns it."""
    rows = client.get_rows("/baselines", workflow=workflow)
    for row in rows:
        for key in ("effective_from", "go_live_at", "changed_at"):
            if row.get(key):
                row[key] = datetime.fromisoformat(row[key])
    return pd.DataFrame(rows)


def upload(client: ApiClient, path: str, file: Path, **params: Any) -> Any:
    """POST ``file`` to ``path`` (booleans sent as true/false)."""
    plain = {k: ("true" if v else "false") if isinstance(v, bool) else v for k, v in params.items()}
    return client.upload(path, file, **plain)
