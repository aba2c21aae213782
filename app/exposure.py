"""Refuse to serve an open dashboard or open receivers beyond this machine.

Without a users file or OIDC sign-in the dashboard has no access control at all, so it may
only listen on a loopback address; without ingest tokens neither may the OTLP receivers
(unless FLOWMETER_ALLOW_OPEN_INGEST says the network is trusted). ``flowmeter up`` calls both
checks and ``flowmeter collect`` the receivers' one, before anything listens.
"""

from __future__ import annotations

import ipaddress

from models.errors import SettingsError
from models.settings import Settings

__all__ = ["check_exposure", "check_ingest_exposure", "is_loopback", "oidc_configured"]


def is_loopback(address: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything, so it is not loopback


def oidc_configured() -> bool:
    """True when Streamlit secrets hold an ``[auth]`` section (st.login is usable)."""
    from streamlit.runtime.secrets import secrets_singleton

    # False when no secrets file exists or it cannot be parsed (Streamlit logs why).
    return secrets_singleton.load_if_toml_exists() and "auth" in secrets_singleton


def check_exposure(settings: Settings, *, oidc: bool) -> None:
    """Raise SettingsError when the dashboard would run open on a non-loopback address."""
    if settings.users_file is not None or oidc or is_loopback(settings.bind):
        return
    raise SettingsError(
        f"FLOWMETER_BIND={settings.bind!r} exposes the dashboard beyond this machine, but no "
        "users are configured: set FLOWMETER_USERS_FILE (add users with `flowmeter users add "
        "NAME --role ROLE`) or configure OIDC in .streamlit/secrets.toml, or bind to 127.0.0.1"
    )


def check_ingest_exposure(settings: Settings) -> None:
    """Raise SettingsError when the receivers would take unauthenticated data from the network."""
    if settings.ingest_tokens or settings.allow_open_ingest or is_loopback(settings.bind):
        return
    raise SettingsError(
        f"FLOWMETER_BIND={settings.bind!r} exposes the OTLP receivers (ports "
        f"{settings.otlp_http_port} and {settings.otlp_grpc_port}) beyond this machine, but "
        "FLOWMETER_INGEST_TOKENS is empty, so anyone who reaches them could write telemetry: "
        "set FLOWMETER_INGEST_TOKENS=token=tenant,..., or bind to 127.0.0.1, or set "
        "FLOWMETER_ALLOW_OPEN_INGEST=true on a network you trust"
    )
