"""Write endpoints: the dashboard's role and tenant checks before anything changes."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

from app.api.service import ApiService
from models.settings import load_settings
from tests.app.api.conftest import ADMIN, ENG_A, ENG_ALL, ENG_B, EXEC_A, FIN_A, FIN_ALL, Api
from tests.app.seed import FOCUS_HEADER

BASELINE = {"manual_minutes": "7", "hourly_rate": "55", "currency": "EUR",
            "reason": "new time study"}  # fmt: skip


def _focus(cost: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(FOCUS_HEADER)
    writer.writerow(["acct-api", "EUR", "2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z",
                     "2026-05-02T00:00:00Z", "2026-05-03T00:00:00Z", cost, cost, cost, cost,
                     "Usage", "Compute", "AWS", json.dumps({"tenant": "tenant-a"})])  # fmt: skip
    return buffer.getvalue().encode()


def test_cost_import_needs_finance_or_admin_for_every_tenant(api: Api) -> None:
    path = "/api/v1/costs/import?filename=bill.csv"
    for token, status in ((None, 401), (EXEC_A, 403), (ENG_ALL, 403), (FIN_A, 403)):
        assert api.call("POST", path, token, data=_focus("3.25")).status == status, token
    done = api.call("POST", path, FIN_ALL, data=_focus("3.25"))
    assert done.status == 200, done.body
    assert done.json()["rows"] == 1 and done.json()["billed_total"] == {"EUR": "3.25"}
    again = api.call("POST", path, ADMIN, data=_focus("3.25")).json()
    assert again["rows"] == 0 and len(again["slices_unchanged"]) == 1
    # only May: the seeded December costs stay out (the range applies to whole-period reports)
    costs = api.get("/costs", FIN_ALL, **{"from": "2026-05-01", "to": "2026-05-31"})
    assert [Decimal(r["effective_cost"]) for r in costs.json()["rows"]] == [Decimal("3.25")]


def test_cost_import_refuses_bad_files_and_names(api: Api) -> None:
    bad = api.call("POST", "/api/v1/costs/import?filename=bill.csv", FIN_ALL,
                   data=_focus("three"))  # fmt: skip
    assert bad.status == 400 and "BilledCost 'three' is not a number" in bad.json()["error"]
    sneaky = api.call("POST", "/api/v1/costs/import?filename=../x.csv", FIN_ALL,
                      data=_focus("1"))  # fmt: skip
    assert sneaky.status == 400 and sneaky.json()["field"] == "filename"
    empty = api.call("POST", "/api/v1/costs/import?filename=bill.csv", FIN_ALL, data=b"")
    assert empty.status == 400 and empty.json()["field"] == "body"
    unnamed = api.call("POST", "/api/v1/costs/import", FIN_ALL, data=_focus("1"))
    assert unnamed.status == 400 and unnamed.json()["field"] == "filename"


def _kpi_csv(tenant: str) -> bytes:
    return ("event_id,ts,kpi,value,tenant_id\n"
            f"api-{tenant}-1,2026-05-02T10:00:00Z,api_posted,1,{tenant}\n").encode()  # fmt: skip


def test_kpi_import_stamps_a_one_tenant_token_on_every_event(api: Api) -> None:
    path = "/api/v1/kpis/import?filename=kpi.csv"
    assert api.call("POST", path, EXEC_A, data=_kpi_csv("tenant-b")).status == 403
    done = api.call("POST", path, ENG_A, data=_kpi_csv("tenant-b"))
    assert done.status == 200, done.body
    assert done.json()["written"] == 1
    period = {"from": "2026-05-01", "to": "2026-05-31"}
    for_b = api.get("/kpis", ADMIN, tenant="tenant-b", **period).json()["rows"]
    for_a = api.get("/kpis", ADMIN, tenant="tenant-a", **period).json()["rows"]
    assert [r["kpi"] for r in for_a] == ["api_posted"] and for_b == []
    other = api.call("POST", path + "&tenant=tenant-b", ENG_A, data=_kpi_csv("x"))
    assert other.status == 403
    broken = api.call("POST", path, ENG_ALL, data=b"event_id,ts,kpi\nx,yesterday,k\n")
    assert broken.status == 400 and broken.json()["bad"][0]["line"] == 2


def test_baseline_changes_need_an_unrestricted_finance_or_admin(api: Api) -> None:
    path = "/api/v1/baselines/invoice"
    for token, status in ((None, 401), (ENG_ALL, 403), (EXEC_A, 403), (FIN_A, 403)):
        assert api.call("POST", path, token, body=BASELINE).status == status, token
    done = api.call("POST", path, FIN_ALL, body=BASELINE)
    assert done.status == 200, done.body
    history = api.get("/baselines", EXEC_A, workflow="invoice").json()["rows"]
    assert history[-1]["version"] == done.json()["version"] == 2
    assert history[-1]["changed_by"].startswith("api-token:")
    assert history[-1]["manual_minutes"] == "7.0000"
    bad = api.call("POST", path, FIN_ALL, body={**BASELINE, "manual_minutes": "-1"})
    assert bad.status == 400 and "--manual-minutes must be above 0" in bad.json()["error"]
    missing = api.call("POST", path, FIN_ALL, body={"currency": "EUR"})
    assert missing.status == 400 and missing.json()["field"] == "manual_minutes"


def test_replay_is_role_and_tenant_checked_and_audited(api: Api) -> None:
    letter = api.engine.dead_letter_a
    path = f"/api/v1/dead-letters/{letter}/replay"
    for token, status in ((None, 401), (EXEC_A, 403), (FIN_ALL, 403), (ENG_B, 403)):
        assert api.call("POST", path, token, body={"reason": "x"}).status == status, token
    empty = api.call("POST", path, ENG_A, body={"reason": " "})
    assert empty.status == 400 and "reason" in empty.json()["error"]
    done = api.call("POST", path, ENG_A, body={"reason": "payments back"})
    assert done.status == 200, done.body
    assert done.json()["dead_letter"]["replay_reason"] == "payments back"
    again = api.call("POST", path, ENG_A, body={"reason": "twice"})
    assert again.status == 409 and again.json()["type"] == "ReplayRefusedError"
    seen_by_a = api.get("/audit", ENG_A).json()["rows"]
    assert [r["target"] for r in seen_by_a if r["action"] == "dlq.replay"] == [str(letter)]
    assert api.get("/audit", ENG_B).json()["rows"] == []


def test_approval_is_role_and_tenant_checked(api: Api) -> None:
    path = f"/api/v1/approvals/{api.engine.waiting_run}"
    body = {"decision": "approve", "reason": "within budget"}
    for token, status in ((None, 401), (FIN_ALL, 403), (ENG_B, 403)):
        assert api.call("POST", path, token, body=body).status == status, token
    wrong = api.call("POST", path, ENG_A, body={**body, "decision": "maybe"})
    assert wrong.status == 400 and wrong.json()["field"] == "decision"
    done = api.call("POST", path, ENG_A, body=body)
    assert done.status == 200 and done.json()["approval"] == "manager"
    assert api.call("POST", path, ENG_A, body=body).status == 404


def test_sql_is_admin_only_and_read_only_on_the_server(api: Api) -> None:
    read = {"statement": "SELECT count() AS n FROM cost_records"}
    assert api.call("POST", "/api/v1/sql", None, body=read).status == 401
    assert api.call("POST", "/api/v1/sql", ENG_ALL, body=read).status == 403
    done = api.call("POST", "/api/v1/sql", ADMIN, body=read)
    assert done.status == 200 and done.json()["columns"] == ["n"]
    write = {"statement": "INSERT INTO business_events (event_id) VALUES ('x')"}
    refused = api.call("POST", "/api/v1/sql", ADMIN, body=write)
    assert refused.status == 400 and refused.json()["type"] == "ReadOnlyError"
    assert api.call("POST", "/api/v1/sql", ADMIN, data=b"{not json",
                    headers={"content-type": "application/json"}).status == 400  # fmt: skip


def test_an_upload_above_the_limit_is_413_and_imports_nothing(api: Api, tmp_path: Path) -> None:
    settings = load_settings(env={
        "FLOWMETER_DATA_DIR": str(tmp_path), "FLOWMETER_API_MAX_UPLOAD_BYTES": "100",
        "FLOWMETER_API_TOKENS": f"{FIN_ALL}=finance:*",
    })  # fmt: skip
    small = ApiService(settings, api.service.state.store, port=0)
    small.start()
    try:
        limited = Api(small, api.world, api.engine, api.period)
        reply = limited.call("POST", "/api/v1/costs/import?filename=bill.csv", FIN_ALL,
                             data=_focus("9.99"))  # fmt: skip
    finally:
        small.stop(5.0)
    assert reply.status == 413 and "FLOWMETER_API_MAX_UPLOAD_BYTES" in reply.json()["error"]
    stored = api.call("POST", "/api/v1/sql", ADMIN,
                      body={"statement": "SELECT count() FROM cost_records WHERE BilledCost = 9.99"})  # fmt: skip
    assert stored.json()["rows"] == [[0]]
