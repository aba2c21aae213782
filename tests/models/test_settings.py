from __future__ import annotations

from pathlib import Path

import pytest

from models.errors import SettingsError
from models.settings import SETTINGS_DOC, load_settings, with_table


def test_defaults_point_at_the_data_dir() -> None:
    settings = load_settings(env={"FLOWMETER_DATA_DIR": "/srv/fm"})
    assert settings.clickhouse_dsn == "chdb:///srv/fm/clickhouse"
    assert settings.orchestrator_dsn == "sqlite:////srv/fm/orchestrator.db"
    assert (settings.otlp_grpc_port, settings.otlp_http_port, settings.ui_port) == (
        4317,
        4318,
        8501,
    )
    assert settings.bind == "127.0.0.1"
    assert settings.embedded


def test_explicit_values_win() -> None:
    settings = load_settings(
        env={
            "FLOWMETER_CLICKHOUSE_URL": "https://u:p@ch.example:8443/fm",
            "FLOWMETER_CLICKHOUSE_CLUSTER": "main",
            "FLOWMETER_INGEST_TOKENS": "t1=acme, t2=globex",
            "FLOWMETER_UI_PORT": "9000",
        }
    )
    assert settings.clickhouse_dsn == "https://u:p@ch.example:8443/fm"
    assert not settings.embedded
    assert settings.clickhouse_cluster == "main"
    assert settings.ingest_tokens == {"t1": "acme", "t2": "globex"}
    assert settings.ui_port == 9000


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FLOWMETER_OTLP_GRPC_PORT", "http"),
        ("FLOWMETER_OTLP_HTTP_PORT", "70000"),
        ("FLOWMETER_UI_PORT", "-1"),
        ("FLOWMETER_CLICKHOUSE_URL", "mysql://x"),
        ("FLOWMETER_ORCHESTRATOR_DB_URL", "oracle://x"),
        ("FLOWMETER_CLICKHOUSE_CLUSTER", "bad name;"),
        ("FLOWMETER_INGEST_TOKENS", "no-equals-sign"),
        ("FLOWMETER_BATCH_ROWS", "0"),
        ("FLOWMETER_BATCH_SECONDS", "soon"),
        ("FLOWMETER_LOG_LEVEL", "LOUD"),
        ("FLOWMETER_TLS_CLIENT_CA", "/nonexistent.pem"),
    ],
)
def test_bad_values_name_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(env={variable: value})
    assert variable in str(raised.value)


def test_tls_cert_needs_its_key(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    with pytest.raises(SettingsError, match="FLOWMETER_TLS_CERT and FLOWMETER_TLS_KEY"):
        load_settings(env={"FLOWMETER_TLS_CERT": str(cert)})


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [name for name, _, _ in SETTINGS_DOC if f"`{name}`" not in readme]
    assert missing == []


def test_the_readme_table_is_the_generated_one() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert with_table(readme) == readme, "run `make readme` to regenerate the settings table"


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("FLOWMETER_INGEST_TOKENS", "good=acme,hunter2-no-tenant", "item 2 of 2 is not KEY=VALUE"),
        ("FLOWMETER_INGEST_TOKENS", "hunter2=", "item 1 of 1 is not KEY=VALUE"),
        ("FLOWMETER_CLICKHOUSE_URL", "mysql://root:hunter2@db", "use chdb:///path"),
        ("FLOWMETER_ORCHESTRATOR_DB_URL", "oracle://scott:hunter2@db", "use sqlite:///"),
    ],
)
def test_a_bad_secret_is_named_never_echoed(variable: str, value: str, problem: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(env={variable: value})
    message = str(raised.value)
    assert message.startswith(f"{variable} is not valid") and problem in message
    assert "hunter2" not in message


def test_a_bad_plain_value_is_still_shown() -> None:
    with pytest.raises(SettingsError, match=r"^FLOWMETER_UI_PORT='eighty' is not valid"):
        load_settings(env={"FLOWMETER_UI_PORT": "eighty"})
