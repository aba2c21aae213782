"""The ``flowmeter`` command: the process entry for every component.

Each area adds its commands in its own module; this file only assembles them and turns
Flowmeter's own errors into a one-line message and a non-zero exit, never a traceback.
"""

from __future__ import annotations

from importlib import import_module
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


@cli.group("import")
def import_group() -> None:
    """Load files into the store (KPI events, FOCUS cost records)."""


@cli.group("export")
def export_group() -> None:
    """Write reports out of the store."""


# Each area's module lists its commands (COMMANDS, IMPORT_COMMANDS, EXPORT_COMMANDS).
_MODULES = (
    "alerts", "baseline", "collect", "costs", "kpi", "orchestrator", "report", "retention",
    "store", "up", "users", "workflows",
)  # fmt: skip


def _register() -> None:
    """Each area's module lists its commands; one line here per module."""
    modules = [import_module(f"app.cli.{name}") for name in _MODULES]
    for module in modules:
        for command in getattr(module, "COMMANDS", ()):
            cli.add_command(command)
        for command in getattr(module, "IMPORT_COMMANDS", ()):
            import_group.add_command(command)
        for command in getattr(module, "EXPORT_COMMANDS", ()):
            export_group.add_command(command)


_register()


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="flowmeter")
