"""The users file: scrypt hashes, TOML round trip, sign-in, OIDC mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.access import Role
from app.users import (
    add_user,
    authenticate,
    hash_password,
    load_users,
    user_for_email,
    verify_password,
)
from models.errors import AuthenticationError


def test_hash_is_salted_and_verifies_only_the_right_password() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second  # a fresh salt each time
    assert first.startswith("scrypt$131072$8$1$")  # OWASP: N=2^17
    assert verify_password("correct horse", first)
    assert not verify_password("correct horsE", first)
    assert not verify_password("correct horse", "plain-text")


def test_a_short_password_is_refused() -> None:
    with pytest.raises(AuthenticationError, match="at least 8 characters"):
        hash_password("short")


def test_add_then_sign_in(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    add_user(path, "fay", "finance", "s3cret-pass", tenants=("tenant-a",), email="fay@x.io")
    add_user(path, "ada", "admin", "another-pass")
    text = path.read_text()
    assert "s3cret-pass" not in text and "scrypt$" in text
    assert path.stat().st_mode & 0o077 == 0  # only the owner reads the hashes
    users = load_users(path)
    fay = authenticate(users, "fay", "s3cret-pass")
    assert (fay.role, fay.tenants) == (Role.FINANCE, ("tenant-a",))
    assert authenticate(users, "ada", "another-pass").tenants == ()
    assert user_for_email(users, "FAY@x.io").name == "fay"


def test_replacing_a_user_keeps_the_others(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    add_user(path, "fay", "finance", "first-pass")
    add_user(path, "ada", "admin", "admin-pass")
    add_user(path, "fay", "executive", "second-pass")
    users = load_users(path)
    assert sorted(users) == ["ada", "fay"]
    assert users["fay"].role is Role.EXECUTIVE
    with pytest.raises(AuthenticationError):
        authenticate(users, "fay", "first-pass")


@pytest.mark.parametrize(("name", "password"), [("fay", "wrong-pass"), ("nobody", "s3cret-pass")])
def test_wrong_password_and_unknown_user_get_the_same_message(
    tmp_path: Path, name: str, password: str
) -> None:
    path = tmp_path / "users.toml"
    add_user(path, "fay", "finance", "s3cret-pass")
    with pytest.raises(AuthenticationError, match=r"^unknown user or wrong password$"):
        authenticate(load_users(path), name, password)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[users.x\n", "not valid TOML"),
        ('[users.x]\nrole = "ceo"\npassword = "h"\n', "role 'ceo' is not one of"),
        ('[users.x]\nrole = "admin"\n', "needs a password hash or an email"),
        ('[users.x]\nrole = "admin"\npassword = "h"\ntenants = 3\n', "tenants must be a list"),
    ],
)
def test_a_malformed_users_file_names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "users.toml"
    path.write_text(text)
    with pytest.raises(AuthenticationError, match=message):
        load_users(path)


def test_bad_names_and_roles_are_refused(tmp_path: Path) -> None:
    with pytest.raises(AuthenticationError, match="letters, digits"):
        add_user(tmp_path / "u.toml", "bad name", "admin", "long-enough")
    with pytest.raises(AuthenticationError, match="role 'root'"):
        add_user(tmp_path / "u.toml", "x", "root", "long-enough")


def test_an_oidc_email_without_a_user_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AuthenticationError, match="no Flowmeter user has that email"):
        user_for_email({}, "who@x.io")
