"""Server-side gates on what the dashboard changes, against the real engine state."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.access import Role, User
from app.actions import (
    REDACTED,
    decide_approval,
    readable_audit_log,
    readable_dead_letters,
    redact,
    replay_dead_letter,
)
from models.errors import PermissionDeniedError
from orchestrator.api import OrchestratorAPI
from orchestrator.state import open_store
from tests.app.seed import EngineWorld, seed_engine


@pytest.fixture
def engine(tmp_path: Path) -> tuple[OrchestratorAPI, EngineWorld]:
    dsn = f"sqlite:///{tmp_path / 'orchestrator.db'}"
    world = seed_engine(dsn)
    return OrchestratorAPI(open_store(dsn)), world


def test_an_executive_cannot_replay_even_by_calling_the_action(
    engine: tuple[OrchestratorAPI, EngineWorld],
) -> None:
    api, world = engine
    with pytest.raises(PermissionDeniedError, match=r"executive\) may not dead_letter replay"):
        replay_dead_letter(api, User("erin", Role.EXECUTIVE), world.dead_letter_a, "why",
                           confirmed=True)  # fmt: skip
    assert api.audit_log() == []
    assert api.dead_letter(world.dead_letter_a)["replayed_at"] is None


def test_an_engineer_of_another_tenant_cannot_replay(
    engine: tuple[OrchestratorAPI, EngineWorld],
) -> None:
    api, world = engine
    with pytest.raises(PermissionDeniedError, match="tenant 'tenant-a'"):
        replay_dead_letter(api, User("bea", Role.ENGINEER, ("tenant-b",)), world.dead_letter_a,
                           "why", confirmed=True)  # fmt: skip
    assert api.audit_log() == []


def test_an_engineer_replays_with_reason_and_confirmation(
    engine: tuple[OrchestratorAPI, EngineWorld],
) -> None:
    api, world = engine
    engineer = User("eddie", Role.ENGINEER)
    with pytest.raises(ValueError, match="needs a reason"):
        replay_dead_letter(api, engineer, world.dead_letter_a, "  ", confirmed=True)
    with pytest.raises(ValueError, match="confirm"):
        replay_dead_letter(api, engineer, world.dead_letter_a, "fixed", confirmed=False)
    shown = replay_dead_letter(api, engineer, world.dead_letter_a, "fixed", confirmed=True)
    assert shown["replayed_by"] == "eddie"
    assert [(a["actor"], a["reason"]) for a in api.audit_log()] == [("eddie", "fixed")]


def test_approvals_are_gated_by_role(engine: tuple[OrchestratorAPI, EngineWorld]) -> None:
    api, world = engine
    with pytest.raises(PermissionDeniedError):
        decide_approval(api, User("fay", Role.FINANCE), world.waiting_run, "approve", "ok")
    assert (
        decide_approval(api, User("ada", Role.ADMIN), world.waiting_run, "reject", "no")
        == "manager"
    )
    assert api.audit_log()[0]["action"] == "approval.rejected"


def test_reads_are_limited_to_the_users_tenants(
    engine: tuple[OrchestratorAPI, EngineWorld],
) -> None:
    api, world = engine
    assert [d["id"] for d in readable_dead_letters(api, ("tenant-b",))] == [world.dead_letter_b]
    assert len(readable_dead_letters(api, None)) == 2
    assert readable_dead_letters(api, ()) == []


def test_redact_masks_sensitive_keys_at_any_depth() -> None:
    payload = {"id": 1, "Customer_Email": "a@b.c", "items": [{"card_number": "4111", "sku": "x"}]}
    shown = redact(payload, ("*email*", "*card*number*"))
    assert shown == {"id": 1, "Customer_Email": REDACTED,
                     "items": [{"card_number": REDACTED, "sku": "x"}]}  # fmt: skip
    assert payload["Customer_Email"] == "a@b.c"  # the original is untouched


def test_a_tenant_limited_reader_sees_only_audit_rows_about_their_tenants(
    engine: tuple[OrchestratorAPI, EngineWorld],
) -> None:
    api, world = engine
    admin = User("ada", Role.ADMIN)
    replay_dead_letter(api, admin, world.dead_letter_a, "fixed", confirmed=True)
    decide_approval(api, admin, world.waiting_run, "approve", "ok")
    assert len(readable_audit_log(api, None)) == 2
    assert [r["action"] for r in readable_audit_log(api, ("tenant-a",))] == [
        "approval.approved", "dlq.replay"
    ]  # fmt: skip
    assert readable_audit_log(api, ("tenant-b",)) == []


def test_a_tenant_limited_reader_gets_their_rows_however_many_others_are_newer(
    engine: tuple[OrchestratorAPI, EngineWorld],
) -> None:
    """The tenant filter runs in the query, then the limit: 600 newer dead letters and 250
    newer audit rows of tenant-a do not push tenant-b's out of a tenant-b reader's lists
    (e1047bd cut to the limit first, so this reader saw none)."""
    api, world = engine
    admin = User("ada", Role.ADMIN)
    replay_dead_letter(api, admin, world.dead_letter_b, "b fixed", confirmed=True)
    store, now = api.store, api.clock.now()
    with store.tx() as conn:
        for n in range(600):
            store.quarantine(conn, run_id=f"{n:032x}", workflow="refund_flow", step="pay",
                             reason="poison", error="bad", payload="{}", attempts=1,
                             correlation_id=f"c-{n}", tenant_id="tenant-a",
                             quarantined_at=now + n)  # fmt: skip
        for n in range(250):
            store.audit(conn, now + n, "ada", "dlq.replay", "0", "noise", tenant_id="tenant-a")
    reader = ("tenant-b", "tenant-c")  # more than one tenant: no single-tenant shortcut
    letters = readable_dead_letters(api, reader)
    assert [d["id"] for d in letters] == [world.dead_letter_b]
    assert len(readable_dead_letters(api, None)) == 500  # the API's limit, all tenants
    audit = readable_audit_log(api, reader, limit=200)
    assert [(a["action"], a["target"]) for a in audit] == [
        ("dlq.replay", str(world.dead_letter_b))
    ]  # fmt: skip
    assert len(readable_audit_log(api, None, limit=200)) == 200
