"""``dialplan graph`` (draw the call flow) and ``dialplan paths`` (list the routes through it)."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import InvalidDialplan, UsageError
from ..model import Plan, build_plan
from ..parse import ParsedDocument, ParseFailure, parse, read_source
from ..routes_doc import MAX_LOOPS


def _parsed(path: str) -> tuple[ParsedDocument, Plan]:
    """The document and model of ``path``; any well-formed dialplan can be drawn, even one with
    lint errors."""
    try:
        doc = parse(read_source(path))
    except ParseFailure as failure:
        raise InvalidDialplan([failure.diagnostic], failure.diagnostic.file) from None
    return doc, build_plan(doc)


def _plan(path: str) -> Plan:
    return _parsed(path)[1]


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

    Dashed arrows are gotos, dotted arrows catches; grey shapes can never run. SVG is drawn for
    flows of up to 250 shapes and arrows, by Graphviz limited to 512 MB and 10 s.
    Exit status: 0 drawn, 1 not a well-formed dialplan, 2 usage error, Graphviz missing or the
    flow too big for SVG.
    """
    from ..pictures import SVG_MAX_ELEMENTS, picture, render_svg, to_dot, to_mermaid

    pic = picture(_plan(file))
    if fmt == "mermaid":
        _write(to_mermaid(pic), output)
    elif fmt == "dot":
        _write(to_dot(pic), output)
    else:
        size = len(pic.boxes) + len(pic.arrows)
        if size > SVG_MAX_ELEMENTS:
            raise UsageError(
                f"{file}: the flow has {size:,} shapes and arrows; SVG is drawn up to "
                f"{SVG_MAX_ELEMENTS} (Graphviz's layout needs minutes and gigabytes beyond): "
                "use --format dot or --format mermaid"
            )
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
    """List the routes through FILE that the engine can take, and what drives each one.

    Each route shows the AMD verdict, the keys to press at each menu (or timeout), the
    outcomes of data-dependent conditions (if/equal, transfer answered), how the call ends
    (hangup, transfer, end of plan, loop cut), and the `dialplan simulate` command that replays it
    (with the --var, --callerid, --now… its conditions need). Every route is replayed through the
    engine first; routes no replay reproduces (contradictory assumptions) are left out and counted.
    The listing stops after --limit routes or 20,000 steps in all (a longer route is cut there:
    "length cut"); the last line says so.
    Exit status: 0 listed, 1 not a well-formed dialplan, 2 usage error.
    """
    import json
    import shlex

    from ..model.paths import MAX_STEPS
    from ..replay import MAX_REPLAY_STEPS, taken_routes
    from ..routes_doc import routes_document

    parsed, plan = _parsed(file)
    found = taken_routes(plan, max_loops=max_loops, limit=limit)
    size_note = (
        f"stopped at the listing's size limit of {MAX_STEPS:,} steps"
        if found.size_limited
        else None
    )
    if fmt == "json":
        doc = routes_document(found, file)
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        _warn_if_invalid(file, parsed, plan, size_note)
        return
    for i, taken in enumerate(found.routes, 1):
        route = taken.route
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
        command = shlex.join(["dialplan", "simulate", file, *taken.replay.args()])
        click.echo(f"  $ {command}")
        click.echo("")
    if found.left_out:
        n = len(found.left_out)
        click.echo(
            f"{n} more route{'s' if n != 1 else ''} of the flow graph left out: no replay makes the "
            "engine take them (their assumptions contradict each other or the call's own data, or "
            'the call would outlast its limits); --format json lists them under "left_out"'
            + (
                f"; {found.untried} of them untried: the replays' budget of "
                f"{MAX_REPLAY_STEPS:,} engine steps was spent"
                if found.untried
                else ""
            )
        )
    total = len(found.routes)
    if size_note:
        more = f" ({size_note}{'; there are more' if found.truncated else ''})"
    else:
        more = " (stopped at --limit; there are more)" if found.truncated else ""
    click.echo(
        f"{total} route{'s' if total != 1 else ''}, each loop taken at most {found.max_loops}x{more}"
    )
    _warn_if_invalid(file, parsed, plan, None)


def _warn_if_invalid(file: str, doc: ParsedDocument, plan: Plan, size_note: str | None) -> None:
    """Routes of a plan with lint errors are listed, but their replay commands would be refused.

    ``size_note`` (JSON output) says on stderr that the listing was cut by its size limit.
    """
    from ..diagnostics import Severity
    from ..lint.config import LintConfig
    from ..lint.linter import check_document

    if size_note:
        click.echo(f"dialplan: note: {size_note}; see 'dialplan paths --help'", err=True)
    diags = check_document(doc, LintConfig(select=("E",)), plan=plan)
    errors = sum(1 for d in diags if d.severity is Severity.ERROR)
    if errors:
        click.echo(
            f"dialplan: warning: {file} has {errors} lint error{'s' if errors != 1 else ''}"
            f" (see 'dialplan lint {file}'); 'dialplan simulate' will refuse to replay these routes",
            err=True,
        )
