"""Who is calling the API: bearer tokens from FLOWMETER_API_TOKENS and the local credential.

A token's value is ``[role:]tenant|tenant`` or ``[role:]*``; without a role it is an
``executive`` (read-only) token. Tokens are compared in constant time against every
configured token, so the time taken says nothing about how much of a token matched. The
local credential is a random token written to the data directory (0600) for the CLI of the
data directory's owner: it acts as an unrestricted admin and may name the actor of an
audited change, as the CLI's ``--actor`` / ``--by`` do today.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from app.access import Role, User, parse_tenants
from models.errors import SettingsError

__all__ = ["DEFAULT_ROLE", "LOCAL_ACTOR_HEADER", "Principal", "identify", "parse_api_tokens"]

DEFAULT_ROLE = Role.EXECUTIVE
ALL_TENANTS = "*"
LOCAL_ACTOR_HEADER = "x-flowmeter-actor"


@dataclass(frozen=True)
class Principal:
    """The caller of one request: the dashboard identity it acts as, and whether it is the
    local CLI (which may name the actor written to the audit log)."""

    user: User
    local: bool = False


def _fingerprint(token: str) -> str:
    # Audit rows name the token without revealing it.
    return hashlib.sha256(token.encode()).hexdigest()[:10]


def _grant(index: int, token: str, value: str) -> User:
    role_name, sep, scope = value.partition(":")
    if not sep:
        role_name, scope = DEFAULT_ROLE.value, value
    try:
        role = Role(role_name.strip().lower())
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise SettingsError(
            f"FLOWMETER_API_TOKENS: token #{index} has the unknown role {role_name!r}; "
            f"use one of {known}"
        ) from None
    scope = scope.strip()
    if scope == ALL_TENANTS:
        tenants: tuple[str, ...] = ()
    else:
        tenants = parse_tenants(scope.split("|"))
        if not tenants:
            raise SettingsError(
                f"FLOWMETER_API_TOKENS: token #{index} names no tenant; "
                "use token=tenant|tenant or token=* for every tenant"
            )
    return User(name=f"api-token:{_fingerprint(token)}", role=role, tenants=tenants)


def parse_api_tokens(tokens: Mapping[str, str]) -> dict[str, User]:
    """FLOWMETER_API_TOKENS as {token: identity}; SettingsError names the bad entry by
    position (never the token itself)."""
    grants: dict[str, User] = {}
    for index, (token, value) in enumerate(tokens.items(), start=1):
        if len(token) < 16:
            raise SettingsError(
                f"FLOWMETER_API_TOKENS: token #{index} is shorter than 16 characters"
            )
        grants[token] = _grant(index, token, value)
    return grants


def identify(
    grants: Mapping[str, User], local_token: str | None, authorization: str | None
) -> Principal | None:
    """The principal of an ``Authorization: Bearer`` header, or None (answer 401)."""
    scheme, _, presented = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return None
    offered = presented.strip().encode()
    found: Principal | None = None
    # Every token is compared, matched or not: no early exit to time.
    for token, user in grants.items():
        if hmac.compare_digest(token.encode(), offered):
            found = Principal(user)
    if local_token is not None and hmac.compare_digest(local_token.encode(), offered):
        found = Principal(User(name="cli", role=Role.ADMIN), local=True)
    return found
