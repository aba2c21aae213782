"""The KPI contract's JSON Schema: generated from ``KpiEvent``, published, kept compatible.

    python -m models.kpi_schema            write models/contracts/kpi_event.v<N>.schema.json
    python -m models.kpi_schema --check    exit 1 when that file is stale, or the model breaks
                                           backward compatibility with the latest published
                                           revision of its schema version
    python -m models.kpi_schema --publish  write it, and keep a copy as the next published
                                           revision (models/contracts/published/
                                           kpi_event.v<N>.<R>.schema.json) when it changed

Published revisions are never edited or deleted: they are what producers were promised.
A compatible change (a new optional field, a wider type, a new enum value) is published as
the next revision of the same version. A deliberate break needs a new ``schema_version``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from models.errors import KpiContractError
from models.kpi import SCHEMA_VERSION, KpiEvent
from models.schema_compat import breaking_changes

__all__ = [
    "CONTRACTS_DIR",
    "CURRENT_SCHEMA",
    "PUBLISHED_DIR",
    "contract_problems",
    "kpi_json_schema",
    "latest_published",
    "main",
    "publish",
    "published_revisions",
    "render",
]

CONTRACTS_DIR = Path(__file__).resolve().parent / "contracts"
PUBLISHED_DIR = CONTRACTS_DIR / "published"
CURRENT_SCHEMA = CONTRACTS_DIR / f"kpi_event.v{SCHEMA_VERSION}.schema.json"
_REVISION = re.compile(r"^kpi_event\.v(\d+)\.(\d+)\.schema\.json$")


def kpi_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one KPI event, as the model validates it."""
    schema = KpiEvent.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:flowmeter:kpi_event:v{SCHEMA_VERSION}",
        **schema,
    }


def render(schema: dict[str, Any]) -> str:
    """The schema as committed: 2-space JSON with a trailing newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def published_revisions(directory: Path = PUBLISHED_DIR) -> list[tuple[int, int, Path]]:
    """Every published revision as (schema version, revision, path), oldest first."""
    found = []
    for path in directory.glob("kpi_event.v*.schema.json"):
        match = _REVISION.match(path.name)
        if match:
            found.append((int(match.group(1)), int(match.group(2)), path))
    return sorted(found)


def latest_published(
    version: int = SCHEMA_VERSION, directory: Path = PUBLISHED_DIR
) -> tuple[int, dict[str, Any]] | None:
    """The newest published revision of ``version`` and its schema, or None."""
    revisions = [(r, p) for v, r, p in published_revisions(directory) if v == version]
    if not revisions:
        return None
    revision, path = revisions[-1]
    return revision, json.loads(path.read_text(encoding="utf-8"))


def contract_problems(
    current_file: Path = CURRENT_SCHEMA, directory: Path = PUBLISHED_DIR
) -> list[str]:
    """What stops the contract from shipping: a stale committed schema, breaking changes."""
    problems: list[str] = []
    expected = render(kpi_json_schema())
    if not current_file.is_file():
        problems.append(f"{current_file.name} is missing: run python -m models.kpi_schema")
    elif current_file.read_text(encoding="utf-8") != expected:
        problems.append(
            f"{current_file.name} is out of date with models/kpi.py: "
            "run python -m models.kpi_schema and commit the result"
        )
    latest = latest_published(directory=directory)
    if latest is not None:
        revision, published = latest
        problems.extend(
            f"breaks v{SCHEMA_VERSION}.{revision}: {change}"
            for change in breaking_changes(published, kpi_json_schema())
        )
    return problems


def publish(directory: Path = PUBLISHED_DIR) -> Path | None:
    """Keep the current schema as the next published revision; None when unchanged.

    Raises KpiContractError when the schema breaks the latest published revision.
    """
    schema = kpi_json_schema()
    latest = latest_published(directory=directory)
    if latest is not None:
        revision, published = latest
        breaks = breaking_changes(published, schema)
        if breaks:
            raise KpiContractError(
                f"refusing to publish a change that breaks v{SCHEMA_VERSION}.{revision}: "
                + "; ".join(breaks)
            )
        if published == schema:
            return None
        next_revision = revision + 1
    else:
        next_revision = 0
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"kpi_event.v{SCHEMA_VERSION}.{next_revision}.schema.json"
    target.write_text(render(schema), encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> int:
    """Command line entry: write, check or publish the KPI contract's JSON Schema."""
    parser = argparse.ArgumentParser(prog="python -m models.kpi_schema", description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="fail when stale or breaking")
    mode.add_argument("--publish", action="store_true", help="also publish a new revision")
    args = parser.parse_args(argv)
    if args.check:
        problems = contract_problems()
        for problem in problems:
            print(problem, file=sys.stderr)
        if not problems:
            print(f"{CURRENT_SCHEMA.name} is up to date and backward compatible")
        return 1 if problems else 0
    CURRENT_SCHEMA.parent.mkdir(parents=True, exist_ok=True)
    CURRENT_SCHEMA.write_text(render(kpi_json_schema()), encoding="utf-8")
    print(f"wrote {CURRENT_SCHEMA}")
    if args.publish:
        try:
            published = publish()
        except KpiContractError as exc:
            print(exc, file=sys.stderr)
            return 1
        print(f"published {published}" if published else "unchanged since the last revision")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
