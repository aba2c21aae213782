"""Every FLOWMETER_* setting, named and documented once, validated at start.

Precedence: an explicit argument (``load_settings(env=...)``) -> the process environment
-> the default written here. A bad value raises ``SettingsError`` whose message starts with
the variable's name, and the CLI turns that into a one-line error and exit code 2.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from models.errors import SettingsError
from models.retention import DEFAULT_RETENTION, parse_retention

__all__ = [
    "PLATFORM_TENANT",
    "SETTINGS_DOC",
    "Settings",
    "SettingsError",
    "load_settings",
    "markdown_table",
    "monthly_slot",
    "weekly_slot",
    "with_table",
]

# The tenant of a platform token in FLOWMETER_INGEST_TOKENS (Flowmeter's own workers and CLI,
# whose data spans tenants): the receiver keeps the tenants the data carries.
PLATFORM_TENANT = "*"


def _setting(
    env: str, default: Any, parse: Callable[[str], Any], doc: str, *, secret: bool = False
) -> Any:
    # secret: the value never appears in an error message (it may hold a password or token).
    metadata = {"env": env, "parse": parse, "doc": doc, "default": default, "secret": secret}
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def _port(raw: str) -> int:
    port = int(raw)
    if not 0 <= port <= 65535:
        raise ValueError("a port is a whole number from 0 to 65535")
    return port


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("must be a whole number above 0")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if value <= 0:
        raise ValueError("must be a number above 0")
    return value


def _clickhouse_url(raw: str) -> str:
    scheme = urlparse(raw).scheme
    if scheme not in ("chdb", "http", "https"):
        raise ValueError("use chdb:///path, http://user:pass@host:8123/db or https://...")
    return raw


def _db_url(raw: str) -> str:
    scheme = urlparse(raw).scheme.split("+")[0]
    if scheme not in ("sqlite", "postgresql"):
        raise ValueError("use sqlite:///path.db or postgresql+psycopg://user@host/db")
    return raw


def _identifier(raw: str) -> str:
    if raw and not raw.replace("_", "").replace("-", "").isalnum():
        raise ValueError("letters, digits, '_' and '-' only")
    return raw


def _pairs(raw: str) -> dict[str, str]:
    """``token1=tenant-a,token2=tenant-b`` -> {token: tenant}."""
    pairs: dict[str, str] = {}
    items = [part.strip() for part in raw.split(",") if part.strip()]
    for number, item in enumerate(items, 1):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            # The position, never the item: it may be a secret token.
            raise ValueError(
                f"item {number} of {len(items)} is not KEY=VALUE (pairs separated by commas)"
            )
        pairs[key.strip()] = value.strip()
    return pairs


def _csv(raw: str) -> tuple[str, ...]:
    return tuple(filter(None, (part.strip() for part in raw.split(","))))


def _bool(raw: str) -> bool:
    value = raw.lower()
    if value not in ("true", "false", "1", "0", "on", "off", "yes", "no"):
        raise ValueError("true or false")
    return value in ("true", "1", "on", "yes")


def _optional_path(raw: str) -> Path | None:
    return Path(raw) if raw else None


def _allocation_policy(raw: str) -> str:
    policy = raw.lower()
    if policy not in ("proportional", "even", "weights"):
        raise ValueError("one of proportional, even, weights")
    return policy


def _weights(raw: str) -> dict[str, str]:
    """``acme=2,globex=1`` -> {key: weight}, weights numbers >= 0."""
    pairs = _pairs(raw)
    for key, value in pairs.items():
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"weight of {key!r} is not a number: {value!r}") from None
        if number < 0:
            raise ValueError(f"weight of {key!r} must be >= 0")
    return pairs


def _fraction(raw: str) -> float:
    value = float(raw)
    if not 0 < value < 1:
        raise ValueError("a fraction between 0 and 1, e.g. 0.99")
    return value


def _smtp_url(raw: str) -> str:
    if not raw:
        return raw
    parts = urlparse(raw)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        # Never echo the value: it may hold the SMTP password.
        raise ValueError("expected smtp://[user:pass@]host[:port] or smtps://...")
    return raw


def _http_url(raw: str) -> str:
    if raw and urlparse(raw).scheme not in ("http", "https"):
        raise ValueError("expected an http:// or https:// URL")
    return raw.rstrip("/")


def _addresses(raw: str) -> tuple[str, ...]:
    addresses = _csv(raw)
    for address in addresses:
        if address.count("@") != 1 or address.startswith("@") or address.endswith("@"):
            raise ValueError(f"{address!r} is not an e-mail address")
    return addresses


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _clock(text: str) -> tuple[int, int]:
    hour, sep, minute = text.partition(":")
    if not sep or not hour.isdigit() or not minute.isdigit():
        raise ValueError(f"{text!r} is not a time like 07:00")
    if not (0 <= int(hour) < 24 and 0 <= int(minute) < 60):
        raise ValueError(f"{text!r} is not a time of day")
    return int(hour), int(minute)


def weekly_slot(raw: str) -> tuple[int, int, int] | None:
    """``mon 07:00`` -> (weekday 0-6, hour, minute) in UTC; ``off`` -> None."""
    if raw.lower() == "off":
        return None
    day, _, at = raw.lower().partition(" ")
    if day[:3] not in _WEEKDAYS:
        raise ValueError("expected a weekday and a UTC time, e.g. 'mon 07:00', or 'off'")
    return (_WEEKDAYS.index(day[:3]), *_clock(at.strip()))


def _weekly(raw: str) -> str:
    weekly_slot(raw)
    return raw.strip().lower()


def _monthly(raw: str) -> str:
    monthly_slot(raw)
    return raw.strip().lower()


def monthly_slot(raw: str) -> tuple[int, int, int] | None:
    """``1 07:00`` -> (day of month 1-28, hour, minute) in UTC; ``off`` -> None."""
    if raw.lower() == "off":
        return None
    day, _, at = raw.partition(" ")
    if not day.isdigit() or not 1 <= int(day) <= 28:
        raise ValueError("expected a day of month 1-28 and a UTC time, e.g. '1 07:00', or 'off'")
    return (int(day), *_clock(at.strip()))


def _log_level(raw: str) -> str:
    level = raw.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError("one of DEBUG, INFO, WARNING, ERROR")
    return level


DEFAULT_REDACT_KEYS = (
    "*email*",
    "*e-mail*",
    "*phone*",
    "*card*number*",
    "*card.number*",
    "*pan",
    "*password*",
    "*passwd*",
    "*secret*",
    "*token*",
    "*api_key*",
    "*apikey*",
    "*authorization*",
    "*ssn*",
    "*iban*",
)


@dataclass(frozen=True)
class Settings:
    """The validated configuration of one Flowmeter process."""

    # --- store and process ---------------------------------------------------------------
    data_dir: Path = _setting(
        "FLOWMETER_DATA_DIR", Path(".flowmeter"), Path, "Folder for the embedded store, WAL, state."
    )
    clickhouse_url: str = _setting(
        "FLOWMETER_CLICKHOUSE_URL",
        "",
        _clickhouse_url,
        "ClickHouse to use. Default `chdb://<data dir>/clickhouse` (embedded); "
        "or `http(s)://user:pass@host:8123/db` for a server or ClickHouse Cloud.",
        secret=True,
    )
    clickhouse_cluster: str = _setting(
        "FLOWMETER_CLICKHOUSE_CLUSTER",
        "",
        _identifier,
        "Cluster name: DDL renders ON CLUSTER, Replicated*MergeTree and Distributed tables. "
        "Empty = single node.",
    )
    orchestrator_db_url: str = _setting(
        "FLOWMETER_ORCHESTRATOR_DB_URL",
        "",
        _db_url,
        "Orchestrator state. Default `sqlite:///<data dir>/orchestrator.db`; "
        "`postgresql+psycopg://user@host/db` for many workers.",
        secret=True,
    )
    bind: str = _setting("FLOWMETER_BIND", "127.0.0.1", str, "Address every listener binds to.")
    otlp_grpc_port: int = _setting("FLOWMETER_OTLP_GRPC_PORT", 4317, _port, "OTLP/gRPC port.")
    otlp_http_port: int = _setting("FLOWMETER_OTLP_HTTP_PORT", 4318, _port, "OTLP/HTTP port.")
    ui_port: int = _setting("FLOWMETER_UI_PORT", 8501, _port, "Dashboard (Streamlit) port.")
    log_level: str = _setting("FLOWMETER_LOG_LEVEL", "INFO", _log_level, "Log level.")

    # --- ingest (collectors) -------------------------------------------------------------
    ingest_tokens: Mapping[str, str] = _setting(
        "FLOWMETER_INGEST_TOKENS",
        {},
        _pairs,
        "`token=tenant,...`. When set, ingest requires `Authorization: Bearer <token>` and "
        "stamps the token's tenant on what it sends; a token for tenant `*` is a platform "
        "token (Flowmeter's own workers and CLI use it): its data keeps its own tenants.",
        secret=True,
    )
    redact_keys: tuple[str, ...] = _setting(
        "FLOWMETER_REDACT_KEYS",
        DEFAULT_REDACT_KEYS,
        _csv,
        "Attribute key globs whose values are replaced by a keyed hash at ingest.",
    )
    redact_secret: str = _setting(
        "FLOWMETER_REDACT_SECRET",
        "",
        str,
        "Key of the redaction hash. Default: a random key kept in the data dir.",
        secret=True,
    )
    batch_rows: int = _setting(
        "FLOWMETER_BATCH_ROWS", 20000, _positive_int, "Rows per insert: a batch flushes here."
    )
    batch_seconds: float = _setting(
        "FLOWMETER_BATCH_SECONDS", 1.0, _positive_float, "A batch flushes at the latest after this."
    )
    buffer_max_rows: int = _setting(
        "FLOWMETER_BUFFER_MAX_ROWS",
        200000,
        _positive_int,
        "Rows buffered before ingest answers 429 / RESOURCE_EXHAUSTED.",
    )
    max_body_bytes: int = _setting(
        "FLOWMETER_MAX_BODY_BYTES", 16 << 20, _positive_int, "Largest request body (413 above)."
    )
    max_decompressed_bytes: int = _setting(
        "FLOWMETER_MAX_DECOMPRESSED_BYTES",
        64 << 20,
        _positive_int,
        "Largest body after gzip (no gzip bombs).",
    )
    max_attributes: int = _setting(
        "FLOWMETER_MAX_ATTRIBUTES", 128, _positive_int, "Most attributes kept on one record."
    )
    kpi_max_events: int = _setting(
        "FLOWMETER_KPI_MAX_EVENTS",
        10000,
        _positive_int,
        "Most KPI events in one `POST /v1/kpi` request; a bigger batch is refused whole.",
    )
    ingest_max_attempts: int = _setting(
        "FLOWMETER_INGEST_MAX_ATTEMPTS",
        8,
        _positive_int,
        "Failed inserts of one WAL segment that ClickHouse refuses for its content before the "
        "segment moves to `wal/quarantine/<signal>/` (only once a later segment went in: an "
        "outage quarantines nothing).",
    )
    ingest_retry_max_seconds: float = _setting(
        "FLOWMETER_INGEST_RETRY_MAX_SECONDS",
        30.0,
        _positive_float,
        "Longest wait between retries of a failed store insert (data waits in the WAL).",
    )
    tls_cert: Path | None = _setting(
        "FLOWMETER_TLS_CERT",
        None,
        _optional_path,
        "PEM certificate: the receivers and the dashboard serve TLS.",
    )
    tls_key: Path | None = _setting("FLOWMETER_TLS_KEY", None, _optional_path, "PEM private key.")
    tls_client_ca: Path | None = _setting(
        "FLOWMETER_TLS_CLIENT_CA",
        None,
        _optional_path,
        "PEM CA bundle: receivers require client certificates it signed (mutual TLS).",
    )
    allow_open_ingest: bool = _setting(
        "FLOWMETER_ALLOW_OPEN_INGEST",
        False,
        _bool,
        "`true` lets the receivers listen beyond loopback without FLOWMETER_INGEST_TOKENS "
        "(anyone who reaches the ports can write): only on a network you trust.",
    )
    http_max_concurrent: int = _setting(
        "FLOWMETER_HTTP_MAX_CONCURRENT",
        32,
        _positive_int,
        "Ingest requests the OTLP/HTTP receiver handles at once; more get 503 + Retry-After.",
    )
    grpc_max_concurrent: int = _setting(
        "FLOWMETER_GRPC_MAX_CONCURRENT",
        32,
        _positive_int,
        "Calls the OTLP/gRPC receiver handles at once; more get RESOURCE_EXHAUSTED.",
    )

    # --- orchestrator --------------------------------------------------------------------
    workers: int = _setting(
        "FLOWMETER_WORKERS", 2, _positive_int, "Orchestrator worker threads in this process."
    )
    lease_seconds: float = _setting(
        "FLOWMETER_LEASE_SECONDS", 30.0, _positive_float, "A claimed run's lease; heartbeats renew."
    )
    orchestrator_sync_commit: bool = _setting(
        "FLOWMETER_ORCHESTRATOR_SYNC_COMMIT",
        True,
        _bool,
        "PostgreSQL only: `false` commits checkpoints without waiting for the WAL flush "
        "(much faster; a database crash re-runs the last steps, at-least-once).",
    )
    idempotency_ttl_hours: float = _setting(
        "FLOWMETER_IDEMPOTENCY_TTL_HOURS",
        168.0,
        _positive_float,
        "How long a step's idempotency record returns its stored result to a duplicate.",
    )
    demo_interval_seconds: float = _setting(
        "FLOWMETER_DEMO_INTERVAL_SECONDS",
        3.0,
        _positive_float,
        "`flowmeter up --demo`: seconds between live demo runs after the backfill.",
    )

    # --- analytics and dashboard ---------------------------------------------------------
    cost_tag_keys: tuple[str, ...] = _setting(
        "FLOWMETER_COST_TAG_KEYS",
        ("tenant", "product_line", "workflow"),
        _csv,
        "FOCUS `Tags` keys read as tenant, product line, workflow (in that order).",
    )
    users_file: Path | None = _setting(
        "FLOWMETER_USERS_FILE",
        None,
        _optional_path,
        "TOML file of dashboard users (hashed passwords, role, tenants). Unset = open, "
        "localhost only.",
    )
    cost_allocation_policy: str = _setting(
        "FLOWMETER_COST_ALLOCATION_POLICY",
        "proportional",
        _allocation_policy,
        "How shared (platform) cost is split: `proportional` to runs, `even`, or `weights`. "
        "Recorded on every allocated row as `shared:<policy>`.",
    )
    cost_allocation_weights: Mapping[str, str] = _setting(
        "FLOWMETER_COST_ALLOCATION_WEIGHTS",
        {},
        _weights,
        "`key=weight,...` for the `weights` policy (keys are tenants, product lines or "
        "workflows, whichever the report groups by).",
    )
    pricing_file: Path | None = _setting(
        "FLOWMETER_PRICING_FILE",
        None,
        _optional_path,
        "TOML usage price list (per call / per compute-second per dependency); the daily "
        "usage-cost job and the drill-down's attributed cost use it.",
    )
    slo_success_target: float = _setting(
        "FLOWMETER_SLO_SUCCESS_TARGET",
        0.99,
        _fraction,
        "Share of runs that must succeed; error-budget burn = error rate / (1 - target).",
    )
    slo_p95_ms: float = _setting(
        "FLOWMETER_SLO_P95_MS", 5000.0, _positive_float, "Latency SLO: p95 run duration target."
    )
    cache_ttl_seconds: int = _setting(
        "FLOWMETER_CACHE_TTL_SECONDS", 30, _positive_int, "Dashboard query cache lifetime."
    )
    dashboard_url: str = _setting(
        "FLOWMETER_DASHBOARD_URL",
        "",
        _http_url,
        "The dashboard's address as readers reach it (e.g. `https://flowmeter.example.com`), "
        "for links in e-mailed reports and alerts. Empty: no links.",
    )
    smtp_url: str = _setting(
        "FLOWMETER_SMTP_URL",
        "",
        _smtp_url,
        "Mail server for reports and alerts: `smtp://user:pass@host:587` (STARTTLS required; "
        "`?starttls=false` allows clear text) or `smtps://...` (implicit TLS). Empty: no e-mail.",
        secret=True,
    )
    smtp_from: str = _setting(
        "FLOWMETER_SMTP_FROM", "flowmeter@localhost", str, "Sender address of Flowmeter's e-mail."
    )
    digest_to: tuple[str, ...] = _setting(
        "FLOWMETER_DIGEST_TO",
        (),
        _addresses,
        "Recipients of the weekly executive digest (HTML e-mail with the PDF attached).",
    )
    digest_schedule: str = _setting(
        "FLOWMETER_DIGEST_SCHEDULE",
        "mon 07:00",
        _weekly,
        "When the digest of the last full week (Monday to Sunday, UTC) goes out: "
        "`mon 07:00` (UTC) or `off`.",
    )
    chargeback_to: tuple[str, ...] = _setting(
        "FLOWMETER_CHARGEBACK_TO",
        (),
        _addresses,
        "Recipients (finance) of the monthly chargeback: cost per tenant, XLSX attached.",
    )
    chargeback_schedule: str = _setting(
        "FLOWMETER_CHARGEBACK_SCHEDULE",
        "1 07:00",
        _monthly,
        "When the chargeback of the last full month goes out: `1 07:00` (day, UTC) or `off`.",
    )
    report_webhook_url: str = _setting(
        "FLOWMETER_REPORT_WEBHOOK_URL",
        "",
        _http_url,
        "Also POST each scheduled report's figures as JSON here (digest and chargeback).",
    )
    alert_rules_file: Path | None = _setting(
        "FLOWMETER_ALERT_RULES_FILE",
        None,
        _optional_path,
        "TOML alert rules (see `flowmeter alerts check`). Unset: no alerting (with `up "
        "--demo`: the demo's rules).",
    )
    alertmanager_url: str = _setting(
        "FLOWMETER_ALERTMANAGER_URL",
        "",
        _http_url,
        "Alertmanager to push alerts to (API v2), e.g. `http://127.0.0.1:9093`: the "
        "recommended router (grouping, silences, inhibition, routing).",
    )
    alert_webhook_url: str = _setting(
        "FLOWMETER_ALERT_WEBHOOK_URL",
        "",
        _http_url,
        "Generic webhook for alerts, sent Alertmanager's webhook payload (version 4) unchanged.",
    )
    alert_slack_url: str = _setting(
        "FLOWMETER_ALERT_SLACK_URL",
        "",
        _http_url,
        "Slack-compatible incoming webhook for alerts.",
    )
    alert_email_to: tuple[str, ...] = _setting(
        "FLOWMETER_ALERT_EMAIL_TO",
        (),
        _addresses,
        "Recipients of alert e-mails (through FLOWMETER_SMTP_URL).",
    )
    retention_days: dict[str, int] = _setting(
        "FLOWMETER_RETENTION_DAYS",
        dict(DEFAULT_RETENTION),
        parse_retention,
        "Days each table keeps, as `group=days,...` (groups: `traces`, `logs`, `metrics`, "
        "`rollups`, `business`, `costs`) or `table=days` (a table's own entry wins); 0 or "
        "absent keeps forever. Applied as TTLs at every start and by `flowmeter retention "
        "apply`. Setting the variable replaces the whole default.",
    )

    @property
    def clickhouse_dsn(self) -> str:
        """The ClickHouse URL, defaulting to the embedded engine in the data dir."""
        return self.clickhouse_url or f"chdb://{(self.data_dir / 'clickhouse').resolve()}"

    @property
    def orchestrator_dsn(self) -> str:
        """The orchestrator's SQLAlchemy URL, defaulting to SQLite in the data dir."""
        return (
            self.orchestrator_db_url or f"sqlite:///{(self.data_dir / 'orchestrator.db').resolve()}"
        )

    @property
    def embedded(self) -> bool:
        """True when the store is chDB inside this process."""
        return self.clickhouse_dsn.startswith("chdb:")


