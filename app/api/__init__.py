"""The HTTP API (``/api/v1``) served by the process that holds the store.

``flowmeter up`` and ``flowmeter collect`` run it as one more service (``ApiService``); the
CLI finds it through a file in the data directory (``discovery``) and talks to it with
``ApiClient`` while that process runs. The routes call the same ``models`` and
``app.actions`` functions as the CLI and the dashboard; nothing here holds SQL.
"""

from __future__ import annotations

from app.api.auth import Principal, parse_api_tokens
from app.api.client import ApiClient
from app.api.discovery import RuntimeFile, read_runtime_file
from app.api.service import ApiService

__all__ = [
    "ApiClient",
    "ApiService",
    "Principal",
    "RuntimeFile",
    "parse_api_tokens",
    "read_runtime_file",
]
