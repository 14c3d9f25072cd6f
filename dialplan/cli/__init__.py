"""The ``dialplan`` command: a click group whose subcommands are imported only when run.

Each command lives in its own module here and only parses options, calls the API and prints.
Errors have one style: one line ``dialplan: error: …`` on stderr. A
:class:`~dialplan.errors.DialplanError` exits with its ``exit_code``; click's usage errors (bad
option, missing argument, file not found) exit 2; anything unexpected exits 2 too
(``DIALPLAN_DEBUG=1`` shows the traceback). :meth:`LazyGroup.main` does this, so click's test
runner sees exactly what a user sees.
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
    "convert": "convert:convert",
    "broadcast": "broadcast:broadcast",
    "sounds": "sounds:sounds",
    "call": "call:call",
    "answer": "answer:answer",
    "inbound": "inbound:inbound",
    "serve": "serve:serve",
    "keys": "keys:keys",
    "lsp": "lsp:lsp",
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

    def main(  # type: ignore[override]
        self,
        args: list[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command line; in standalone mode (the console script, ``CliRunner``) every
        error becomes one line and an exit code."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            status = super().main(args, prog_name, complete_var, False, **extra)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # a bare group: its help is the answer
                click.echo(exc.format_message(), err=True)
            else:
                click.echo(f"dialplan: error: {_one_line(exc)}", err=True)
            sys.exit(2)
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
        # without standalone mode, click returns the code given to ctx.exit() instead of exiting
        sys.exit(status if isinstance(status, int) else 0)

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


def _one_line(exc: click.ClickException) -> str:
    """Click's message on one line, with where to find help for usage errors."""
    message = " ".join(exc.format_message().split())
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and ctx is not None:
        message += f" (see '{ctx.command_path} --help')"
    return message


def main(argv: list[str] | None = None) -> Any:
    """Console entry point: run the group; errors become one line and an exit code."""
    return cli.main(args=argv, prog_name="dialplan")
