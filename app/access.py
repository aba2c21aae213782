"""Who may see and do what in the dashboard: pure rules, no Streamlit, no I/O.

Every action that changes something (replay, approvals, baseline changes) calls ``require``
inside the function that performs it, so hiding a button is a courtesy, never the control.
Every read goes through ``tenant_scope``, so a user limited to tenants never sees another's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from models.errors import PermissionDeniedError

__all__ = [
    "ACTIONS",
    "OPEN_USER",
    "VIEWS",
    "Role",
    "User",
    "allowed",
    "parse_tenants",
    "require",
    "require_tenant",
    "tenant_scope",
    "visible_views",
]


class Role(StrEnum):
    """The four dashboard roles."""

    EXECUTIVE = "executive"
    ENGINEER = "engineer"
    FINANCE = "finance"
    ADMIN = "admin"


# action -> roles allowed to perform it
ACTIONS: dict[str, frozenset[Role]] = {
    "dead_letter.replay": frozenset({Role.ENGINEER, Role.ADMIN}),
    "approval.decide": frozenset({Role.ENGINEER, Role.ADMIN}),
    "baseline.change": frozenset({Role.FINANCE, Role.ADMIN}),
    "cost.import": frozenset({Role.FINANCE, Role.ADMIN}),
}

# view -> roles that see it in the navigation (reads are still tenant-scoped)
VIEWS: dict[str, frozenset[Role]] = {
    "roi": frozenset(Role),
    "health": frozenset({Role.ENGINEER, Role.ADMIN, Role.EXECUTIVE}),
    "traces": frozenset({Role.ENGINEER, Role.ADMIN}),
    "costs": frozenset({Role.FINANCE, Role.ADMIN, Role.EXECUTIVE}),
    "operations": frozenset({Role.ENGINEER, Role.ADMIN}),
    "baselines": frozenset(Role),
}


@dataclass(frozen=True)
class User:
    """A signed-in dashboard user; ``tenants`` empty means every tenant."""

    name: str
    role: Role
    tenants: tuple[str, ...] = field(default=())

    @property
    def restricted(self) -> bool:
        """True when the user sees only some tenants."""
        return bool(self.tenants)


# Nobody configured: the dashboard is open, bound to loopback only (see app/exposure.py).
OPEN_USER = User(name="local", role=Role.ADMIN)


def allowed(user: User, action: str) -> bool:
    """True when the user's role may perform ``action``."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; known: {', '.join(sorted(ACTIONS))}")
    return user.role in ACTIONS[action]


def require(user: User, action: str) -> None:
    """Raise PermissionDeniedError unless the user's role may perform ``action``."""
    if not allowed(user, action):
        roles = ", ".join(sorted(ACTIONS[action]))
        raise PermissionDeniedError(
            f"{user.name} ({user.role}) may not {action.replace('.', ' ')}; roles allowed: {roles}"
        )


def require_tenant(user: User, tenant: str) -> None:
    """Raise PermissionDeniedError when a restricted user acts on another tenant's record."""
    if user.restricted and tenant not in user.tenants:
        raise PermissionDeniedError(f"{user.name} may not act on tenant {tenant!r}")


def tenant_scope(user: User, selected: str = "") -> tuple[str, ...] | None:
    """The tenants a query may read: None = every tenant; a restricted user never gets more."""
    if not user.restricted:
        return (selected,) if selected else None
    if not selected:
        return user.tenants
    return (selected,) if selected in user.tenants else ()


def visible_views(user: User) -> list[str]:
    """The views this user's role sees, in navigation order."""
    return [view for view, roles in VIEWS.items() if user.role in roles]


def parse_tenants(raw: str | Sequence[str]) -> tuple[str, ...]:
    """``a,b`` or a list -> a sorted tuple of distinct, non-empty tenant ids."""
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    return tuple(sorted({item.strip() for item in items if item.strip()}))