def _shown_default(default: Any) -> str:
    if default in ("", None) or default == {}:
        return ""
    if isinstance(default, tuple):
        return ",".join(default)
    if isinstance(default, dict):
        return ",".join(f"{key}={value}" for key, value in default.items())
    return str(default)


SETTINGS_DOC: tuple[tuple[str, str, str], ...] = tuple(
    (f.metadata["env"], _shown_default(f.metadata["default"]), f.metadata["doc"])
    for f in fields(Settings)
)


def markdown_table() -> str:
    """The README's configuration table, generated from the fields above."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for name, default, doc in SETTINGS_DOC:
        shown = f"`{default}`" if default else ""
        lines.append(f"| `{name}` | {shown} | {doc} |")
    return "\n".join(lines) + "\n"


README_TABLE_START = "<!-- settings table: generated by `make readme`, do not edit by hand -->"
README_TABLE_END = "<!-- end of settings table -->"


def with_table(readme: str) -> str:
    """Return the README text with its settings table replaced by the generated one."""
    start = readme.index(README_TABLE_START) + len(README_TABLE_START)
    end = readme.index(README_TABLE_END)
    return readme[:start] + "\n" + markdown_table() + readme[end:]


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read and validate every setting; raise SettingsError naming the first bad variable."""
    source = os.environ if env is None else env
    values: dict[str, Any] = {}
    for f in fields(Settings):
        name = f.metadata["env"]
        if f.name in overrides:
            values[f.name] = overrides[f.name]
            continue
        raw = source.get(name)
        if raw is None:
            continue
        try:
            values[f.name] = f.metadata["parse"](raw.strip())
        except ValueError as exc:
            shown = name if f.metadata["secret"] else f"{name}={raw!r}"
            raise SettingsError(f"{shown} is not valid: {exc}") from None
    settings = Settings(**values)
    if (settings.tls_cert is None) != (settings.tls_key is None):
        raise SettingsError("FLOWMETER_TLS_CERT and FLOWMETER_TLS_KEY must be set together")
    if settings.tls_client_ca is not None and settings.tls_cert is None:
        raise SettingsError("FLOWMETER_TLS_CLIENT_CA needs FLOWMETER_TLS_CERT and _KEY")
    for path_field in (
        "tls_cert",
        "tls_key",
        "tls_client_ca",
        "users_file",
        "pricing_file",
        "alert_rules_file",
    ):
        path = getattr(settings, path_field)
        if path is not None and not path.is_file():
            env_name = Settings.__dataclass_fields__[path_field].metadata["env"]
            raise SettingsError(f"{env_name}={str(path)!r} is not valid: no such file")
    if len(settings.cost_tag_keys) != 3:
        raise SettingsError("FLOWMETER_COST_TAG_KEYS needs exactly three keys")
    return settings


if __name__ == "__main__":
    # `python -m models.settings README.md` rewrites the README's table in place.
    import sys

    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(with_table(text))
