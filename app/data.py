"""Cached reads for the views: each calls one models (or orchestrator) function on the store.

Every function takes the tenants the reader may see as an argument, so the cache key holds
the tenant scope and one user's cached numbers are never served to another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from models import dimensions as catalog
from models import overview
from models.db import current_store
from models.settings import load_settings

Tenants = tuple[str, ...] | None

TTL_SECONDS = load_settings().cache_ttl_seconds


@dataclass(frozen=True)
class Freshness:
    """The newest record the reader may see, and when the dashboard read it."""

    latest: datetime | None
    read_at: datetime


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def table_rows() -> pd.DataFrame:
    """Rows and bytes per table."""
    return overview.table_rows(current_store())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def dimensions(tenants: Tenants) -> dict[str, list[str]]:
    """Tenants, product lines and workflows for the sidebar."""
    return catalog.dimension_values(current_store(), tenants)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def freshness(tenants: Tenants) -> Freshness:
    """When the newest visible record happened; read_at is when this was asked."""
    latest = catalog.newest_record(current_store(), tenants)
    return Freshness(latest, datetime.now(UTC).replace(tzinfo=None))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def store_is_empty() -> bool:
    """True when no table holds a row (the first-run empty state)."""
    rows = overview.table_rows(current_store())
    return rows.empty or int(rows["rows"].sum()) == 0
