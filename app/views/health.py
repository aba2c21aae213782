"""System Health."""

from __future__ import annotations

from app import frame

ctx = frame.context()
frame.header("System Health", ctx)
frame.empty_state()
