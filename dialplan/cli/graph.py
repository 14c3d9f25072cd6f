"""``dialplan graph`` (draw the call flow) and ``dialplan paths`` (list the routes through it)."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import InvalidDialplan, UsageError
from ..graphviz import render_svg
from ..model import Plan, build_plan
from ..parse import ParseFailure, parse, read_source
from ..routes_doc import MAX_LOOPS


def _plan(path: str) -> Plan:
    """The model of ``path``; any well-formed dialplan can be drawn, even one with lint errors."""
    try:
        return build_plan(parse(read_source(path)))
    except ParseFailure as failure:
        raise InvalidDialplan([failure.diagnostic], failure.diagnostic.file) from None


def _write(text: str | bytes, output: str | None) -> None:
    if output is None:
        if isinstance(text, bytes):
            click.get_binary_stream("stdout").write(text)
        else:
            click.echo(text, nl=False)
        return
    try:
        if isinstance(text, bytes):
            Path(output).write_bytes(text)
        else:
            Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror}") from None


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["dot", "mermaid", "svg"]),
    default="dot",
    show_default=True,
    help="DOT text, Mermaid flowchart text, or SVG (needs Graphviz 'dot').",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to a file.")
def graph(file: str, fmt: str, output: str | None) -> None:
    """Draw the call flow of FILE: menus and their keys, AMD, gotos, hangups and transfers.

    Dashed arrows are gotos, dotted arrows catches; grey shapes can never run.
    Exit status: 0 drawn, 1 not a well-formed dialplan, 2 usage error or Graphviz missing.
    """
    from ..flowgraph import picture, to_dot, to_mermaid

    pic = picture(_plan(file))
    if fmt == "mermaid":
        _write(to_mermaid(pic), output)
    elif fmt == "dot":
        _write(to_dot(pic), output)
    else:
        _write(render_svg(to_dot(pic)), output)


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--max-loops",
    type=click.IntRange(min=0, max=MAX_LOOPS),
    default=1,
    show_default=True,
    help="How often a route may take each loop-closing edge before it is cut.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Stop after this many routes.",
)
def paths(file: str, fmt: str, max_loops: int, limit: int) -> None:
    """List the distinct routes through FILE and the inputs that drive each one.

    Each route shows the AMD verdict, the keys to press at each menu (or timeout), the
    assumptions about data-dependent conditions (if/equal, transfer answered), how the call ends
    (hangup, transfer, end of plan, loop cut), and the `dialplan simulate` command that replays it.
    Exit status: 0 listed, 1 not a well-formed dialplan, 2 usage error.
    """
    import json
    import shlex

    from ..model.paths import enumerate_routes
    from ..routes_doc import routes_document

    plan = _plan(file)
    found = enumerate_routes(plan, max_loops=max_loops, limit=limit)
    if fmt == "json":
        doc = routes_document(found, file)
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    for i, route in enumerate(found.routes, 1):
        click.echo(f"route {i}: {route.ending} at line {route.end_loc.line} ({route.end_what})")
        for s in route.steps:
            if s.kind == "amd":
                click.echo(f"  answered by: {s.value}")
            elif s.kind == "input":
                shown = "nothing (timeout)" if s.value == "timeout" else s.value
                click.echo(f"  {s.what} line {s.loc.line}: press {shown}  [{s.label}]")
            elif s.kind == "catch" and s.value == "hangup":
                click.echo(f"  {s.what} line {s.loc.line}: caller hangs up  [caught]")
            elif s.kind == "catch":
                click.echo(f"  {s.what} line {s.loc.line}: press {s.value}  [caught]")
            elif s.kind == "transfer":
                click.echo(f"  {s.what} line {s.loc.line}: {s.value}")
            else:
                click.echo(f"  assume {s.what} line {s.loc.line} is {s.value}")
        command = shlex.join(["dialplan", "simulate", file, *route.simulate_args()])
        if route.assumptions:
            command += "  # assuming " + "; ".join(route.assumptions)
        click.echo(f"  $ {command}")
        click.echo("")
    total = len(found.routes)
    more = " (stopped at --limit; there are more)" if found.truncated else ""
    click.echo(
        f"{total} route{'s' if total != 1 else ''}, each loop taken at most {found.max_loops}x{more}"
    )
    _warn_if_invalid(file)


def _warn_if_invalid(file: str) -> None:
    """Routes of a plan with lint errors are listed, but their replay commands would be refused."""
    from .._api import load

    try:
        load(file)
    except InvalidDialplan as exc:
        errors = sum(1 for d in exc.diagnostics if d.severity.name == "ERROR")
        click.echo(
            f"dialplan: warning: {file} has {errors} lint error{'s' if errors != 1 else ''}"
            f" (see 'dialplan lint {file}'); 'dialplan simulate' will refuse to replay these routes",
            err=True,
        )
