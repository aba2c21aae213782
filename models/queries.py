"""Named SQL queries: one ``sql/queries/<area>/<name>.sql`` file each, checked at load time.

Each file starts with a header of ``--`` comment lines::

    -- What the query answers, in one line.
    -- returns: column Type, column Type
    -- params: name Type, name Type        (or: params: none)
    SELECT ... WHERE x = {name:Type}

The loader refuses a file whose ``{name:Type}`` placeholders do not match its ``params:``
line (a missing, unused or differently typed parameter), and ``Query.bind`` refuses a call
whose arguments do not match. Values always travel as ClickHouse server-side parameters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from models.errors import QueryError

__all__ = ["Query", "all_queries", "get_query", "parse_query"]

_PLACEHOLDER = re.compile(r"\{(\w+):([^{}]+)\}")
_HEADER = re.compile(r"^--\s?(.*)$")


@dataclass(frozen=True)
class Query:
    """One named query: its SQL and the parameters it declares."""

    name: str
    description: str
    returns: str
    params: Mapping[str, str]
    sql: str

    @property
    def columns(self) -> list[str]:
        """Column names from the ``returns:`` line (types may hold commas inside brackets)."""
        names: list[str] = []
        depth, item = 0, ""
        for char in self.returns + ",":
            if char == "," and depth == 0:
                if item.strip():
                    names.append(item.split()[0])
                item = ""
                continue
            depth += char == "("
            depth -= char == ")"
            item += char
        return names

    def bind(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """Return the parameters for the server, or raise QueryError naming what is off."""
        missing = sorted(set(self.params) - set(arguments))
        unknown = sorted(set(arguments) - set(self.params))
        if missing or unknown:
            raise QueryError(
                f"query {self.name!r}: missing parameters {missing}, unknown parameters {unknown}"
            )
        return dict(arguments)


def parse_query(name: str, text: str) -> Query:
    """Parse one query file's text; raise QueryError when header and body disagree."""
    header: list[str] = []
    lines = text.splitlines()
    while lines and (match := _HEADER.match(lines[0].strip())):
        header.append(match.group(1).strip())
        lines.pop(0)
    body = "\n".join(lines).strip().rstrip(";").strip()
    if not header or not body:
        raise QueryError(f"query {name!r}: needs a '--' header and a statement")
    fields = {"returns": "", "params": ""}
    description: list[str] = []
    for line in header:
        key, sep, value = line.partition(":")
        if sep and key.strip() in fields:
            fields[key.strip()] = value.strip()
        else:
            description.append(line)
    if not fields["returns"]:
        raise QueryError(f"query {name!r}: the header has no 'returns:' line")
    declared: dict[str, str] = {}
    if fields["params"] and fields["params"].lower() != "none":
        for item in fields["params"].split(","):
            parts = item.strip().split(None, 1)
            if len(parts) != 2:
                raise QueryError(f"query {name!r}: bad 'params:' entry {item.strip()!r}")
            declared[parts[0]] = parts[1].strip()
    used: dict[str, str] = {}
    for param, type_name in _PLACEHOLDER.findall(body):
        if used.setdefault(param, type_name.strip()) != type_name.strip():
            raise QueryError(f"query {name!r}: parameter {param!r} is used with two types")
    if used != declared:
        missing = sorted(set(used) - set(declared))
        unused = sorted(set(declared) - set(used))
        retyped = sorted(p for p in set(used) & set(declared) if used[p] != declared[p])
        raise QueryError(
            f"query {name!r}: params header does not match the SQL "
            f"(undeclared {missing}, unused {unused}, type differs {retyped})"
        )
    return Query(name, " ".join(description), fields["returns"], declared, body)


@cache
def all_queries() -> dict[str, Query]:
    """Load and check every query under sql/queries (cached for the process)."""
    root = resources.files("sql") / "queries"
    found: dict[str, Query] = {}
    for area in sorted(root.iterdir(), key=lambda p: p.name):
        if not area.is_dir():
            continue
        for item in sorted(area.iterdir(), key=lambda p: p.name):
            if item.name.endswith(".sql"):
                name = f"{area.name}/{item.name[:-4]}"
                found[name] = parse_query(name, item.read_text(encoding="utf-8"))
    return found


def get_query(name: str) -> Query:
    """The named query ``area/name``; QueryError when there is none."""
    try:
        return all_queries()[name]
    except KeyError:
        raise QueryError(f"no query named {name!r} under sql/queries") from None
