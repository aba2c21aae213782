"""The dashboard's users file: TOML, one table per user, passwords as salted scrypt hashes.

    [users.alice]
    role = "finance"
    tenants = ["acme"]              # optional; empty or absent = every tenant
    password = "scrypt$131072$8$1$<salt>$<hash>"
    email = "alice@example.com"     # optional; matches an OIDC sign-in (st.login)

Only the standard library is used: ``hashlib.scrypt`` to hash, ``hmac.compare_digest`` to
compare, ``tomllib`` to read; the writer emits the small subset of TOML above.

New hashes use scrypt N=2^17, r=8, p=1 (OWASP's minimum), which needs 128 MiB while it runs.
Hashes made before with N=2^14 still verify (the parameters are stored with each hash); they
are not rewritten on sign-in, because the dashboard must not write the users file an admin
manages: `flowmeter users add` with the same name re-hashes a password at today's cost.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from app.access import Role, User, parse_tenants
from models.errors import AuthenticationError

__all__ = [
    "UserRecord",
    "add_user",
    "authenticate",
    "hash_password",
    "load_users",
    "user_for_email",
    "user_for_oidc",
    "verify_password",
    "write_users",
]

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**17, 8, 1
# scrypt needs 128 * r * N bytes (128 MiB at N=2^17, r=8) and refuses to run above maxmem
# (default 32 MiB); this limit admits today's cost and caps what a stored hash can ask for.
_SCRYPT_MAXMEM = 2**28
_MIN_PASSWORD = 8
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@")


@dataclass(frozen=True)
class UserRecord:
    """One entry of the users file."""

    name: str
    role: Role
    tenants: tuple[str, ...] = ()
    password_hash: str = ""
    email: str = ""

    def user(self) -> User:
        """The signed-in identity this record grants."""
        return User(name=self.name, role=self.role, tenants=self.tenants)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def hash_password(password: str) -> str:
    """A salted scrypt hash: ``scrypt$n$r$p$salt$hash`` (base64 salt and hash)."""
    if len(password) < _MIN_PASSWORD:
        raise AuthenticationError(f"a password needs at least {_MIN_PASSWORD} characters")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32,
        maxmem=_SCRYPT_MAXMEM,
    )  # fmt: skip
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches the stored scrypt hash (constant-time compare)."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return False
    try:
        n, r, p = (int(v) for v in parts[1:4])
        salt, expected = base64.b64decode(parts[4]), base64.b64decode(parts[5])
        digest = hashlib.scrypt(
            password.encode(), salt=salt, n=n, r=r, p=p, dklen=len(expected),
            maxmem=_SCRYPT_MAXMEM,
        )  # fmt: skip
    except ValueError:
        return False
    return hmac.compare_digest(digest, expected)


def _record(name: str, entry: object, path: Path) -> UserRecord:
    where = f"{path}: user {name!r}"
    if not isinstance(entry, Mapping):
        raise AuthenticationError(f"{where} must be a table ([users.{name}])")
    role_raw = entry.get("role", "")
    try:
        role = Role(role_raw)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise AuthenticationError(f"{where}: role {role_raw!r} is not one of {known}") from None
    tenants_raw = entry.get("tenants", [])
    if not isinstance(tenants_raw, list | str):
        raise AuthenticationError(f"{where}: tenants must be a list of tenant ids")
    password_hash = str(entry.get("password", ""))
    email = str(entry.get("email", ""))
    if not password_hash and not email:
        raise AuthenticationError(f"{where} needs a password hash or an email (for OIDC)")
    return UserRecord(name, role, parse_tenants(tenants_raw), password_hash, email)


def load_users(path: Path) -> dict[str, UserRecord]:
    """Read the users file; AuthenticationError naming the file and user when it is malformed."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise AuthenticationError(f"{path}: not valid TOML: {exc}") from None
    users = document.get("users", {})
    if not isinstance(users, Mapping):
        raise AuthenticationError(f"{path}: 'users' must be a table of users")
    return {name: _record(name, entry, path) for name, entry in users.items()}


def write_users(path: Path, users: Mapping[str, UserRecord]) -> None:
    """Write the users file atomically, readable by its owner only."""
    lines = ["# Flowmeter dashboard users. Manage with `flowmeter users add|remove|list`.", ""]
    for name in sorted(users):
        record = users[name]
        lines.append(f"[users.{json.dumps(name)}]")
        lines.append(f"role = {json.dumps(record.role.value)}")
        lines.append(f"tenants = {json.dumps(list(record.tenants))}")
        if record.password_hash:
            lines.append(f"password = {json.dumps(record.password_hash)}")
        if record.email:
            lines.append(f"email = {json.dumps(record.email)}")
        lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
    os.replace(temporary, path)


def add_user(
    path: Path,
    name: str,
    role: str,
    password: str,
    *,
    tenants: tuple[str, ...] = (),
    email: str = "",
) -> UserRecord:
    """Add or replace one user in the users file, hashing the password."""
    if not name or not set(name) <= _NAME_CHARS:
        raise AuthenticationError(f"user name {name!r}: letters, digits and . _ - @ only")
    try:
        checked_role = Role(role)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise AuthenticationError(f"role {role!r} is not one of {known}") from None
    users = load_users(path)
    record = UserRecord(name, checked_role, parse_tenants(tenants), hash_password(password), email)
    users[name] = record
    write_users(path, users)
    return record


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_hex(8))


def authenticate(users: Mapping[str, UserRecord], name: str, password: str) -> User:
    """The user when name and password match; AuthenticationError otherwise (same message)."""
    record = users.get(name.strip())
    if record is None or not record.password_hash:
        # Spend the same time as a real check so names cannot be probed by timing.
        verify_password(password, _dummy_hash())
        raise AuthenticationError("unknown user or wrong password")
    if not verify_password(password, record.password_hash):
        raise AuthenticationError("unknown user or wrong password")
    return record.user()


def user_for_oidc(users: Mapping[str, UserRecord], claims: Mapping[str, object]) -> User:
    """The user an OIDC sign-in maps to: by ``email``, only when ``email_verified`` is true.

    An identity provider that lets people type any address (and says so with
    ``email_verified: false`` or by leaving it out) must not sign them in as its owner.
    """
    email = str(claims.get("email") or "")
    if not email:
        raise AuthenticationError("the identity provider sent no email, so no user matches")
    verified = claims.get("email_verified")
    if verified is not True and str(verified).lower() != "true":  # some IdPs send "true"
        raise AuthenticationError(
            f"{email} signed in, but the identity provider has not verified that email "
            "(email_verified is not true); verify it there, then sign in again"
        )
    return user_for_email(users, email)


def user_for_email(users: Mapping[str, UserRecord], email: str) -> User:
    """The user an OIDC sign-in maps to (by email); AuthenticationError when none does."""
    wanted = email.strip().lower()
    for record in users.values():
        if record.email and record.email.lower() == wanted:
            return record.user()
    raise AuthenticationError(f"{email} signed in, but no Flowmeter user has that email")
