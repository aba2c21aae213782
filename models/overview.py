"""What the store holds: row counts per table."""

from __future__ import annotations

import pandas as pd

from models.db import Store

__all__ = ["table_rows"]


def table_rows(store: Store) -> pd.DataFrame:
    """Rows and bytes of every table (migrations bookkeeping left out)."""
    frame = store.query_df("store/table_rows")
    return frame[frame["table"] != "flowmeter_migrations"].reset_index(drop=True)
