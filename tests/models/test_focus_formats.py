"""FOCUS 1.0-1.3 in CSV, gzip and Parquet (AWS and Azure shapes), folders and manifests, quirks.

Each file is written here the way that exporter writes it; each import is checked to the
cent against sums computed independently with Decimal from the values written, and imported
twice (the second import changes nothing).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from models.costs import import_cost_file
from models.db import Store
from models.errors import CostImportError
from models.focus import read_focus
from models.focus_columns import detect_version, map_columns

KEYS = ("tenant", "product_line", "workflow")
COSTS = ["12.345678", "0.000001", "1000.10", "3.5", "0", "-2.25"]


def records(version: str, account: str = "acct-9") -> list[dict[str, Any]]:
    """Rows with the columns of ``version``; costs as exact decimal strings."""
    rows = []
    for i, cost in enumerate(COSTS):
        row: dict[str, Any] = {
            "BillingAccountId": account, "BillingAccountName": "Nimbus",
            "BillingCurrency": "EUR", "BillingPeriodStart": datetime(2026, 5, 1, tzinfo=UTC),
            "BillingPeriodEnd": datetime(2026, 6, 1, tzinfo=UTC),
            "ChargePeriodStart": datetime(2026, 5, 1 + i, tzinfo=UTC),
            "ChargePeriodEnd": datetime(2026, 5, 2 + i, tzinfo=UTC),
            "BilledCost": cost, "EffectiveCost": cost, "ListCost": cost, "ContractedCost": cost,
            "ChargeCategory": "Usage", "ChargeClass": None, "ChargeFrequency": "Usage-Based",
            "ServiceName": "Virtual Machines", "ServiceCategory": "Compute",
            "InvoiceIssuerName": "Microsoft", "ProviderName": "Microsoft",
            "PublisherName": "Microsoft", "RegionId": "westeurope", "ResourceId": f"vm-{i}",
            "Tags": {"tenant": "acme"} if i % 2 else {},
            "x_SkuMeterCategory": "Compute",
        }  # fmt: skip
        if version >= "1.1":
            row |= {"ServiceSubcategory": "Virtual Machines", "SkuMeter": "D2 v3"}
        if version >= "1.2":
            row |= {"InvoiceId": "INV-1", "PricingCurrency": "EUR", "BillingAccountType": "EA"}
        if version >= "1.3":
            del row["ProviderName"], row["PublisherName"]
            row |= {"ServiceProviderName": "Microsoft", "HostProviderName": "Microsoft"}
        rows.append(row)
    return rows


def expected(rows: list[dict[str, Any]]) -> Decimal:
    return sum((Decimal(str(r["BilledCost"])) for r in rows), Decimal(0))


def _csv_text(rows: list[dict[str, Any]], *, crlf: bool = False) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n" if crlf else "\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {k: (v.isoformat().replace("+00:00", "Z") if isinstance(v, datetime) else
                 json.dumps(v) if isinstance(v, dict) else "" if v is None else v)
             for k, v in row.items()}
        )  # fmt: skip
    return out.getvalue()


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text(_csv_text(rows), encoding="utf-8")
    return path


def write_gzip(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_bytes(gzip.compress(_csv_text(rows).encode()))
    return path


def write_aws_parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    """AWS Data Exports shape: INT96 timestamps, DECIMAL(38,18) costs, Tags as a map."""
    money = pa.decimal128(38, 18)
    columns: dict[str, pa.Array] = {}
    for name in rows[0]:
        values = [r[name] for r in rows]
        if name.endswith("Cost"):
            columns[name] = pa.array([Decimal(v) for v in values], type=money)
        elif name == "Tags":
            columns[name] = pa.array([list(v.items()) for v in values],
                                     type=pa.map_(pa.string(), pa.string()))  # fmt: skip
        elif isinstance(values[0], datetime):
            columns[name] = pa.array(values, type=pa.timestamp("ns"))
        else:
            columns[name] = pa.array(values, type=pa.string())
    pq.write_table(pa.table(columns), path, use_deprecated_int96_timestamps=True)
    return path


def write_azure_parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Azure exports shape: timestamp[us, UTC], double costs, Tags as a JSON string."""
    columns: dict[str, pa.Array] = {}
    for name in rows[0]:
        values = [r[name] for r in rows]
        if name.endswith("Cost"):
            columns[name] = pa.array([float(v) for v in values], type=pa.float64())
        elif name == "Tags":
            columns[name] = pa.array([json.dumps(v) for v in values], type=pa.string())
        elif isinstance(values[0], datetime):
            columns[name] = pa.array(values, type=pa.timestamp("us", tz="UTC"))
        else:
            columns[name] = pa.array(values, type=pa.string())
    pq.write_table(pa.table(columns), path)
    return path


