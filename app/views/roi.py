"""Executive ROI."""

from __future__ import annotations

from app import frame

ctx = frame.context()
frame.header("Executive ROI", ctx)
frame.empty_state()
