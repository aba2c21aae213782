"""An open dashboard never listens beyond loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.exposure import check_exposure, check_ingest_exposure, is_loopback
from models.errors import SettingsError
from models.settings import load_settings


@pytest.mark.parametrize(
    ("address", "expected"),
    [("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("localhost", True),
     ("0.0.0.0", False), ("::", False), ("10.0.0.5", False), ("example.com", False)],
)  # fmt: skip
def test_is_loopback(address: str, expected: bool) -> None:
    assert is_loopback(address) is expected


def test_open_on_a_public_address_is_refused_with_the_variable_name() -> None:
    settings = load_settings(env={"FLOWMETER_BIND": "0.0.0.0"})
    with pytest.raises(SettingsError, match=r"^FLOWMETER_BIND='0.0.0.0' .* FLOWMETER_USERS_FILE"):
        check_exposure(settings, oidc=False)


def test_users_or_oidc_or_loopback_make_it_acceptable(tmp_path: Path) -> None:
    users = tmp_path / "users.toml"
    users.write_text("")
    check_exposure(load_settings(env={"FLOWMETER_BIND": "127.0.0.1"}), oidc=False)
    check_exposure(load_settings(env={"FLOWMETER_BIND": "0.0.0.0"}), oidc=True)
    check_exposure(
        load_settings(env={"FLOWMETER_BIND": "0.0.0.0", "FLOWMETER_USERS_FILE": str(users)}),
        oidc=False,
    )


def test_receivers_beyond_loopback_without_tokens_are_refused() -> None:
    settings = load_settings(env={"FLOWMETER_BIND": "0.0.0.0"})
    with pytest.raises(SettingsError) as raised:
        check_ingest_exposure(settings)
    message = str(raised.value)
    assert message.startswith("FLOWMETER_BIND='0.0.0.0' exposes the OTLP receivers")
    assert "FLOWMETER_INGEST_TOKENS" in message and "FLOWMETER_ALLOW_OPEN_INGEST" in message


def test_tokens_or_the_opt_out_or_loopback_let_the_receivers_listen() -> None:
    check_ingest_exposure(load_settings(env={"FLOWMETER_BIND": "127.0.0.1"}))
    check_ingest_exposure(
        load_settings(env={"FLOWMETER_BIND": "0.0.0.0", "FLOWMETER_INGEST_TOKENS": "t=acme"})
    )
    check_ingest_exposure(
        load_settings(env={"FLOWMETER_BIND": "0.0.0.0", "FLOWMETER_ALLOW_OPEN_INGEST": "true"})
    )