def stored(store: Store) -> tuple[int, Decimal]:
    _, rows = store.read_only("SELECT count(), sum(BilledCost) FROM cost_records_current")
    return int(rows[0][0]), Decimal(rows[0][1])


WRITERS = {"csv": (write_csv, "f.csv"), "gzip": (write_gzip, "f.csv.gz"),
           "aws-parquet": (write_aws_parquet, "f.parquet"),
           "azure-parquet": (write_azure_parquet, "part_0_0001.parquet")}  # fmt: skip


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2", "1.3"])
@pytest.mark.parametrize("shape", list(WRITERS))
def test_each_version_and_format_imports_to_the_cent_twice(
    store: Store, tmp_path: Path, version: str, shape: str
) -> None:
    rows = records(version)
    writer, name = WRITERS[shape]
    path = writer(tmp_path / name, rows)
    first = import_cost_file(store, path, tag_keys=KEYS)
    assert first.report is not None and first.report.version == version
    assert "x_SkuMeterCategory" in first.report.kept and first.report.ignored == []
    assert stored(store) == (len(COSTS), expected(rows))
    second = import_cost_file(store, path, tag_keys=KEYS)
    assert second.rows == 0 and stored(store) == (len(COSTS), expected(rows))
    _, kept = store.read_only(
        "SELECT x_columns['x_SkuMeterCategory'], ProviderName, x_tenant, "
        "toString(ChargePeriodStart) FROM cost_records_current ORDER BY ChargePeriodStart LIMIT 2"
    )
    assert kept == [("Compute", "Microsoft", "", "2026-05-01 00:00:00.000"),
                    ("Compute", "Microsoft", "acme", "2026-05-02 00:00:00.000")]  # fmt: skip


def test_a_folder_of_parts_and_an_aws_manifest(store: Store, tmp_path: Path) -> None:
    export = tmp_path / "focus-export"
    data = export / "data" / "BILLING_PERIOD=2026-05"
    data.mkdir(parents=True)
    first, second = records("1.0", "acct-a"), records("1.0", "acct-b")
    write_gzip(data / "focus-export-00001.csv.gz", first)
    write_gzip(data / "focus-export-00002.csv.gz", second)
    (data / "focus-export-00003.csv.gz").write_bytes(b"not listed: must not be read")
    meta = export / "metadata" / "BILLING_PERIOD=2026-05"
    meta.mkdir(parents=True)
    manifest = meta / "focus-export-Manifest.json"
    uri = "s3://bucket/prefix/focus-export/data/BILLING_PERIOD=2026-05/focus-export-0000{}.csv.gz"
    manifest.write_text(
        json.dumps({"executionId": "x", "dataFiles": [uri.format(1), uri.format(2)]})
    )
    result = import_cost_file(store, manifest, tag_keys=KEYS)
    assert result.report is not None and len(result.report.parts) == 2
    assert stored(store) == (2 * len(COSTS), expected(first) + expected(second))

    (data / "focus-export-00003.csv.gz").unlink()
    manifest.unlink()
    folder = import_cost_file(store, data, tag_keys=KEYS)  # a folder of parts, no manifest
    assert folder.rows == 0 and len(folder.slices_unchanged) == 2

    manifest.write_text(json.dumps({"dataFiles": [uri.format(1), uri.format(7)]}))
    with pytest.raises(CostImportError, match=r"focus-export-00007\.csv\.gz"):
        import_cost_file(store, manifest, tag_keys=KEYS)


def test_an_azure_manifest(store: Store, tmp_path: Path) -> None:
    run = tmp_path / "run-1"
    run.mkdir()
    rows = records("1.2")
    write_azure_parquet(run / "part_0_0001.parquet", rows)
    (run / "manifest.json").write_text(json.dumps(
        {"blobs": [{"blobName": "exports/focus/20260501-20260531/run-1/part_0_0001.parquet"}]}
    ))  # fmt: skip
    import_cost_file(store, run / "manifest.json", tag_keys=KEYS)
    assert stored(store) == (len(COSTS), expected(rows))


