"""The ``dialplan`` command: a click group whose subcommands are imported only when run.

Each command lives in its own module here and only parses options, calls the API and prints.
Errors: a :class:`~dialplan.errors.DialplanError` exits with its ``exit_code`` and a one-line
message; anything unexpected exits 2 with a one-line message (``DIALPLAN_DEBUG=1`` shows the
traceback).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any

import click

from .. import __version__
from ..errors import DialplanError

#: command name → "module:attribute" (modules relative to this package)
COMMANDS: dict[str, str] = {
    "lint": "lint:lint",
    "rules": "lint:rules",
    "schema": "schema:schema",
    "simulate": "simulate:simulate",
    "test": "calltest:test",
    "graph": "graph:graph",
    "paths": "graph:paths",
    "broadcast": "broadcast:broadcast",
    "call": "call:call",
    "serve": "serve:serve",
    "keys": "keys:keys",
}


class LazyGroup(click.Group):
    """Imports a subcommand's module only when that subcommand is used (fast start-up)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [
            name
            for name, target in COMMANDS.items()
            if importlib.util.find_spec(f"{__name__}.{target.split(':')[0]}") is not None
        ]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(f"{__name__}.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{module_name}":
                return None
            raise
        command: click.Command = getattr(module, attr)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        """Every subcommand's deliberate errors become one line and their exit code — here, in
        one place, so that click's test runner sees exactly what a user sees."""
        try:
            return super().invoke(ctx)
        except DialplanError as exc:
            click.echo(f"dialplan: error: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="dialplan")
def cli() -> None:
    """Validate, simulate and run CallFire-style XML IVR dialplans and voice broadcasts."""


def main(argv: list[str] | None = None) -> Any:
    """Console entry point: run the group and turn errors into exit codes."""
    try:
        status = cli.main(args=argv, prog_name="dialplan", standalone_mode=False)
        # without standalone mode, click returns the code given to ctx.exit() instead of exiting
        if isinstance(status, int) and status:
            sys.exit(status)
        return status
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if exc.exit_code == 2 else exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except DialplanError as exc:
        click.echo(f"dialplan: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    except Exception as exc:
        if os.environ.get("DIALPLAN_DEBUG"):
            raise
        click.echo(f"dialplan: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(2)
