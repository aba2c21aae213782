"""Read endpoints: 401 without a token, 403 for a role the dashboard would not show the page,
and a tenant-limited token never sees another tenant's rows."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from models.costs import attributed_costs
from tests.app.api.conftest import (
    ADMIN,
    ENG_A,
    ENG_ALL,
    ENG_B,
    EXEC_A,
    FIN_A,
    FIN_ALL,
    TENANT_B_MARKS,
    Api,
)

PERIODIC = ["/workflows", "/roi", "/kpis", "/health", "/costs"]
ALL_READS = [*PERIODIC, "/baselines", "/dead-letters", "/approvals", "/audit"]
# endpoint -> a token whose role may not read it (None: every role may)
WRONG_ROLE = {
    "/workflows": FIN_A, "/roi": None, "/kpis": None, "/health": FIN_A, "/costs": ENG_A,
    "/baselines": None, "/dead-letters": EXEC_A, "/approvals": FIN_ALL, "/audit": EXEC_A,
}  # fmt: skip
# endpoint -> (a tenant-a token that may read it, what only tenant-b's rows hold)
TENANT_A_READER = {
    "/workflows": (EXEC_A, '"workflow":"invoice"'), "/roi": (FIN_A, '"workflow":"invoice"'),
    "/kpis": (EXEC_A, "invoice_posted"), "/health": (ENG_A, '"key":"invoice"'),
    "/costs": (FIN_A, "tenant-b"), "/dead-letters": (ENG_A, "tenant-b"),
}  # fmt: skip


def _params(api: Api, path: str) -> dict[str, str]:
    return dict(api.period) if path in PERIODIC else {}


@pytest.mark.parametrize("path", ALL_READS)
def test_no_or_unknown_token_is_401(api: Api, path: str) -> None:
    for token in (None, "not-a-token", ADMIN[:-1]):
        reply = api.get(path, token, **_params(api, path))
        assert reply.status == 401, (path, token)
        assert reply.json()["type"] == "AuthenticationError"
    assert api.get(path, ADMIN, **_params(api, path)).status == 200


@pytest.mark.parametrize("path", [p for p, token in WRONG_ROLE.items() if token])
def test_a_role_that_may_not_read_is_403(api: Api, path: str) -> None:
    reply = api.get(path, WRONG_ROLE[path], **_params(api, path))
    assert reply.status == 403
    assert "may not read" in reply.json()["error"]


@pytest.mark.parametrize("path", list(TENANT_A_READER))
def test_tenant_a_token_never_sees_tenant_b(api: Api, path: str) -> None:
    token, b_only = TENANT_A_READER[path]
    everything = api.get(path, ADMIN, **_params(api, path))
    assert everything.status == 200
    assert b_only in everything.body.decode(), f"the seed has tenant-b rows for {path}"
    own = api.get(path, token, **_params(api, path))
    assert own.status == 200 and own.json()["rows"], path
    shown = own.body.decode()
    for mark in (b_only, *TENANT_B_MARKS):
        assert mark not in shown, f"{mark!r} leaked through {path}"
    asked = api.get(path, token, tenant="tenant-b", **_params(api, path))
    assert asked.status == 403 and "tenant-b" in asked.json()["error"]


def test_approvals_only_of_the_tokens_tenants(api: Api) -> None:
    waiting = api.engine.waiting_run
    assert waiting in api.get("/approvals", ENG_A).body.decode()
    assert waiting in api.get("/approvals", ADMIN).body.decode()
    assert api.get("/approvals", ENG_B).json()["rows"] == []


def test_costs_answer_decimal_strings_equal_to_the_model(api: Api) -> None:
    reply = api.get("/costs", FIN_A, **api.period, by="tenant")
    rows = reply.json()["rows"]
    assert {r["tenant"] for r in rows} == {"tenant-a"}
    start, end = api.period["from"], api.period["to"]
    from datetime import date, timedelta

    expected = attributed_costs(
        api.service.state.store, date.fromisoformat(start),
        date.fromisoformat(end) + timedelta(days=1), by="tenant", tenants=("tenant-a",),
    )  # fmt: skip
    assert all(isinstance(r["effective_cost"], str) for r in rows)
    assert sum(Decimal(r["effective_cost"]) for r in rows) == expected["effective_cost"].sum()
    assert sum(Decimal(r["billed_cost"]) for r in rows) > 0
    by_workflow = api.get("/costs", FIN_ALL, **api.period, by="workflow").json()["rows"]
    assert {"order-to-cash", "invoice"} <= {r["workflow"] for r in by_workflow}


def test_csv_by_query_or_accept_header(api: Api) -> None:
    path = "/api/v1/costs?from={from}&to={to}".format(**api.period)
    by_query = api.call("GET", path + "&format=csv", FIN_A)
    by_accept = api.call("GET", path, FIN_A, headers={"accept": "text/csv"})
    assert by_query.content_type.startswith("text/csv")
    assert by_query.body == by_accept.body
    rows = list(csv.DictReader(io.StringIO(by_query.body.decode())))
    assert rows and {r["tenant"] for r in rows} == {"tenant-a"}
    assert (
        rows[0]["effective_cost"]
        == api.get("/costs", FIN_A, **api.period).json()["rows"][0]["effective_cost"]
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"to": "2026-01-31"}, "from"),
        ({"from": "2026-01-01"}, "to"),
        ({"from": "2026-13-01", "to": "2026-01-31"}, "from"),
        ({"from": "2026-02-01", "to": "2026-01-31"}, "to"),
        ({"from": "2026-01-01", "to": "2026-01-31", "by": "galaxy"}, "by"),
        ({"from": "2026-01-01", "to": "2026-01-31", "format": "xml"}, "format"),
    ],
)
def test_bad_input_is_400_naming_the_field(api: Api, query: dict[str, str], field: str) -> None:
    reply = api.get("/costs", ADMIN, **query)
    assert reply.status == 400
    assert reply.json()["field"] == field and reply.json()["error"].startswith(f"{field}:")


def test_dead_letter_detail_is_tenant_checked_and_redacted(api: Api) -> None:
    own = api.get(f"/dead-letters/{api.engine.dead_letter_a}", ENG_A)
    assert own.status == 200
    letter = own.json()["rows"][0]
    assert letter["tenant_id"] == "tenant-a"
    assert "ann@example.com" not in own.body.decode()  # redacted like the dashboard
    assert api.get(f"/dead-letters/{api.engine.dead_letter_a}", ENG_B).status == 403
    assert api.get("/dead-letters/99999", ENG_ALL).status == 404
    bad = api.get("/dead-letters/abc", ENG_ALL)
    assert bad.status == 400 and bad.json()["field"] == "dead_letter_id"


def test_openapi_document_lists_the_endpoints(api: Api) -> None:
    document = api.get("/openapi.json").json()
    paths = set(document["paths"])
    for path in [*ALL_READS, "/costs/import", "/kpis/import", "/baselines/{workflow}",
                 "/dead-letters/{dead_letter_id}/replay", "/approvals/{run_id}", "/sql"]:  # fmt: skip
        assert f"/api/v1{path}" in paths
    assert any(s.get("scheme") == "bearer"
               for s in document["components"]["securitySchemes"].values())  # fmt: skip
