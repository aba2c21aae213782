"""Redaction of sensitive attribute values by a keyed hash, the same in Python and in SQL.

A value whose key matches one of ``FLOWMETER_REDACT_KEYS`` (globs, case-insensitive) becomes
``lower(hex(SHA256(secret || value)))``: equal inputs stay joinable, the original is gone.
The trace path computes the same hash inside ClickHouse (sql/schema/100_collectors_traces.sql)
from ``Redactor.regex`` and ``Redactor.secret``, which the pipeline writes to ``ingest_config``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
from collections.abc import Iterable
from pathlib import Path

__all__ = ["Redactor", "glob_literals", "glob_regex", "load_secret"]

logger = logging.getLogger(__name__)

_KEY_FILE_NAME = "redact.key"


def glob_regex(patterns: Iterable[str]) -> str:
    """One RE2/Python-compatible, case-insensitive, anchored regex for attribute key globs."""
    parts = []
    for pattern in patterns:
        out = []
        for char in pattern:
            if char == "*":
                out.append(".*")
            elif char == "?":
                out.append(".")
            else:
                out.append(re.escape(char))
        parts.append("".join(out))
    return f"(?i)^(?:{'|'.join(parts)})$" if parts else ""


def glob_literals(patterns: Iterable[str]) -> list[str]:
    """The longest literal run of each glob (lowercase): a cheap prefilter before the regex.

    A glob without a literal (``*``) yields "", which matches every key.
    """
    words = []
    for pattern in patterns:
        runs = re.split(r"[*?]", pattern.lower())
        words.append(max(runs, key=len))
    return sorted(set(words))


def load_secret(configured: str, data_dir: Path) -> str:
    """The configured key, else a random one kept (mode 0600) in ``<data dir>/redact.key``."""
    if configured:
        return configured
    path = data_dir / _KEY_FILE_NAME
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key)
    logger.info("created the redaction key %s", path)
    return key


class Redactor:
    """Decides which keys are sensitive and hashes their values."""

    def __init__(self, patterns: Iterable[str], secret: str) -> None:
        patterns = list(patterns)
        self.regex = glob_regex(patterns)
        self.literals = glob_literals(patterns)
        self.secret = secret
        self._match = re.compile(self.regex).match if self.regex else None
        self._cache: dict[str, bool] = {}

    def sensitive(self, key: str) -> bool:
        """True when values under ``key`` must be hashed."""
        hit = self._cache.get(key)
        if hit is None:
            hit = bool(self._match and self._match(key))
            if len(self._cache) < 10000:
                self._cache[key] = hit
        return hit

    def hash(self, value: str) -> str:
        """The keyed hash that replaces a sensitive value."""
        return hashlib.sha256((self.secret + value).encode()).hexdigest()

    def apply(self, attributes: dict[str, str]) -> dict[str, str]:
        """The attributes with every sensitive value replaced (in place, and returned)."""
        for key, value in attributes.items():
            if self.sensitive(key):
                attributes[key] = self.hash(value)
        return attributes
