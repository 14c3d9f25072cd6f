"""``dialplan inbound``: statistics, exports and reports of stored inbound calls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..errors import UsageError

_DB = click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("inbound.sqlite"),
    show_default=True,
    help="the SQLite file `dialplan answer` wrote",
)
_NUMBER = click.option("--number", help="only calls to this number (default: all numbers)")
_SINCE = click.option("--since", help="from this date (YYYY-MM-DD) or ISO time, inclusive")
_UNTIL = click.option("--until", help="to this date (whole day included) or ISO time")


def _records(db: Path, number: str | None, since: str | None, until: str | None) -> list[Any]:
    from ..inbound.numbers import number_keys
    from ..inbound.reports import parse_when
    from ..inbound.store import InboundStore

    if not db.is_file():
        raise UsageError(f"{db}: no such database (run `dialplan answer --db {db}` first)")
    start = parse_when(since, "--since") if since else None
    end = parse_when(until, "--until", end=True) if until else None
    store = InboundStore(db)
    try:
        if number is None:
            return list(store.calls(None, start, end))
        known = set(store.numbers())
        key = next((k for k in number_keys(number) if k in known), number)
        return list(store.calls(key, start, end))
    finally:
        store.close()


@click.group("inbound")
def inbound() -> None:
    """Statistics, exports and reports of the calls `dialplan answer` took."""


@inbound.command("stats")
@_DB
@_NUMBER
@_SINCE
@_UNTIL
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def stats(db: Path, number: str | None, since: str | None, until: str | None, fmt: str) -> None:
    """Calls, answered, results, talk time and answers given, for a number and date range."""
    from ..inbound.reports import stats as compute
    from ..inbound.reports import stats_text

    data = compute(_records(db, number, since, until))
    if fmt == "json":
        click.echo(json.dumps({"number": number, **data}, indent=2, ensure_ascii=False))
    else:
        click.echo(stats_text(number, data), nl=False)


@inbound.command("export")
@_DB
@_NUMBER
@_SINCE
@_UNTIL
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path))
def export(
    db: Path,
    number: str | None,
    since: str | None,
    until: str | None,
    fmt: str,
    output: Path | None,
) -> None:
    """One row per call (CSV: one column per question), or every stored field (JSON)."""
    from ..inbound.reports import export_csv

    records = _records(db, number, since, until)
    if fmt == "json":
        text = json.dumps([r.to_dict() for r in records], indent=2, ensure_ascii=False) + "\n"
    else:
        text = export_csv(records)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@inbound.command("report")
@_DB
@_NUMBER
@_SINCE
@_UNTIL
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("inbound.html")
)
def report(
    db: Path, number: str | None, since: str | None, until: str | None, output: Path
) -> None:
    """A self-contained HTML page: totals, then every call."""
    from ..inbound.reports import report_html

    records = _records(db, number, since, until)
    title = f"Inbound calls to {number}" if number else "Inbound calls"
    output.write_text(report_html(title, records), encoding="utf-8")
    click.echo(f"report: {output}")
