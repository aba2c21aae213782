"""Baselines."""

from __future__ import annotations

from app import frame

ctx = frame.context()
frame.header("Baselines", ctx)
frame.empty_state()
