"""Cost files as clouds deliver them -> text frames: CSV (plain or gzip), Parquet, folders, manifests.

The format is read from the bytes, not the name (``part-0001.csv.gz`` and a renamed download
both work). A folder means every CSV/Parquet part below it; a manifest (AWS Data Exports
``Manifest.json`` with ``dataFiles``, Azure exports' ``manifest.json`` with ``blobs``) names its
parts, which are looked up under the manifest's export folder. Every cell comes back as text
(Parquet timestamps, decimals and maps as Python values) so one validator serves all formats.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath

import pandas as pd

from models.errors import CostImportError

__all__ = ["CostPart", "cost_parts", "read_part"]

_GZIP = b"\x1f\x8b"
_PARQUET = b"PAR1"
_DATA_SUFFIXES = (".csv", ".csv.gz", ".gz", ".parquet", ".txt")


@dataclass(frozen=True)
class CostPart:
    """One data file of an import and how its rows are named in messages."""

    path: Path
    label: str  # the name used in messages: the file name, or folder-relative for parts

    def row_name(self, index: int, *, single: bool) -> str:
        """'line 7' for CSV (header = line 1), 'row 7' for Parquet; prefixed by the part."""
        where = f"row {index + 1}" if self.parquet else f"line {index + 2}"
        return where if single else f"{self.label} {where}"

    @cached_property
    def parquet(self) -> bool:
        """True when the bytes are Parquet."""
        return _magic(self.path, 4) == _PARQUET


def _magic(path: Path, size: int) -> bytes:
    with path.open("rb") as handle:
        return handle.read(size)


def _is_data_file(path: Path) -> bool:
    name = path.name.lower()
    return path.is_file() and not name.startswith(".") and name.endswith(_DATA_SUFFIXES)


def _is_manifest(path: Path) -> bool:
    return path.suffix.lower() == ".json" and "manifest" in path.name.lower()


def cost_parts(path: Path) -> list[CostPart]:
    """The data files behind ``path`` (a file, a folder of parts, or a manifest), in order."""
    if not path.exists():
        raise CostImportError(f"{path}: no such file or folder")
    if path.is_dir():
        manifests = sorted(p for p in path.rglob("*") if p.is_file() and _is_manifest(p))
        if len(manifests) == 1:
            return _manifest_parts(manifests[0])
        files = sorted(p for p in path.rglob("*") if _is_data_file(p))
        if not files:
            raise CostImportError(f"{path}: the folder holds no .csv, .csv.gz or .parquet file")
        return [CostPart(p, str(p.relative_to(path))) for p in files]
    if _is_manifest(path):
        return _manifest_parts(path)
    if not _is_data_file(path) and _magic(path, 4) != _PARQUET and _magic(path, 2) != _GZIP:
        raise CostImportError(
            f"{path.name}: expected a .csv or .parquet FOCUS file (plain or gzip), "
            "a folder of them or an export manifest"
        )
    return [CostPart(path, path.name)]


def _listed(manifest: dict[str, object]) -> list[str]:
    if isinstance(files := manifest.get("dataFiles"), list):  # AWS Data Exports
        return [str(f) for f in files]
    if isinstance(keys := manifest.get("reportKeys"), list):  # AWS legacy CUR
        return [str(k) for k in keys]
    if isinstance(blobs := manifest.get("blobs"), list):  # Azure Cost Management exports
        return [str(b.get("blobName", "")) for b in blobs if isinstance(b, dict)]
    raise CostImportError("the manifest lists no parts (expected dataFiles, reportKeys or blobs)")


def _manifest_parts(manifest: Path) -> list[CostPart]:
    try:
        listed = _listed(json.loads(manifest.read_text(encoding="utf-8-sig")))
    except (OSError, ValueError) as exc:
        raise CostImportError(f"{manifest}: not a readable manifest ({exc})") from None
    except CostImportError as exc:
        raise CostImportError(f"{manifest.name}: {exc}") from None
    # Exports put the manifest in <export>/metadata/<period>/ and parts in <export>/data/<period>/:
    # look for each listed part's path tail under the manifest's ancestors, nearest first.
    roots = [manifest.parent, *list(manifest.parents)[:3]]
    parts: list[CostPart] = []
    for entry in listed:
        tail = PurePosixPath(entry.split("://", 1)[-1])
        found = _find(tail, roots)
        if found is None:
            raise CostImportError(
                f"{manifest.name} lists {entry}, which is not under {roots[-1]}; "
                "download every part next to the manifest"
            )
        parts.append(CostPart(found, tail.name))
    if not parts:
        raise CostImportError(f"{manifest.name}: the manifest lists no parts")
    return parts


def _find(tail: PurePosixPath, roots: list[Path]) -> Path | None:
    for root in roots:
        for depth in range(len(tail.parts)):
            candidate = root.joinpath(*tail.parts[depth:])
            if candidate.is_file():
                return candidate
    for root in roots:
        matches = [p for p in root.rglob(tail.name) if p.is_file()]
        if len(matches) == 1:
            return matches[0]
    return None


def read_part(part: CostPart) -> pd.DataFrame:
    """Every cell of one part as text (CSV) or Python values (Parquet); '' for a missing cell."""
    try:
        if part.parquet:
            frame = pd.read_parquet(part.path)
            return frame.astype(object).where(frame.notna(), "")
        gzipped = _magic(part.path, 2) == _GZIP
        return pd.read_csv(
            part.path, dtype=str, keep_default_na=False, encoding="utf-8-sig",
            skipinitialspace=True, compression="gzip" if gzipped else None,
        )  # fmt: skip
    except (OSError, ValueError, UnicodeDecodeError, EOFError) as exc:
        kind = "Parquet" if part.path.suffix.lower() == ".parquet" else "CSV"
        raise CostImportError(f"{part.label}: cannot read it as {kind} ({exc})") from None


def iter_frames(parts: list[CostPart]) -> Iterator[tuple[CostPart, pd.DataFrame]]:
    """Each part with its frame, read one at a time."""
    for part in parts:
        yield part, read_part(part)
