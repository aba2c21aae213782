"""Sign-in hardening: rate limits per user and per client, verified OIDC emails, scrypt cost."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app.sign_in_limits import SignInLimiter, SignInLimits, TooManySignInsError
from app.users import add_user, authenticate, hash_password, load_users, user_for_oidc
from models.db import Store
from models.errors import AuthenticationError
from tests.app.conftest import MAIN, texts


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_user_over_the_limit_is_refused_until_the_window_moves_on() -> None:
    clock = Clock()
    limiter = SignInLimiter(SignInLimits(per_user=3, per_client=100, window_seconds=60), clock)
    for second in (0, 10, 20):
        clock.now = 1000.0 + second
        limiter.check("fay", "10.0.0.1")
        limiter.failed("fay", "10.0.0.1")
    clock.now = 1030.0
    with pytest.raises(TooManySignInsError, match="try again in 30 s") as refused:
        limiter.check("Fay ", "10.0.0.2")  # another address, the same user (names fold case)
    assert refused.value.retry_after == 30  # the first failure leaves the window at 1060
    limiter.check("erin", "10.0.0.1")  # other users are not affected
    clock.now = 1060.0
    limiter.check("fay", "10.0.0.1")  # 1000 left the window: two failures remain


def test_one_client_guessing_many_users_is_limited_and_a_success_clears_only_the_user() -> None:
    clock = Clock()
    limiter = SignInLimiter(SignInLimits(per_user=5, per_client=4, window_seconds=60), clock)
    for name in ("a", "b", "c", "d"):
        limiter.check(name, "10.0.0.9")
        limiter.failed(name, "10.0.0.9")
    with pytest.raises(TooManySignInsError, match="too many sign-in attempts"):
        limiter.check("e", "10.0.0.9")
    limiter.check("e", "10.0.0.10")  # another client is fine
    limiter.succeeded("a")
    with pytest.raises(TooManySignInsError):
        limiter.check("a", "10.0.0.9")  # the client's count stands


def test_oidc_requires_a_verified_email(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    add_user(path, "ann", "engineer", "ann-password", email="ann@example.com")
    users = load_users(path)
    for claims in ({"email": "ann@example.com"},
                   {"email": "ann@example.com", "email_verified": False},
                   {"email": "ann@example.com", "email_verified": "false"}):  # fmt: skip
        with pytest.raises(AuthenticationError, match="has not verified that email"):
            user_for_oidc(users, claims)
    assert user_for_oidc(users, {"email": "ANN@example.com", "email_verified": True}).name == "ann"
    assert (
        user_for_oidc(users, {"email": "ann@example.com", "email_verified": "true"}).name == "ann"
    )
    with pytest.raises(AuthenticationError, match="no email"):
        user_for_oidc(users, {"email_verified": True})


def test_new_hashes_cost_n_2_17_and_old_n_2_14_hashes_still_verify(tmp_path: Path) -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt$131072$8$1$")
    salt = b"0123456789abcdef"
    old_digest = hashlib.scrypt(b"old password", salt=salt, n=2**14, r=8, p=1, dklen=32)
    old = f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(old_digest).decode()}"
    path = tmp_path / "users.toml"
    path.write_text(f'[users.olga]\nrole = "admin"\npassword = "{old}"\n')
    users = load_users(path)
    assert authenticate(users, "olga", "old password").name == "olga"
    with pytest.raises(AuthenticationError):
        authenticate(users, "olga", "wrong password")
    assert load_users(path)["olga"].password_hash == old  # not rewritten by a sign-in


@pytest.fixture
def one_user(current: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "users.toml"
    add_user(path, "fay", "finance", "fay-password")
    monkeypatch.setenv("FLOWMETER_USERS_FILE", str(path))
    monkeypatch.setenv("FLOWMETER_SIGNIN_MAX_FAILURES_PER_USER", "2")
    st.cache_resource.clear()  # the settings and the limiter are per process
    return path


def _attempt(password: str) -> AppTest:
    app = AppTest.from_file(MAIN, default_timeout=60).run()
    app.text_input[0].input("fay")
    app.text_input[1].input(password)
    app.button[0].click().run()
    return app


def test_the_sign_in_form_refuses_after_too_many_failures(one_user: Path) -> None:
    for _ in range(2):
        app = _attempt("wrong-password")
        assert "unknown user or wrong password" in app.error[0].value
    app = _attempt("fay-password")  # even the right password waits for the window
    assert not app.exception
    assert re.fullmatch(r"too many sign-in attempts; try again in \d+ s", app.error[0].value)
    assert "Executive ROI" not in texts(app)
