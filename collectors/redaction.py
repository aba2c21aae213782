"""Redaction of sensitive attribute values by a keyed hash, the same in Python and in SQL.

A value whose key matches one of ``FLOWMETER_REDACT_KEYS`` (globs, case-insensitive) becomes
``lower(hex(SHA256(key || value)))``: equal inputs stay joinable, the original is gone.
The trace path computes the same hash inside ClickHouse (sql/schema/311): the writer appends
the regex, its literals and the key to every trace request it inserts (``staging_tail``), so
the key is never stored in a table a store reader could SELECT (docs/adr/0007).

The key comes from ``FLOWMETER_REDACT_SECRET``, else from ``<data dir>/redact.key`` (created
once, mode 0600). Redaction fails closed: a key file that is empty, unreadable or open to
other users refuses the start with ``RedactionKeyError``, whose message names the file and
never its content.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.errors import SettingsError

if TYPE_CHECKING:
    from models.kpi import KpiEvent
    from models.settings import Settings

__all__ = [
    "RedactionKeyError",
    "Redactor",
    "glob_literals",
    "glob_regex",
    "load_secret",
    "redactor_for",
]

logger = logging.getLogger(__name__)

_KEY_FILE_NAME = "redact.key"
_TENANT_KEY = "tenant.id"  # never redacted
# No patterns: a regex and a literal that no attribute key can match.
_NEVER = "\x00never"
# Field numbers of the redaction inputs appended to each staged trace request
# (sql/proto/otlp_traces_staging.proto, message TracesRequest).
_TAIL_FIELDS = {"regex": 1001, "words": 1002, "secret": 1003}


class RedactionKeyError(SettingsError):
    """The redaction key is configured but cannot be used: nothing is ingested."""


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
    """The configured key, else the one kept (mode 0600) in ``<data dir>/redact.key``,
    created on first use. RedactionKeyError when the file exists but cannot serve."""
    if configured:
        return configured
    path = data_dir / _KEY_FILE_NAME
    hint = "fix or remove it (a new key changes every hash), or set FLOWMETER_REDACT_SECRET"
    if path.exists() or path.is_symlink():
        try:
            mode = path.stat().st_mode
            key = path.read_text(encoding="utf-8").strip() if stat.S_ISREG(mode) else ""
        except (OSError, UnicodeDecodeError) as exc:
            raise RedactionKeyError(
                f"redaction key file {path} cannot be read ({type(exc).__name__}); {hint}"
            ) from None
        if not stat.S_ISREG(mode):
            raise RedactionKeyError(f"redaction key file {path} is not a regular file; {hint}")
        if mode & 0o077:
            raise RedactionKeyError(
                f"redaction key file {path} is readable by other users (mode "
                f"{stat.S_IMODE(mode):04o}); chmod 600 it, or set FLOWMETER_REDACT_SECRET"
            )
        if not key:
            raise RedactionKeyError(f"redaction key file {path} is empty; {hint}")
        return key
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key)
        handle.flush()
        os.fsync(handle.fileno())
    logger.info("created the redaction key file %s", path)
    return key


def redactor_for(settings: Settings) -> Redactor:
    """The Redactor of these settings (no patterns: no key needed); RedactionKeyError."""
    if not settings.redact_keys:
        return Redactor((), "")
    return Redactor(settings.redact_keys, load_secret(settings.redact_secret, settings.data_dir))


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, data: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(data)) + data


class Redactor:
    """Decides which keys are sensitive and hashes their values."""

    def __init__(self, patterns: Iterable[str], secret: str) -> None:
        patterns = list(patterns)
        if patterns and not secret:
            raise RedactionKeyError(
                "redaction is configured (FLOWMETER_REDACT_KEYS) but has no key: "
                "set FLOWMETER_REDACT_SECRET or let Flowmeter keep one in the data dir"
            )
        self.regex = glob_regex(patterns)
        self.literals = glob_literals(patterns)
        self.secret = secret
        self._match = re.compile(self.regex).match if self.regex else None
        self._cache: dict[str, bool] = {}
        words = self.literals or [_NEVER]
        # Appended to every staged trace request: protobuf fields concatenate, so the
        # request's own bytes stay as received (sql/proto/otlp_traces_staging.proto).
        self.staging_tail = b"".join(
            [
                _field(_TAIL_FIELDS["regex"], (self.regex or _NEVER).encode()),
                *(_field(_TAIL_FIELDS["words"], word.encode()) for word in words),
                _field(_TAIL_FIELDS["secret"], (secret or _NEVER).encode()),
            ]
        )

    def __repr__(self) -> str:
        return f"Redactor(regex={self.regex!r}, secret=<hidden>)"

    def sensitive(self, key: str) -> bool:
        """True when values under ``key`` must be hashed (never ``tenant.id``: tenancy rests
        on the ingest token's stamp there, as in sql/schema/311)."""
        hit = self._cache.get(key)
        if hit is None:
            hit = bool(self._match and self._match(key)) and key != _TENANT_KEY
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

    def log_attributes(self, pairs: Any) -> dict[str, Any]:
        """An OTLP KeyValue list as ``{key: plain value}``, every sensitive value (whatever its
        type) replaced by the hash of its OTel text form, as the logs table stores it."""
        from collectors.rows import any_value, any_value_str  # rows builds on this module

        return {
            kv.key: self.hash(any_value_str(kv.value))
            if self.sensitive(kv.key)
            else any_value(kv.value)
            for kv in pairs
        }

    def event(self, event: KpiEvent) -> KpiEvent:
        """A KPI event with every sensitive attribute hashed (attributes are text)."""
        if not any(self.sensitive(key) for key in event.attributes):
            return event
        return event.model_copy(update={"attributes": self.apply(dict(event.attributes))})
