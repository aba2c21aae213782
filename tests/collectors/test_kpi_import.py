"""KPI files (CSV, JSON Lines): validation with line numbers, chunked idempotent import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors.kpi_import import BadRow, KpiFile, import_kpi_file, validate_kpi_file
from collectors.redaction import Redactor
from models.db import Store
from models.errors import KpiContractError

NO_REDACTION = Redactor((), "")  # these tests are about the file format

HEADER = "event_id,ts,kpi,value,amount,currency,entity_id,tenant_id,attributes\n"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _count(store: Store) -> int:
    _, rows = store.read_only("SELECT count() FROM business_events")
    return int(rows[0][0])


def test_csv_rows_become_events_with_empty_cells_absent(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "k.csv",
        HEADER
        + "e1,2026-11-25T10:00:00Z,order_advanced,,,,,,\n"
        + 'e2,2026-11-25T11:00:00+01:00,invoice_posted,2,99.90,EUR,i-7,acme,"{""channel"": ""web""}"\n',
    )
    rows = list(KpiFile(path).rows())
    assert [line for line, _ in rows] == [2, 3]
    first, second = (event for _, event in rows)
    assert not isinstance(first, BadRow) and not isinstance(second, BadRow)
    assert (first.value, first.amount, first.entity_id) == (1.0, None, None)
    assert str(second.amount) == "99.90"
    assert second.attributes == {"channel": "web"}
    assert second.ts.isoformat() == "2026-11-25T10:00:00+00:00"


def test_bad_csv_rows_carry_their_line_numbers(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "k.csv",
        HEADER
        + "ok,2026-11-25T10:00:00Z,x,,,,,,\n"
        + 'multi,2026-11-25T10:00:00Z,x,,,,,,"{""note"": ""two\nlines""}"\n'  # lines 3-4
        + "no-currency,2026-11-25T10:00:00Z,x,,10,,,,\n"  # line 5
        + "\n"  # blank line 6 is skipped
        + "short,2026-11-25T10:00:00Z\n"  # line 7
        + "attrs,2026-11-25T10:00:00Z,x,,,,,,not-json\n"  # line 8
        + ",2026-11-25T10:00:00Z,Bad Name,,,,,,\n",  # line 9
    )
    report = validate_kpi_file(KpiFile(path))
    assert (report.rows, report.valid, report.bad_count) == (6, 2, 4)
    assert [(row.line, row.reason.split(":")[0]) for row in report.bad] == [
        (5, "currency"),
        (7, "expected 9 cells as in the header, found 2"),
        (8, "attributes"),
        (9, "event_id"),
    ]
    assert "kpi: String should match pattern" in report.bad[3].reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "empty file, expected a header line"),
        ("event_id,ts,kpi,amout\n", "unknown columns ['amout']"),
        ("event_id,ts\n", "missing required columns ['kpi']"),
        ("event_id,ts,kpi,kpi\n", "repeated columns ['kpi']"),
    ],
)
def test_bad_header_refuses_the_file(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path / "k.csv", text)
    with pytest.raises(KpiContractError, match=r"k\.csv") as caught:
        validate_kpi_file(KpiFile(path))
    assert expected in str(caught.value)


def test_unknown_file_type_and_non_utf8_are_refused(tmp_path: Path) -> None:
    with pytest.raises(KpiContractError, match=r"unknown file type '\.xlsx'; use \.csv or \.jsonl"):
        KpiFile(_write(tmp_path / "k.xlsx", ""))
    path = tmp_path / "k.csv"
    path.write_bytes(HEADER.encode() + b"e1,2026-11-25T10:00:00Z,caf\xe9,,,,,,\n")
    with pytest.raises(KpiContractError, match=r"k\.csv line 2: not UTF-8 text"):
        validate_kpi_file(KpiFile(path))


@pytest.mark.parametrize("newline", ["\r\n", "\r", "\n"])
def test_any_line_ending(tmp_path: Path, newline: str) -> None:
    rows = [HEADER.strip(), "e1,2026-11-25T10:00:00Z,x,,,,,,", "e2,2026-11-25T10:00:00Z,x,,5,,,,"]
    path = tmp_path / "k.csv"
    path.write_bytes(newline.join(rows).encode() + newline.encode())
    report = validate_kpi_file(KpiFile(path))
    assert (report.valid, [row.line for row in report.bad]) == (1, [3])


def test_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + HEADER.encode() + b"e1,2026-11-25T10:00:00Z,x,,,,,,\n")
    assert validate_kpi_file(KpiFile(path)).valid == 1


def test_jsonl_rows(tmp_path: Path) -> None:
    good = {"event_id": "j1", "ts": "2026-11-25T10:00:00Z", "kpi": "x", "amount": 0.1}
    path = _write(
        tmp_path / "k.jsonl",
        json.dumps({**good, "currency": "EUR"})
        + "\n\n"
        + "{broken\n"
        + "[1]\n"
        + json.dumps(good)
        + "\n",
    )
    report = validate_kpi_file(KpiFile(path))
    assert (report.rows, report.valid) == (4, 1)
    assert [(r.line, r.reason.split(" (")[0]) for r in report.bad] == [
        (3, "not valid JSON"),
        (4, "expected a JSON object per line"),
        (5, "currency: required when an amount is set"),
    ]


def test_tenant_option_wins_over_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "k.csv", HEADER + "e1,2026-11-25T10:00:00Z,x,,,,,spoofed,\n")
    [(_, event)] = list(KpiFile(path, tenant="acme").rows())
    assert not isinstance(event, BadRow)
    assert event.tenant_id == "acme"


def test_progress_reports_every_byte(tmp_path: Path) -> None:
    path = _write(tmp_path / "k.csv", HEADER + "e1,2026-11-25T10:00:00Z,x,,,,,,\n")
    seen: list[int] = []
    validate_kpi_file(KpiFile(path), seen.append)
    assert sum(seen) == path.stat().st_size


def test_import_writes_in_chunks_and_twice_adds_nothing(store: Store, tmp_path: Path) -> None:
    lines = [f"e{i},2026-11-25T10:00:00Z,order_advanced,,,,,,\n" for i in range(25)]
    lines.insert(10, "e3,2026-11-25T10:00:00Z,order_advanced,,,,,,\n")  # repeated in the file
    path = _write(tmp_path / "k.csv", HEADER + "".join(lines))
    first = import_kpi_file(store, KpiFile(path), redactor=NO_REDACTION, chunk_rows=7)
    assert (first.valid, first.written) == (26, 25)
    assert _count(store) == 25
    second = import_kpi_file(store, KpiFile(path), redactor=NO_REDACTION, chunk_rows=7)
    assert (second.valid, second.written) == (26, 0)
    assert _count(store) == 25


def test_import_skips_bad_rows(store: Store, tmp_path: Path) -> None:
    path = _write(
        tmp_path / "k.csv",
        HEADER + "ok,2026-11-25T10:00:00Z,x,,,,,,\nbad,2026-11-25T10:00:00Z,x,,1,,,,\n",
    )
    report = import_kpi_file(store, KpiFile(path), redactor=NO_REDACTION)
    assert (report.written, report.bad_count) == (1, 1)
    assert report.bad[0].line == 3
    _, rows = store.read_only("SELECT event_id FROM business_events")
    assert rows == [("ok",)]


def test_the_readme_example_file_is_valid(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    example = readme.split("```csv\n", 1)[1].split("```", 1)[0]
    report = validate_kpi_file(KpiFile(_write(tmp_path / "example.csv", example)))
    assert (report.valid, report.bad) == (2, [])


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.binary(max_size=300)
    | st.text(alphabet=st.sampled_from(',"\n\r{}[]:aZ0-.\x00 \ufeffé'), max_size=300).map(
        str.encode
    ),
    st.sampled_from(["k.csv", "k.jsonl"]),
    st.booleans(),
)
def test_random_files_never_crash(tmp_path: Path, content: bytes, name: str, header: bool) -> None:
    path = tmp_path / name
    path.write_bytes((HEADER.encode() if header and name.endswith(".csv") else b"") + content)
    try:
        report = validate_kpi_file(KpiFile(path))
    except KpiContractError as exc:
        assert name in str(exc)
        return
    assert report.rows == report.valid + report.bad_count
