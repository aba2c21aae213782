"""The ``flowmeter`` command: the process entry for every component.

Each area adds its commands in its own module; this file only assembles them and turns
Flowmeter's own errors into a one-line message and a non-zero exit, never a traceback.
"""

from __future__ import annotations

from typing import Any

import click

from models.errors import FlowmeterError

__all__ = ["cli", "main"]


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FlowmeterError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flowmeter")
def cli() -> None:
    """Flowmeter: observability and ROI for business workflow automation."""


def _register() -> None:
    from app.cli import store, up

    for command in (*store.COMMANDS, *up.COMMANDS):
        cli.add_command(command)


_register()


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="flowmeter")
