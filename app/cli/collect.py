"""``flowmeter collect``: the OTLP receivers alone (store, WAL, HTTP and gRPC), no dashboard."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import click

from app.exposure import check_ingest_exposure
from collectors.service import build_receivers
from models.db import Store, set_current_store
from models.lifecycle import Service, stop_services
from models.migrations import migrate
from models.retention import apply_retention
from models.settings import load_settings

__all__ = ["COMMANDS"]

logger = logging.getLogger(__name__)


@click.command("collect")
def collect_command() -> None:
    """Run only the OTLP/HTTP and OTLP/gRPC receivers until SIGINT/SIGTERM."""
    settings = load_settings()
    check_ingest_exposure(settings)
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stop = threading.Event()

    def _request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _request_stop)
    signal.signal(signal.SIGTERM, _request_stop)
    store = Store(settings.clickhouse_dsn, cluster=settings.clickhouse_cluster)
    started: list[Service] = []
    try:
        migrate(store)
        apply_retention(store, settings.retention_days)
        set_current_store(store)
        for service in build_receivers(settings, store):
            service.start()
            started.append(service)
        scheme = "https" if settings.tls_cert else "http"
        click.echo(
            f"Flowmeter collect is up: OTLP/HTTP {scheme}://{settings.bind}:"
            f"{settings.otlp_http_port}  OTLP/gRPC {settings.bind}:{settings.otlp_grpc_port}",
        )
        stop.wait()
    finally:
        click.echo("Flowmeter collect is stopping...")
        stop_services(started)
        set_current_store(None)
        store.close()
    click.echo("Flowmeter collect stopped.")


COMMANDS = [collect_command]
