"""Fixtures for the ingest tests: a running Pipeline on the test's store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from collectors.pipeline import Pipeline
from models.db import Store
from models.settings import Settings, load_settings


def ingest_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for a test receiver: its own data dir, quick batches, no env leakage."""
    values: dict[str, Any] = {"batch_seconds": 0.2, "redact_secret": "test-key"}
    values.update(overrides)
    return load_settings(env={}, data_dir=data_dir, **values)


@pytest.fixture
def make_pipeline(store: Store, tmp_path: Path) -> Iterator[Callable[..., Pipeline]]:
    """Build and start a Pipeline (stopped at teardown); keyword args override settings."""
    started: list[Pipeline] = []

    def make(**overrides: Any) -> Pipeline:
        pipeline = Pipeline(ingest_settings(tmp_path / "data", **overrides), store)
        pipeline.start()
        started.append(pipeline)
        return pipeline

    yield make
    for pipeline in started:
        pipeline.stop(5)


def rows(store: Store, sql: str) -> list[dict[str, Any]]:
    """Ad hoc read through the read-only path, as dicts."""
    names, values = store.read_only(sql)
    return [dict(zip(names, row, strict=True)) for row in values]


@pytest.fixture
def make_receivers(
    make_pipeline: Callable[..., Pipeline],
) -> Iterator[Callable[..., tuple[Pipeline, Any, Any]]]:
    """Start a pipeline plus both receivers on free ports: (pipeline, http, grpc)."""
    from collectors.grpc_receiver import GrpcReceiver
    from collectors.http_receiver import HttpReceiver

    running: list[Any] = []

    def make(**overrides: Any) -> tuple[Pipeline, Any, Any]:
        pipeline = make_pipeline(**overrides)
        http = HttpReceiver(pipeline.settings, pipeline, port=0)
        grpc = GrpcReceiver(pipeline.settings, pipeline, port=0)
        http.start()
        running.append(http)
        grpc.start()
        running.append(grpc)
        return pipeline, http, grpc

    yield make
    for receiver in reversed(running):
        receiver.stop(2)
