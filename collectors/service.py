"""What ``flowmeter up`` and ``flowmeter collect`` run for ingest, in start order."""

from __future__ import annotations

from collectors.grpc_receiver import GrpcReceiver
from collectors.http_receiver import HttpReceiver
from collectors.pipeline import Pipeline
from models.db import Store
from models.lifecycle import Service
from models.settings import Settings

__all__ = ["build_receivers"]


def build_receivers(settings: Settings, store: Store) -> list[Service]:
    """The ingest pipeline (WAL replay, writer) then the OTLP/HTTP and OTLP/gRPC receivers."""
    pipeline = Pipeline(settings, store)
    return [pipeline, HttpReceiver(settings, pipeline), GrpcReceiver(settings, pipeline)]
