"""The shared filters and their URL form."""

from __future__ import annotations

from datetime import datetime

from app.filters import Filters, bucket_minutes, parse_filters

NOW = datetime(2026, 11, 25, 12, 30, 15)


def test_defaults_to_the_last_seven_days_ending_on_the_next_minute() -> None:
    filters = parse_filters({}, NOW)
    assert filters.range_key == "7d"
    assert filters.end == datetime(2026, 11, 25, 12, 31)
    assert filters.start == datetime(2026, 11, 18, 12, 31)
    assert filters.to_params() == {}
    assert filters.previous == (datetime(2026, 11, 11, 12, 31), filters.start)


def test_round_trip_through_the_url() -> None:
    params = {"range": "24h", "tenant": "acme", "workflow": "invoice"}
    filters = parse_filters(params, NOW)
    assert (filters.tenant, filters.workflow, filters.product_line) == ("acme", "invoice", "")
    assert filters.to_params() == params
    assert parse_filters(filters.to_params(), NOW) == filters


def test_custom_dates_cover_whole_days() -> None:
    filters = parse_filters({"from": "2026-11-01", "to": "2026-11-07"}, NOW)
    assert (filters.start, filters.end) == (datetime(2026, 11, 1), datetime(2026, 11, 8))
    assert filters.label == "2026-11-01 – 2026-11-07"
    assert filters.to_params() == {"from": "2026-11-01", "to": "2026-11-07"}


def test_bad_values_fall_back_with_a_note() -> None:
    assert "unknown range 'forever'" in parse_filters({"range": "forever"}, NOW).notes[0]
    bad_date = parse_filters({"from": "yesterday"}, NOW)
    assert bad_date.range_key == "7d" and "must be dates" in bad_date.notes[0]
    backwards = parse_filters({"from": "2026-11-07", "to": "2026-11-01"}, NOW)
    assert "before 'from'" in backwards.notes[0]


def test_describe_names_every_filter() -> None:
    text = parse_filters({"tenant": "acme"}, NOW).describe()
    assert "Last 7 days" in text and "tenant: acme" in text and "workflow: all" in text


def test_bucket_minutes_grow_with_the_period() -> None:
    day = parse_filters({"range": "24h"}, NOW)
    month = parse_filters({"range": "30d"}, NOW)
    assert bucket_minutes(day.start, day.end) < bucket_minutes(month.start, month.end)
    assert isinstance(day, Filters)
