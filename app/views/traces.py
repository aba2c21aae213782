"""Trace Explorer."""

from __future__ import annotations

from app import frame

ctx = frame.context()
frame.header("Trace Explorer", ctx)
frame.empty_state()
