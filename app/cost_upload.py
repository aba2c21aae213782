"""Import of cost files uploaded on the Cost Attribution page, behind its server-side check.

The same importer as ``flowmeter import costs``: the uploaded bytes are written to a private
temporary folder under their own names (several files = the parts of one export, or a
manifest with its parts) and imported from there, so validation, the mapping summary and the
atomic per-slice replacement are the CLI's, line for line.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from app.access import User, require
from models.costs import ImportResult, import_cost_file
from models.db import Store
from models.errors import CostImportError, PermissionDeniedError

__all__ = ["import_uploaded_costs"]


def import_uploaded_costs(
    store: Store, user: User, files: Sequence[tuple[str, bytes]], *, tag_keys: Sequence[str],
    skip_bad: bool = False, progress: Callable[[str, int, int], None] | None = None,
) -> ImportResult:  # fmt: skip
    """Import uploaded FOCUS file(s) as ``user`` (finance or admin, every tenant)."""
    require(user, "costs.import")
    if user.restricted:
        raise PermissionDeniedError(
            f"{user.name} sees only some tenants; a cost file bills every tenant, so only an "
            "unrestricted finance or admin user may import one"
        )
    if not files:
        raise CostImportError("choose a cost file to import first")
    names = [Path(name).name for name, _ in files]
    if len(set(names)) != len(names) or not all(names):
        raise CostImportError("the uploaded files need distinct, non-empty names")
    with tempfile.TemporaryDirectory(prefix="flowmeter-upload-") as folder:
        root = Path(folder)
        for name, (_, content) in zip(names, files, strict=True):
            (root / name).write_bytes(content)
        target = root / names[0] if len(names) == 1 else root
        source = names[0] if len(names) == 1 else f"{names[0]} (+{len(names) - 1} part(s))"
        return import_cost_file(
            store, target, tag_keys=tag_keys, skip_bad=skip_bad, source=source, progress=progress
        )
