"""The shared filters (period, tenant, product line, workflow) and their URL form.

Pure: views read a ``Filters``; ``app/frame.py`` keeps it in ``st.query_params`` so every view
is a shareable link. Bad values in a hand-edited URL fall back to defaults with a note, and
a period longer than FLOWMETER_DASHBOARD_MAX_DAYS (or reaching past tomorrow) is cut to fit,
with a note, so no link can make every query scan all of history.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

__all__ = ["PERIODS", "Filters", "bounded_window", "bucket_minutes", "parse_filters"]

# range key -> (label, length)
PERIODS: dict[str, tuple[str, timedelta]] = {
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "14d": ("Last 14 days", timedelta(days=14)),
    "30d": ("Last 30 days", timedelta(days=30)),
    "90d": ("Last 90 days", timedelta(days=90)),
}
DEFAULT_PERIOD = "7d"
CUSTOM = "custom"
FILTER_KEYS = ("range", "from", "to", "tenant", "product_line", "workflow")
DEFAULT_MAX_DAYS = 400  # FLOWMETER_DASHBOARD_MAX_DAYS


@dataclass(frozen=True)
class Filters:
    """What every view shows: a period [start, end) in UTC and optional dimension filters."""

    range_key: str
    start: datetime
    end: datetime
    tenant: str = ""
    product_line: str = ""
    workflow: str = ""
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def label(self) -> str:
        """The period in words: ``Last 7 days`` or ``2026-11-01 – 2026-11-07``."""
        if self.range_key in PERIODS:
            return PERIODS[self.range_key][0]
        last_day = (self.end - timedelta(seconds=1)).date()
        return f"{self.start.date().isoformat()} – {last_day.isoformat()}"

    @property
    def previous(self) -> tuple[datetime, datetime]:
        """The period of the same length just before this one."""
        return self.start - (self.end - self.start), self.start

    def describe(self, quote: Callable[[str], str] = str) -> str:
        """One line naming the period and each active filter (values passed through ``quote``,
        e.g. ``md_code`` where the line is rendered as Markdown: they come from the URL)."""
        parts = [f"{self.label} ({self.start:%Y-%m-%d %H:%M} – {self.end:%Y-%m-%d %H:%M} UTC)"]
        for name, value in (
            ("tenant", self.tenant),
            ("product line", self.product_line),
            ("workflow", self.workflow),
        ):
            parts.append(f"{name}: {quote(value) if value else 'all'}")
        return " · ".join(parts)

    def to_params(self) -> dict[str, str]:
        """The query parameters that reproduce these filters (defaults left out)."""
        params: dict[str, str] = {}
        if self.range_key == CUSTOM:
            params["from"] = self.start.date().isoformat()
            params["to"] = (self.end - timedelta(seconds=1)).date().isoformat()
        elif self.range_key != DEFAULT_PERIOD:
            params["range"] = self.range_key
        for key in ("tenant", "product_line", "workflow"):
            value = getattr(self, key)
            if value:
                params[key] = value
        return params

    def with_period(self, range_key: str, now: datetime) -> Filters:
        """The same filters over a preset period ending now."""
        start, end = _preset(range_key, now)
        return replace(self, range_key=range_key, start=start, end=end, notes=())


def _minute_ceiling(now: datetime) -> datetime:
    now = now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo else now
    floor = now.replace(second=0, microsecond=0)
    return floor if floor == now else floor + timedelta(minutes=1)


def _preset(range_key: str, now: datetime) -> tuple[datetime, datetime]:
    # Ending on a whole minute keeps the period (and so the cache key) stable for a minute.
    end = _minute_ceiling(now)
    return end - PERIODS[range_key][1], end


def _date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        return None


def bounded_window(
    start: datetime, end: datetime, now: datetime, max_days: int = DEFAULT_MAX_DAYS
) -> tuple[datetime, datetime, str]:
    """[start, end) cut to end with tomorrow and last at most ``max_days``; a note when cut."""
    tomorrow = _minute_ceiling(now).date() + timedelta(days=1)
    latest = datetime.combine(tomorrow + timedelta(days=1), time())
    notes: list[str] = []
    if end > latest:
        end = latest
        notes.append(f"the period reached past {tomorrow.isoformat()}; it now ends there")
    if end - start > timedelta(days=max_days):
        start = end - timedelta(days=max_days)
        notes.append(
            f"a period is at most {max_days} days (FLOWMETER_DASHBOARD_MAX_DAYS); showing "
            f"{start:%Y-%m-%d} – {(end - timedelta(seconds=1)):%Y-%m-%d}"
        )
    return start, end, "; ".join(notes)


def parse_filters(
    params: Mapping[str, str], now: datetime, max_days: int = DEFAULT_MAX_DAYS
) -> Filters:
    """Filters from URL query parameters; a bad value is replaced by its default, with a note."""
    notes: list[str] = []
    dims = {key: str(params.get(key, "")).strip() for key in ("tenant", "product_line", "workflow")}
    raw_from, raw_to = params.get("from", ""), params.get("to", "")
    if raw_from or raw_to:
        first, last = _date(str(raw_from)), _date(str(raw_to) or date.today().isoformat())
        if first is None or last is None:
            notes.append(f"from/to must be dates like 2026-11-01; showing {PERIODS['7d'][0]}")
        elif last < first:
            notes.append("'to' is before 'from'; showing the default period")
        else:
            tomorrow = _minute_ceiling(now).date() + timedelta(days=1)
            if last > tomorrow:  # cut here: 9999-12-31 + 1 day would overflow
                notes.append(f"'to' is after {tomorrow.isoformat()}; the period ends there")
                last, first = tomorrow, min(first, tomorrow)
            start = datetime.combine(first, time())
            end = datetime.combine(last + timedelta(days=1), time())
            start, end, cut = bounded_window(start, end, now, max_days)
            if cut:
                notes.append(cut)
            return Filters(CUSTOM, start, end, **dims, notes=tuple(notes))
    range_key = str(params.get("range") or DEFAULT_PERIOD)
    if range_key not in PERIODS:
        notes.append(f"unknown range {range_key!r}; use one of {', '.join(PERIODS)}")
        range_key = DEFAULT_PERIOD
    start, end = _preset(range_key, now)
    return Filters(range_key, start, end, **dims, notes=tuple(notes))


def bucket_minutes(start: datetime, end: datetime) -> int:
    """A chart bucket that gives a few hundred points at most over the period."""
    span = end - start
    if span <= timedelta(days=1):
        return 15
    if span <= timedelta(days=14):
        return 60
    if span <= timedelta(days=31):
        return 180
    return 720