def test_quirks_nulls_timestamps_bom_crlf_case_and_renames(store: Store, tmp_path: Path) -> None:
    header = ("\ufeffBillingAccountId,BillingCurrency,BillingPeriodStart,BillingPeriodEnd,"
              "ChargePeriodStart,ChargePeriodEnd,BilledCost,AmortizedCost,ChargeType,"
              "ContractedCost,ServiceName,Tags,InvoiceID,ChargeFrequency,Mystery")  # fmt: skip
    lines = [
        header,
        "a,usd,2026-05-01 00:00:00,2026-06-01 00:00:00,2026-05-01T00:00:00Z,2026-05-02,1.10,1.00,"
        "usage,NULL,S3,NULL,I-1,Usage-based,?",
        "a,USD,2026-05-01T00:00:00+00:00,2026-06-01T00:00:00.0000000Z,2026-05-02 00:00:00 UTC,"
        '2026-05-03T02:00:00+02:00,2.20,2.00,Usage,None,S3,"{""tenant"": ""acme""}",I-1,,?',
        'a,USD,2026-05-01,2026-06-01,2026-05-03,2026-05-04,3.30,3.00,USAGE,,S3,"""tenant"": ""x""",'
        "I-1,One-time,?",
    ]
    path = tmp_path / "quirks.csv"
    path.write_bytes("\r\n".join(lines).encode() + b"\r\n")
    rows, report = read_focus(path, tag_keys=KEYS)
    assert report.version == "0.5"  # AmortizedCost and ChargeType: names of 0.5
    assert report.renamed == {"AmortizedCost": "EffectiveCost", "ChargeType": "ChargeCategory",
                              "InvoiceID": "InvoiceId"}  # fmt: skip
    assert report.ignored == ["Mystery"]
    assert rows.columns["ChargeCategory"] == ["Usage"] * 3
    assert rows.columns["BillingCurrency"] == ["USD"] * 3
    assert rows.columns["ContractedCost"] == [None] * 3
    assert rows.columns["ChargePeriodStart"] == [datetime(2026, 5, d) for d in (1, 2, 3)]
    assert rows.columns["ChargePeriodEnd"][1] == datetime(2026, 5, 3)  # +02:00 -> UTC
    assert rows.columns["x_tenant"] == ["", "acme", "x"]  # Azure's brace-less tags too
    frequencies = [c.get("ChargeFrequency") for c in rows.columns["x_columns"]]
    assert frequencies == ["Usage-Based", None, "One-Time"]
    assert "ContractedCost: 3 null value(s), stored as null (first: line 2, line 3, line 4)" in (
        report.warnings()
    )
    result = import_cost_file(store, path, tag_keys=KEYS)
    assert stored(store) == (3, Decimal("6.60")) and result.rows == 3


def test_skip_bad_names_the_lines_and_imports_the_rest(store: Store, tmp_path: Path) -> None:
    rows = records("1.2")
    rows[1]["BilledCost"] = "twelve"
    rows[3]["ChargePeriodStart"] = "not a date"
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(CostImportError, match="nothing was imported") as caught:
        import_cost_file(store, path, tag_keys=KEYS)
    assert "line 3: BilledCost 'twelve' is not a number" in str(caught.value)
    assert "line 5: ChargePeriodStart 'not a date' is not an ISO 8601 date" in str(caught.value)
    assert stored(store) == (0, Decimal(0))

    result = import_cost_file(store, path, tag_keys=KEYS, skip_bad=True)
    assert result.report is not None and result.report.bad_rows == ["line 3", "line 5"]
    good = [r for i, r in enumerate(rows) if i not in (1, 3)]
    assert stored(store) == (4, expected(good))
    assert "rows read: 6; valid: 4; bad: 2" in result.report.lines()


def test_version_detection_and_mapping() -> None:
    assert detect_version(["BilledCost", "ContractedCost"]) == "1.0"
    assert detect_version(["BilledCost", "SkuMeter"]) == "1.1"
    assert detect_version(["BilledCost", "InvoiceId", "SkuMeter"]) == "1.2"
    assert detect_version(["BilledCost", "ServiceProviderName"]) == "1.3"
    assert detect_version(["AmortizedCost", "ChargeType", "UsageQuantity"]) == "0.5"
    both = map_columns(["EffectiveCost", "AmortizedCost", "x_Foo", "Id"])
    assert both.focus == {"EffectiveCost": "EffectiveCost"}  # the current name wins
    assert both.provider == ["x_Foo"] and both.ignored == ["AmortizedCost", "Id"]


def test_every_row_bad_or_no_rows_is_refused(store: Store, tmp_path: Path) -> None:
    rows = records("1.0")[:1]
    rows[0]["BilledCost"] = "?"
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(CostImportError, match="every row is bad"):
        import_cost_file(store, path, tag_keys=KEYS, skip_bad=True)
    empty = tmp_path / "empty.csv"
    empty.write_text(_csv_text(rows).splitlines()[0] + "\n")
    with pytest.raises(CostImportError, match="header but no rows"):
        import_cost_file(store, empty, tag_keys=KEYS)
