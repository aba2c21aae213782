"""Flowmeter's exception tree.

FlowmeterError
├── SettingsError      a FLOWMETER_* variable is missing or malformed
├── StoreError         the ClickHouse store failed or refused a statement
│   ├── StoreLockedError   another process holds the embedded store's data dir
│   └── ReadOnlyError      a write was sent through the read-only path
├── QueryError         a named query is missing, malformed, or called with wrong params
├── MigrationError     a schema migration failed or was edited after it was applied
├── CostImportError    a FOCUS cost file or usage price list is malformed (names column/line)
└── AccessError        a dashboard user or action was refused
    ├── AuthenticationError   unknown user, wrong password, or a malformed users file
    └── PermissionDeniedError a role may not do this, or a tenant is not the user's
"""

from __future__ import annotations

__all__ = [
    "AccessError",
    "AuthenticationError",
    "CostImportError",
    "FlowmeterError",
    "MigrationError",
    "PermissionDeniedError",
    "QueryError",
    "ReadOnlyError",
    "SettingsError",
    "StoreError",
    "StoreLockedError",
]


class FlowmeterError(Exception):
    """Base of every error Flowmeter raises on purpose."""


class SettingsError(FlowmeterError):
    """A setting is invalid; the message starts with the variable's name."""


class StoreError(FlowmeterError):
    """The ClickHouse store failed or refused a statement."""


class StoreLockedError(StoreError):
    """Another process already holds the embedded store's data directory."""


class ReadOnlyError(StoreError):
    """A statement that writes was sent through the read-only path."""


class QueryError(FlowmeterError):
    """A named query is missing, malformed, or called with the wrong parameters."""


class MigrationError(FlowmeterError):
    """A schema migration failed, or an applied one was changed afterwards."""


class CostImportError(FlowmeterError):
    """A FOCUS cost file or price list is malformed; the message names the column or line."""


class AccessError(FlowmeterError):
    """A dashboard user or action was refused."""


class AuthenticationError(AccessError):
    """Unknown user, wrong password, or a users file that cannot be read."""


class PermissionDeniedError(AccessError):
    """The user's role may not perform this action, or the tenant is not theirs."""
