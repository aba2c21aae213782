"""FOCUS import speed: validation and the atomic store vs parsing alone and a raw insert.

Builds a CSV of N rows by repeating the FinOps Foundation FOCUS 1.0 sample (each copy in its
own billing account, so slices are realistic), then times in the same run:
  - parse: pandas reading the file as text (the floor any CSV importer pays),
  - validate: ``read_focus`` (parse + mapping + per-row validation),
  - raw insert: the validated rows inserted into ``cost_records`` in one go, no slices,
  - import: ``import_cost_file`` (validate + per-slice stage, commit, sweep),
and prints each figure, rows/s and the ratios. The load average is printed, as the machine
may be shared.

    .venv/bin/python bench/focus_import.py [--copies 50]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models.costs import import_cost_file
from models.db import Store
from models.focus import read_focus
from models.migrations import migrate

SAMPLE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "focus"
KEYS = ("application", "environment", "business_unit")


def build(path: Path, copies: int) -> int:
    lines = (SAMPLE / "focus_1.0_sample.csv").read_text(encoding="utf-8").splitlines()
    header, body = lines[0], lines[1:]
    with path.open("w", encoding="utf-8") as out:
        out.write(header + "\n")
        for copy in range(copies):
            for line in body:  # BillingAccountId is the 3rd column, always quoted in the sample
                head, account, tail = line.split('"', 2)[0], *line.split('"', 2)[1:]
                out.write(f'{head}"{account}-{copy}"{tail}\n')
    return copies * len(body)


def timed(label: str, call: object) -> float:
    began = time.perf_counter()
    call()  # type: ignore[operator]
    seconds = time.perf_counter() - began
    print(f"  {label:<12} {seconds:8.2f} s", flush=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="focus-bench-") as folder:
        path = Path(folder) / "focus.csv"
        rows = build(path, args.copies)
        print(f"{rows:,} rows, {path.stat().st_size / 1e6:.1f} MB; load {os.getloadavg()[0]:.2f}")
        parse = timed("parse", lambda: pd.read_csv(path, dtype=str, keep_default_na=False))
        validated: list[object] = []
        validate = timed("validate", lambda: validated.append(read_focus(path, tag_keys=KEYS)))
        store = Store(f"chdb://{folder}/store", database="bench")
        migrate(store)
        cost_rows = validated[0][0]  # type: ignore[index]
        columns = list(cost_rows.columns)
        data = [cost_rows.columns[c] for c in columns]
        raw = timed(
            "raw insert",
            lambda: store.insert("cost_records", data, columns, column_oriented=True),
        )
        store.ddl("TRUNCATE TABLE cost_records")
        store.ddl("TRUNCATE TABLE cost_daily")
        full = timed("import", lambda: import_cost_file(store, path, tag_keys=KEYS))
        again = timed("re-import", lambda: import_cost_file(store, path, tag_keys=KEYS))
        store.close()
        print(f"load {os.getloadavg()[0]:.2f}")
        print(f"validate: {rows / validate:,.0f} rows/s, {validate / parse:.1f}x parsing alone")
        store_part = full - validate
        print(
            f"store (import - validate): {store_part:.2f} s, {store_part / raw:.1f}x a raw insert"
        )
        print(f"import: {rows / full:,.0f} rows/s; re-import (unchanged): {again:.2f} s")


if __name__ == "__main__":
    main()
