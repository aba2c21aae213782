"""``flowmeter users add|remove|list``: the dashboard's users file."""

from __future__ import annotations

import os
from pathlib import Path

import click

from app.access import Role, parse_tenants
from app.users import add_user, load_users, write_users
from models.errors import AuthenticationError
from models.settings import Settings

__all__ = ["COMMANDS", "users_file_path"]

_USERS_ENV: str = Settings.__dataclass_fields__["users_file"].metadata["env"]


def users_file_path(explicit: Path | None) -> Path:
    """--file, else FLOWMETER_USERS_FILE (which may not exist yet: `add` creates it)."""
    if explicit is not None:
        return explicit
    raw = os.environ.get(_USERS_ENV, "").strip()
    if not raw:
        raise click.UsageError(f"pass --file PATH or set {_USERS_ENV}")
    return Path(raw)


_file_option = click.option(
    "--file",
    "file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"Users file (default: ${_USERS_ENV}).",
)


@click.group("users")
def users_group() -> None:
    """Dashboard users: roles, tenants and hashed passwords."""


@users_group.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--tenants", default="", help="Comma-separated tenant ids; empty = every tenant.")
@click.option("--email", default="", help="Email of an OIDC sign-in that maps to this user.")
@click.password_option("--password", help="Prompted for (twice) when not given.")
@_file_option
def add_command(
    name: str, role: str, tenants: str, email: str, password: str, file: Path | None
) -> None:
    """Add a user, or replace an existing one (new password, role or tenants)."""
    path = users_file_path(file)
    record = add_user(path, name, role, password, tenants=parse_tenants(tenants), email=email)
    scope = ", ".join(record.tenants) if record.tenants else "every tenant"
    click.echo(f"user {record.name} ({record.role}) saved in {path}; sees {scope}")
    if not os.environ.get(_USERS_ENV):
        click.echo(f"start the dashboard with {_USERS_ENV}={path} to require sign-in")


@users_group.command("remove")
@click.argument("name")
@_file_option
def remove_command(name: str, file: Path | None) -> None:
    """Remove a user."""
    path = users_file_path(file)
    users = load_users(path)
    if name not in users:
        raise AuthenticationError(f"no user {name!r} in {path}")
    del users[name]
    write_users(path, users)
    click.echo(f"user {name} removed from {path}")


@users_group.command("list")
@_file_option
def list_command(file: Path | None) -> None:
    """List users with their role and tenants (never their hashes)."""
    path = users_file_path(file)
    users = load_users(path)
    if not users:
        click.echo(f"no users in {path}")
        return
    for record in users.values():
        scope = ",".join(record.tenants) or "*"
        click.echo(f"{record.name}\t{record.role}\ttenants={scope}\t{record.email}".rstrip())


COMMANDS = [users_group]
