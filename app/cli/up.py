"""``flowmeter up``: the all-in-one process (store, receivers, workers, dashboard).

chDB locks its data directory to one process, so the embedded mode runs every component
here: the dashboard in the main thread (Streamlit's server needs it for its signal
handlers), the receivers and workers in background threads. SIGINT/SIGTERM stop the
dashboard, then every service in reverse start order, flushing what it buffered.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import click

from app.alerts.rules_file import configured_rules
from app.alerts.service import AlertService
from app.exposure import check_exposure, check_ingest_exposure, oidc_configured
from app.users import load_users
from collectors.service import build_receivers
from models.db import Store, set_current_store
from models.lifecycle import Service, stop_services
from models.migrations import migrate
from models.retention import apply_retention
from models.settings import Settings, load_settings

__all__ = [
    "COMMANDS",
    "build_services",
    "dashboard_options",
    "masked_url",
    "serve_dashboard",
    "with_demo_prices",
]

logger = logging.getLogger(__name__)


def build_services(settings: Settings, store: Store, *, demo: bool) -> list[Service]:
    """The components this process runs besides the dashboard, in start order."""
    services: list[Service] = []
    services.extend(build_receivers(settings, store))
    from app.telemetry import telemetry_for
    from orchestrator.service import OrchestratorService

    pipeline = next((s for s in services if hasattr(s, "submit")), None)
    services.append(
        OrchestratorService(
            settings, telemetry_for(settings, pipeline), clickhouse=store, demo=demo
        )
    )
    if settings.pricing_file is not None:
        from models.pricing import load_price_list
        from models.usage_costs import UsageCostJob

        services.append(UsageCostJob(store, load_price_list(settings.pricing_file)))
    rules = configured_rules(settings, demo=demo)
    if rules:
        services.append(AlertService(settings, store, rules))
    if settings.smtp_url or settings.report_webhook_url:
        from app.reports.service import ReportService
        from orchestrator.api import OrchestratorAPI

        services.append(
            ReportService(settings, store, engine=lambda: OrchestratorAPI.from_settings(settings))
        )
    return services


def with_demo_prices(settings: Settings) -> Settings:
    """Demo mode without a price list gets the demo's, so the usage-cost job runs and the
    Trace Explorer prices drill-downs (the dashboard reads FLOWMETER_PRICING_FILE)."""
    from orchestrator.demo_costs import PRICE_LIST

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = (settings.data_dir / "demo-pricing.toml").resolve()
    path.write_text(PRICE_LIST, encoding="utf-8")
    os.environ["FLOWMETER_PRICING_FILE"] = str(path)
    return load_settings()


def dashboard_options(settings: Settings) -> dict[str, object]:
    """Streamlit's server options for this process: address, port and, with TLS, the certificate."""
    options: dict[str, object] = {
        "server_port": settings.ui_port,
        "server_address": settings.bind,
        "server_headless": True,
        "server_fileWatcherType": "none",
        "server_runOnSave": False,
        "browser_gatherUsageStats": False,
        "client_toolbarMode": "minimal",
        "global_developmentMode": False,
        "logger_level": "warning",
    }
    if settings.tls_cert and settings.tls_key:
        # Streamlit serves HTTPS itself (server.sslCertFile / server.sslKeyFile); it has no
        # client-certificate option, so FLOWMETER_TLS_CLIENT_CA binds the receivers only.
        options["server_sslCertFile"] = str(settings.tls_cert)
        options["server_sslKeyFile"] = str(settings.tls_key)
    return options


def serve_dashboard(settings: Settings) -> None:
    """Serve the Streamlit app in this process until SIGINT/SIGTERM."""
    from streamlit.web import bootstrap

    main_script = str(Path(__file__).resolve().parent.parent / "main.py")
    flag_options = dashboard_options(settings)
    bootstrap.load_config_options(flag_options=flag_options)
    bootstrap.run(main_script, False, [], flag_options)


def masked_url(url: str) -> str:
    """``url`` with the password of its user part replaced by ``***`` (safe to print)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hostport}"))


def _urls(settings: Settings) -> list[str]:
    host = settings.bind if settings.bind not in ("0.0.0.0", "::") else "localhost"  # noqa: S104
    scheme = "https" if settings.tls_cert else "http"
    return [
        f"Dashboard       {scheme}://{host}:{settings.ui_port}",
        f"OTLP/HTTP       {scheme}://{host}:{settings.otlp_http_port}  (/v1/traces, /v1/metrics, /v1/logs)",
        f"OTLP/gRPC       {host}:{settings.otlp_grpc_port}",
        f"Metrics         {scheme}://{host}:{settings.otlp_http_port}/metrics  (/healthz, /readyz)",
        f"Store           {masked_url(settings.clickhouse_dsn)}",
    ]


@click.command("up")
@click.option("--demo", is_flag=True, help="Backfill demo history once, then run demo flows live.")
def up_command(demo: bool) -> None:
    """Run everything in one process: store, receivers, workers and the dashboard."""
    settings = load_settings()
    if demo and settings.pricing_file is None:
        settings = with_demo_prices(settings)
    check_exposure(settings, oidc=oidc_configured())
    check_ingest_exposure(settings)
    if settings.users_file is not None:
        load_users(settings.users_file)  # a malformed users file stops here, not at sign-in
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    store = Store(settings.clickhouse_dsn, cluster=settings.clickhouse_cluster)
    started: list[Service] = []
    try:
        migrate(store)
        apply_retention(store, settings.retention_days)
        set_current_store(store)
        for service in build_services(settings, store, demo=demo):
            service.start()
            started.append(service)
        click.echo("Flowmeter is up:")
        for line in _urls(settings):
            click.echo(f"  {line}")
        if not settings.users_file:
            click.echo("  Access          open (no users configured): localhost only")
        serve_dashboard(settings)
    finally:
        click.echo("Flowmeter is stopping...")
        stop_services(started)
        set_current_store(None)
        store.close()
    click.echo("Flowmeter stopped.")


COMMANDS = [up_command]
