"""``dialplan broadcast``: run, resume and inspect voice campaigns."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ..errors import UsageError

DEFAULT_DB = "broadcast.sqlite"

_db_option = click.option(
    "--db",
    type=click.Path(dir_okay=False),
    default=DEFAULT_DB,
    show_default=True,
    help="The campaign database (SQLite).",
)
_format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)


@click.group()
def broadcast() -> None:
    """Run voice broadcasts: campaigns of calls with retries, windows, DNC and webhooks."""


def _write_file(path: str, text: str) -> None:
    """Write an output file; an unwritable path is a usage error (exit 2), not a traceback."""
    try:
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def _check_writable_dir(path: str) -> None:
    """Fail before any work when the directory of an output file does not exist."""
    parent = Path(path).parent
    if not parent.is_dir():
        raise UsageError(f"cannot write {path}: no such directory {parent}")


def _existing_db(db: str) -> str:
    if not Path(db).is_file():
        raise UsageError(f"no campaign database {db} (run a campaign first, or pass --db)")
    return db


@broadcast.command()
@click.argument("campaign", type=click.Path(dir_okay=False))
@_db_option
@click.option(
    "--driver",
    type=click.Choice(["sim", "sip"]),
    default="sim",
    show_default=True,
    help="sim: simulated calls; sip: real SIP calls to the campaign's [sip] trunk (real clock).",
)
@click.option(
    "--clock",
    type=click.Choice(["virtual", "real"]),
    default="virtual",
    show_default=True,
    help="virtual: the simulated calls take no real time; real: wait like real calls.",
)
@_format_option
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a TTY).")
@click.option(
    "--max-wait",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Seconds to keep delivering webhook events after the calls are done.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False),
    help="Where to write the HTML report (default: <campaign file name>-report.html).",
)
def run(
    campaign: str,
    db: str,
    driver: str,
    clock: str,
    fmt: str,
    progress: bool | None,
    max_wait: float,
    report_path: str | None,
) -> None:
    """Run CAMPAIGN (a .toml or .json file) to the end; run it again to resume."""
    from ..broadcast.campaign import load_campaign
    from ..broadcast.service import run_campaign
    from ..broadcast.stats import campaign_stats, stats_text
    from ..broadcast.store import Store

    camp = load_campaign(campaign)
    out_path = report_path or f"{Path(campaign).stem}-report.html"
    _check_writable_dir(out_path)
    show = sys.stderr.isatty() if progress is None else progress
    telephony: Any = None
    if driver == "sip":
        from ..broadcast.service import load_dialplan
        from ..broadcast.sip import SipCampaignDriver

        clock = "real"
        telephony = SipCampaignDriver(camp, load_dialplan(camp))
    try:
        if show:
            report = _run_with_progress(camp, db, clock, max_wait, telephony)
        else:
            report = run_campaign(camp, db, clock=clock, max_wait=max_wait, driver=telephony)
    finally:
        if telephony is not None:
            telephony.close()
    store = Store(db)
    try:
        stats = campaign_stats(store, camp.name)
        written = _write_report(store, camp.name, out_path)
    finally:
        store.close()
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "campaign": camp.name,
                    "broadcast_id": report.broadcast_id,
                    "resumed": report.resumed,
                    "db": db,
                    "report": written,
                    "events_pending": report.events_pending,
                    "stats": stats,
                },
                indent=2,
            )
        )
        return
    click.echo(stats_text(stats, camp.name), nl=False)
    click.echo(f"database: {db}")
    if written:
        click.echo(f"report: {written}")
    if camp.webhook is not None:
        if report.events_pending:
            click.echo(
                f"webhook events still pending: {report.events_pending} (delivered on the next run)"
            )
        else:
            click.echo("webhook events: all delivered")


def _run_with_progress(camp: Any, db: str, clock: str, max_wait: float, driver: Any = None) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from ..broadcast.service import run_campaign

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        transient=True,
        console=None,
    ) as bar:
        task = bar.add_task("loading", total=None)

        def update(phase: str, done: int, total: int) -> None:
            bar.update(task, description=phase, completed=done, total=total or None)

        return run_campaign(
            camp, db, clock=clock, max_wait=max_wait, progress=update, driver=driver
        )


def _write_report(store: Any, name: str, path: str) -> str | None:
    """Render the HTML report if the report module is available; returns the path."""
    from ..broadcast.reportdata import report_data

    try:
        from ..broadcast.report import render_report  # type: ignore[attr-defined]
    except ImportError:
        return None
    html = render_report(report_data(store, name))
    _write_file(path, html)
    return path


@broadcast.command()
@click.argument("name")
@_db_option
@_format_option
def stats(name: str, db: str, fmt: str) -> None:
    """Statistics of campaign NAME (CallFire CallBroadcastStats names)."""
    from ..broadcast.stats import campaign_stats, stats_text
    from ..broadcast.store import Store

    store = Store(_existing_db(db))
    try:
        data = campaign_stats(store, name)
    finally:
        store.close()
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(stats_text(data, name), nl=False)


@broadcast.command()
@click.argument("name")
@_db_option
@click.option(
    "--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to a file.")
def export(name: str, db: str, fmt: str, output: str | None) -> None:
    """Export one row per recipient: final result, attempts, answers."""
    from ..broadcast.stats import find_campaign, write_csv, write_json
    from ..broadcast.store import Store

    store = Store(_existing_db(db))
    try:
        find_campaign(store, name)  # an unknown name fails before anything is written
        writer = write_json if fmt == "json" else write_csv
        if output:
            _check_writable_dir(output)
            tmp = f"{output}.tmp"
            try:
                with open(tmp, "w", encoding="utf-8", newline="") as fh:
                    writer(store, name, fh)
                Path(tmp).replace(output)
            except OSError as exc:
                Path(tmp).unlink(missing_ok=True)
                raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
        else:
            writer(store, name, sys.stdout)
    finally:
        store.close()


@broadcast.command()
@click.argument("name")
@_db_option
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default="report.html",
    show_default=True,
    help="The HTML file to write.",
)
def report(name: str, db: str, output: str) -> None:
    """Write an HTML report (results, answers per question, calls over time)."""
    from ..broadcast.report import render_report  # type: ignore[attr-defined]
    from ..broadcast.reportdata import report_data
    from ..broadcast.store import Store

    store = Store(_existing_db(db))
    try:
        html = render_report(report_data(store, name))
    finally:
        store.close()
    _write_file(output, html)
    click.echo(f"report: {output}")


@broadcast.command()
@click.argument("campaign", type=click.Path(dir_okay=False))
@_format_option
@click.option(
    "--sample",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Recipients to render.",
)
def preview(campaign: str, fmt: str, sample: int) -> None:
    """Dry run: duration, skipped recipients and why, and what a sample will hear."""
    from ..broadcast.campaign import load_campaign
    from ..broadcast.preview import preview_campaign, preview_json, preview_text

    data = preview_campaign(load_campaign(campaign), sample=sample)
    click.echo(preview_json(data) if fmt == "json" else preview_text(data), nl=False)
