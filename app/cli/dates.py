"""Date options of the command line."""

from __future__ import annotations

from datetime import date

import click

__all__ = ["parse_day"]


def parse_day(text: str, option: str) -> date:
    """``2026-03-01`` -> date; a clear click error naming the option otherwise."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a date like 2026-03-01", param_hint=option
        ) from None
