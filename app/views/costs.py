"""Cost Attribution."""

from __future__ import annotations

from app import frame

ctx = frame.context()
frame.header("Cost Attribution", ctx)
frame.empty_state()
