"""Operations."""

from __future__ import annotations

from app import frame

ctx = frame.context()
frame.header("Operations", ctx)
frame.empty_state()
