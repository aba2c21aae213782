"""A real API service (uvicorn on a free port) over a seeded chDB store and SQLite engine."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app.api.service import ApiService
from models.settings import load_settings
from tests.app.seed import EngineWorld, World, seed, seed_engine
from tests.builders import module_store
from tests.conftest import free_port

# token -> FLOWMETER_API_TOKENS value
TOKENS = {
    "exec-a-0123456789abcdef": "tenant-a",  # no role: executive
    "eng-a-0123456789abcdef": "engineer:tenant-a",
    "eng-b-0123456789abcdef": "engineer:tenant-b",
    "eng-all-0123456789abcdef": "engineer:*",
    "fin-a-0123456789abcdef": "finance:tenant-a",
    "fin-all-0123456789abcdef": "finance:*",
    "admin-0123456789abcdef": "admin:*",
}
EXEC_A, ENG_A, ENG_B, ENG_ALL, FIN_A, FIN_ALL, ADMIN = TOKENS
TENANT_B_MARKS = ("tenant-b", "1234.56", "2500", "corr-b-", "invoice_posted")


@dataclass
class Reply:
    """One HTTP answer."""

    status: int
    body: bytes
    content_type: str

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Api:
    """The running service and the seeded world."""

    service: ApiService
    world: World
    engine: EngineWorld
    period: dict[str, str]

    def call(
        self, method: str, path: str, token: str | None = None, *, body: Any = None,
        data: bytes | None = None, headers: dict[str, str] | None = None,
    ) -> Reply:  # fmt: skip
        sent = dict(headers or {})
        if token is not None:
            sent["authorization"] = f"Bearer {token}"
        payload = data
        if body is not None:
            payload = json.dumps(body).encode()
            sent["content-type"] = "application/json"
        request = urllib.request.Request(
            self.service.url + path, data=payload, method=method, headers=sent
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return Reply(response.status, response.read(),
                             response.headers.get("content-type", ""))  # fmt: skip
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.read(), error.headers.get("content-type", ""))

    def get(self, path: str, token: str | None = None, **params: str) -> Reply:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return self.call("GET", f"/api/v1{path}" + (f"?{query}" if query else ""), token)


@pytest.fixture(scope="module")
def api(engine_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    folder: Path = tmp_path_factory.mktemp("api")
    store = module_store(engine_dsn)
    world = seed(store)
    state_dsn = f"sqlite:///{folder / 'orchestrator.db'}"
    engine_world = seed_engine(state_dsn)
    settings = load_settings(env={
        "FLOWMETER_DATA_DIR": str(folder / "data"),
        "FLOWMETER_ORCHESTRATOR_DB_URL": state_dsn,
        "FLOWMETER_OTLP_HTTP_PORT": str(free_port()),  # nobody listens: replays still work
        "FLOWMETER_API_TOKENS": ",".join(f"{t}={v}" for t, v in TOKENS.items()),
    })  # fmt: skip
    service = ApiService(settings, store, port=0)
    service.start()
    first = (world.now - timedelta(days=3)).date().isoformat()
    last = world.now.date().isoformat()
    try:
        yield Api(service, world, engine_world, {"from": first, "to": last})
    finally:
        service.stop(5.0)
        store.close()
