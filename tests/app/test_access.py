"""The authorization rules, as pure functions."""

from __future__ import annotations

import pytest

from app.access import (
    ACTIONS,
    OPEN_USER,
    Role,
    User,
    allowed,
    parse_tenants,
    require,
    require_tenant,
    tenant_scope,
    visible_views,
)
from models.errors import PermissionDeniedError

EXECUTIVE = User("erin", Role.EXECUTIVE)
ENGINEER = User("eddie", Role.ENGINEER)
FINANCE_A = User("fay", Role.FINANCE, ("tenant-a",))
ADMIN = User("ada", Role.ADMIN)


def test_an_executive_may_not_replay_and_the_refusal_names_who_and_what() -> None:
    with pytest.raises(
        PermissionDeniedError, match=r"erin \(executive\) may not dead_letter replay"
    ):
        require(EXECUTIVE, "dead_letter.replay")


@pytest.mark.parametrize(
    ("user", "action", "expected"),
    [
        (ENGINEER, "dead_letter.replay", True),
        (ADMIN, "dead_letter.replay", True),
        (FINANCE_A, "dead_letter.replay", False),
        (EXECUTIVE, "approval.decide", False),
        (ENGINEER, "approval.decide", True),
        (FINANCE_A, "baseline.change", True),
        (ENGINEER, "baseline.change", False),
        (EXECUTIVE, "baseline.change", False),
    ],
)
def test_roles_per_action(user: User, action: str, expected: bool) -> None:
    assert allowed(user, action) is expected


def test_every_action_is_allowed_to_admin_and_an_unknown_action_is_an_error() -> None:
    assert all(allowed(ADMIN, action) for action in ACTIONS)
    with pytest.raises(ValueError, match="unknown action"):
        allowed(ADMIN, "drop.database")


def test_a_restricted_user_never_reads_beyond_their_tenants() -> None:
    assert tenant_scope(FINANCE_A) == ("tenant-a",)
    assert tenant_scope(FINANCE_A, "tenant-a") == ("tenant-a",)
    assert tenant_scope(FINANCE_A, "tenant-b") == ()  # asking for another tenant reads nothing


def test_an_unrestricted_user_reads_everything_or_the_selected_tenant() -> None:
    assert tenant_scope(ADMIN) is None
    assert tenant_scope(ADMIN, "tenant-b") == ("tenant-b",)


def test_acting_on_another_tenants_record_is_refused() -> None:
    require_tenant(FINANCE_A, "tenant-a")
    require_tenant(ADMIN, "anything")
    with pytest.raises(PermissionDeniedError, match="tenant 'tenant-b'"):
        require_tenant(FINANCE_A, "tenant-b")


def test_views_per_role() -> None:
    assert "operations" not in visible_views(EXECUTIVE)
    assert "operations" in visible_views(ENGINEER)
    assert visible_views(EXECUTIVE)[0] == "roi"
    assert set(visible_views(OPEN_USER)) == {
        "roi",
        "health",
        "traces",
        "costs",
        "operations",
        "baselines",
        "alerts",
    }
    assert "alerts" in visible_views(EXECUTIVE)  # every role reads alerts


def test_parse_tenants() -> None:
    assert parse_tenants(" b, a,,b ") == ("a", "b")
    assert parse_tenants(["x", " "]) == ("x",)
