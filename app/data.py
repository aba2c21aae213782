"""Cached reads for the views: each calls one models function on the process-wide store."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from models import overview
from models.db import current_store

TTL_SECONDS = 30


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def table_rows() -> pd.DataFrame:
    """Rows and bytes per table."""
    return overview.table_rows(current_store())
