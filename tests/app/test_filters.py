"""The shared filters and their URL form."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.filters import Filters, bounded_window, bucket_minutes, parse_filters

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


def test_a_period_from_1970_to_2999_is_cut_to_the_maximum_with_notes() -> None:
    filters = parse_filters({"from": "1970-01-01", "to": "2999-12-31"}, NOW, max_days=30)
    assert filters.end == datetime(2026, 11, 27)  # the end of tomorrow
    assert filters.end - filters.start == timedelta(days=30)
    assert filters.notes == (
        "'to' is after 2026-11-26; the period ends there",
        "a period is at most 30 days (FLOWMETER_DASHBOARD_MAX_DAYS); showing "
        "2026-10-28 – 2026-11-26",
    )
    assert filters.to_params() == {"from": "2026-10-28", "to": "2026-11-26"}


def test_the_last_representable_day_does_not_overflow() -> None:
    filters = parse_filters({"from": "9999-12-31", "to": "9999-12-31"}, NOW)
    assert (filters.start, filters.end) == (datetime(2026, 11, 26), datetime(2026, 11, 27))


def test_a_period_within_the_limits_is_untouched() -> None:
    filters = parse_filters({"from": "2026-01-01", "to": "2026-11-26"}, NOW, max_days=400)
    assert filters.notes == ()
    assert (filters.start, filters.end) == (datetime(2026, 1, 1), datetime(2026, 11, 27))


def test_a_raw_window_is_bounded_too() -> None:
    start, end, note = bounded_window(datetime(1970, 1, 1), datetime(2999, 1, 1), NOW, 7)
    assert (start, end) == (datetime(2026, 11, 20), datetime(2026, 11, 27))
    assert "reached past 2026-11-26" in note and "at most 7 days" in note
    assert bounded_window(datetime(2026, 11, 24), datetime(2026, 11, 25), NOW, 7)[2] == ""
