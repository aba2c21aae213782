"""FLOWMETER_API_TOKENS parsing and bearer identification (pure, no I/O)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.access import Role
from app.api.auth import identify, parse_api_tokens
from app.api.discovery import (
    RuntimeFile,
    read_runtime_file,
    remove_runtime_file,
    write_runtime_file,
)
from models.errors import SettingsError
from models.settings import load_settings

A = "a" * 20
B = "b" * 20
C = "c" * 20


def test_roles_and_tenants_from_the_setting() -> None:
    raw = f"{A}=acme|globex,{B}=finance:*,{C}=Engineer:acme"
    grants = parse_api_tokens(load_settings(env={"FLOWMETER_API_TOKENS": raw}).api_tokens)
    assert (grants[A].role, grants[A].tenants) == (Role.EXECUTIVE, ("acme", "globex"))
    assert (grants[B].role, grants[B].tenants) == (Role.FINANCE, ())
    assert (grants[C].role, grants[C].tenants) == (Role.ENGINEER, ("acme",))
    assert A not in grants[A].name and grants[A].name.startswith("api-token:")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({A: "chief:acme"}, "token #1 has the unknown role 'chief'"),
        ({A: "admin:"}, "token #1 names no tenant"),
        ({A: "acme", "short": "acme"}, "token #2 is shorter than 16 characters"),
    ],
)
def test_bad_tokens_name_the_entry_not_the_token(raw: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message) as caught:
        parse_api_tokens(raw)
    assert str(caught.value).startswith("FLOWMETER_API_TOKENS")
    assert A not in str(caught.value)


def test_identify_only_an_exact_bearer_token() -> None:
    grants = parse_api_tokens({A: "acme", B: "admin:*"})
    reader, admin = identify(grants, None, f"Bearer {A}"), identify(grants, None, f"bearer {B}")
    assert reader is not None and reader.user.tenants == ("acme",)
    assert admin is not None and admin.user.role is Role.ADMIN
    for header in (None, "", A, f"Basic {A}", f"Bearer {A[:-1]}", f"Bearer {A}x", "Bearer "):
        assert identify(grants, None, header) is None, header
    local = identify(grants, C, f"Bearer {C}")
    assert local is not None and local.local and local.user.role is Role.ADMIN
    assert not local.user.restricted
    assert identify(grants, None, f"Bearer {C}") is None


def test_runtime_file_is_private_and_ignores_dead_processes(tmp_path: Path) -> None:
    mine = RuntimeFile(url="http://127.0.0.1:1", token="t", pid=os.getpid())
    path = write_runtime_file(tmp_path, mine)
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_runtime_file(tmp_path) == mine
    dead = RuntimeFile(url="http://127.0.0.1:1", token="t", pid=2**22 + 12345)
    write_runtime_file(tmp_path, dead)
    assert read_runtime_file(tmp_path) is None
    remove_runtime_file(tmp_path, RuntimeFile(url="x", token="other", pid=1))
    assert path.exists()  # someone else's file is left alone
    remove_runtime_file(tmp_path, dead)
    assert not path.exists()
    path.write_text("{not json")
    assert read_runtime_file(tmp_path) is None
