"""``dialplan broadcast``: run, resume and inspect voice campaigns."""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from functools import partial
from pathlib import Path
from typing import Any

import click

from ..broadcast.store.backend import is_postgres, open_store
from ..broadcast.store.sqlitefile import on_database
from ..errors import UsageError
from .options import clock_option, driver_option
from .stopsignals import StopSignals

DEFAULT_DB = "broadcast.sqlite"

_db_option = click.option(
    "--db",
    type=click.Path(dir_okay=False),
    default=DEFAULT_DB,
    show_default=True,
    help="The campaign database: an SQLite file, or a postgresql://user@host/db address.",
)
_wait_option = click.option(
    "--wait",
    is_flag=True,
    help="If another run holds the campaign, wait for it to finish instead of refusing.",
)
_lease_option = click.option(
    "--lease",
    type=click.FloatRange(min=1.0),
    default=10.0,
    show_default=True,
    help="PostgreSQL: seconds a worker's lease lasts without a heartbeat; calls in flight on a"
    " worker silent that long are booked INTERNAL_ERROR (worker lost).",
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
    if is_postgres(db):
        return db
    if not Path(db).is_file():
        raise UsageError(f"no campaign database {db} (run a campaign first, or pass --db)")
    return db


@broadcast.command()
@click.argument("campaign", type=click.Path(dir_okay=False))
@_db_option
@driver_option(
    "sim: simulated calls or texts; sip: real SIP calls to the campaign's [sip] trunk;"
    " smpp: real texts through the text campaign's [smpp] SMSC (both on the real clock).",
    also=("smpp",),
)
@clock_option("virtual: the simulated calls take no real time; real: wait like real calls.")
@_format_option
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show progress on stderr: a live bar on a terminal (the default there), a line every"
    " 10 s elsewhere (CI logs, pipes).",
)
@click.option(
    "--max-wait",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Seconds to keep delivering webhook events after the calls are done; on the real clock"
    " also how long calls in flight may go on after Ctrl-C/SIGTERM before they are hung up.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False),
    help="Where to write the HTML report (default: <campaign file name>-report.html).",
)
@_wait_option
@_lease_option
@on_database("db")
def run(
    campaign: str,
    db: str,
    driver: str,
    clock: str,
    fmt: str,
    progress: bool | None,
    max_wait: float,
    report_path: str | None,
    wait: bool,
    lease: float,
) -> None:
    """Run CAMPAIGN (a .toml or .json file) to the end; run it again to resume.

    On SQLite one run at a time holds a campaign: a second one is refused, or waits with
    --wait. On PostgreSQL (--db postgresql://…) a second run joins the first as a worker."""
    from ..broadcast.campaign import load_campaign
    from ..broadcast.reporting.stats import campaign_stats, delivery_note, stats_text
    from ..broadcast.service import run_campaign

    camp = load_campaign(campaign)
    out_path = report_path or f"{Path(campaign).stem}-report.html"
    _check_writable_dir(out_path)
    tty = sys.stderr.isatty()
    show = tty if progress is None else progress
    telephony: Any = None
    messaging: Any = None
    if (driver == "smpp") != (camp.channel == "sms") and driver != "sim":
        raise UsageError(
            f"{campaign}: --driver {driver} is for "
            + ('text campaigns (channel = "sms")' if driver == "smpp" else "voice campaigns")
        )
    if driver in ("sip", "smpp") and is_postgres(db):
        clock = "real"  # the worker builds its own SIP or SMPP driver on its loop
    elif driver == "smpp":
        from ..messaging.smpp import SmppMessaging
        from ..messaging.smpp_config import smpp_config

        clock = "real"
        messaging = SmppMessaging(smpp_config(camp.smpp, "smpp"))
    elif driver == "sip":
        from ..broadcast.service import load_dialplan
        from ..broadcast.telephony.sip import SipCampaignDriver

        clock = "real"
        telephony = SipCampaignDriver(camp, load_dialplan(camp), db)
    # the runner opens and closes the driver on its own loop
    stop = StopSignals() if clock == "real" and not is_postgres(db) else None
    with stop or nullcontext():
        if is_postgres(db):
            report = _run_on_postgres(camp, db, clock, driver, max_wait, show, tty, lease)
        elif show:
            report = _run_with_progress(
                camp, db, clock, max_wait, telephony, tty, wait, messaging, stop
            )
        else:
            report = run_campaign(
                camp,
                db,
                clock=clock,
                max_wait=max_wait,
                driver=telephony,
                messaging=messaging,
                stop=stop,
                **_waiting(wait),
            )
    store = open_store(db, readonly=True)
    try:
        stats = campaign_stats(store, camp.name)
        note = delivery_note(store, camp.name)
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
        if report.stopped and stop is not None:
            raise click.exceptions.Exit(stop.exit_code)
        return
    click.echo(stats_text(stats, camp.name), nl=False)
    click.echo(f"database: {db}")
    if written:
        click.echo(f"report: {written}")
    if camp.webhook is not None:
        click.echo(note or "webhook events: all delivered", nl=not note)
    if report.stopped and stop is not None:
        click.echo("stopped: run it again to resume", err=True)
        raise click.exceptions.Exit(stop.exit_code)


def _run_on_postgres(
    camp: Any, db: str, clock: str, driver: str, max_wait: float, show: bool, tty: bool,
    lease: float,
) -> Any:  # fmt: skip
    from ..broadcast.pg.service import run_on_postgres
    from ..broadcast.store.backend import need_psycopg
    from .progress import LineProgress, LiveProgress

    need_psycopg()
    options: dict[str, Any] = {
        "clock": clock, "driver": driver, "max_wait": max_wait, "lease": lease
    }  # fmt: skip
    if not show:
        return run_on_postgres(camp, db, **options)
    if not tty:
        return run_on_postgres(camp, db, progress=LineProgress(sys.stderr), **options)
    with LiveProgress() as bar:
        return run_on_postgres(camp, db, progress=bar, **options)


def _waiting(wait: bool) -> dict[str, Any]:
    """``run_campaign``'s lease options: wait (saying so once on stderr) or refuse."""
    return {"wait": wait, "on_wait": lambda text: click.echo(f"dialplan: {text}", err=True)}


def _run_with_progress(
    camp: Any,
    db: str,
    clock: str,
    max_wait: float,
    driver: Any,
    tty: bool,
    wait: bool = False,
    messaging: Any = None,
    stop: Any = None,
) -> Any:
    from ..broadcast.service import run_campaign
    from .progress import LineProgress, LiveProgress

    options = {
        "clock": clock,
        "max_wait": max_wait,
        "driver": driver,
        "messaging": messaging,
        "stop": stop,
        **_waiting(wait),
    }
    if not tty:
        return run_campaign(camp, db, progress=LineProgress(sys.stderr), **options)
    with LiveProgress() as bar:
        return run_campaign(camp, db, progress=bar, **options)


def _write_report(store: Any, name: str, path: str) -> str | None:
    """Render the HTML report if the report module is available; returns the path."""
    from ..broadcast.reporting.data import report_data

    try:
        from ..broadcast.reporting.report import render_report  # type: ignore[attr-defined]
    except ImportError:
        return None
    html = render_report(report_data(store, name))
    _write_file(path, html)
    return path


@broadcast.command()
@click.argument("name")
@_db_option
@_format_option
@on_database("db")
def stats(name: str, db: str, fmt: str) -> None:
    """Statistics of campaign NAME (or of the campaign file NAME.toml/.json), with CallFire
    CallBroadcastStats names."""
    from ..broadcast.inventory import campaign_name
    from ..broadcast.reporting.stats import campaign_stats, delivery_note, stats_text

    name = campaign_name(name)

    store = open_store(_existing_db(db), readonly=True)
    try:
        data = campaign_stats(store, name)
        note = delivery_note(store, name)
    finally:
        store.close()
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(stats_text(data, name) + note, nl=False)


@broadcast.command()
@click.argument("name")
@_db_option
@click.option(
    "--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to a file.")
@click.option(
    "--csv-escape/--no-csv-escape",
    default=True,
    show_default=True,
    help="CSV: prefix cells starting with = + - @ tab or CR with ' so spreadsheets do not run"
    " them as formulas (numbers and phone numbers are left as they are).",
)
@on_database("db")
def export(name: str, db: str, fmt: str, output: str | None, csv_escape: bool) -> None:
    """Export one row per recipient of campaign NAME (or of the campaign file NAME.toml/.json):
    final result, why a row was skipped, attempts, answers."""
    from ..broadcast.inventory import campaign_name
    from ..broadcast.reporting.stats import find_campaign, write_csv, write_json

    name = campaign_name(name)

    store = open_store(_existing_db(db), readonly=True)
    try:
        find_campaign(store, name)  # an unknown name fails before anything is written
        writer = write_json if fmt == "json" else partial(write_csv, escape=csv_escape)
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
@on_database("db")
def report(name: str, db: str, output: str) -> None:
    """Write an HTML report of campaign NAME (or of the campaign file NAME.toml/.json): results,
    answers per question, calls over time."""
    from ..broadcast.inventory import campaign_name
    from ..broadcast.reporting.data import report_data
    from ..broadcast.reporting.report import render_report  # type: ignore[attr-defined]

    name = campaign_name(name)

    store = open_store(_existing_db(db), readonly=True)
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
@click.option(
    "--skipped-rows",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="Skipped rows to list with their reason (broadcast export lists all of them).",
)
@click.option(
    "--show-dialplan",
    is_flag=True,
    help="Print the campaign's dialplan (the one generated from [sounds]) instead.",
)
def preview(campaign: str, fmt: str, sample: int, skipped_rows: int, show_dialplan: bool) -> None:
    """Dry run: duration, skipped recipients and why, and what a sample will hear."""
    from ..broadcast.campaign import load_campaign
    from ..broadcast.preview import preview_campaign, preview_json, preview_text

    camp = load_campaign(campaign)
    if show_dialplan:
        from ..broadcast.sounds_campaign import dialplan_text

        click.echo(dialplan_text(camp), nl=False)
        return
    data = preview_campaign(camp, sample=sample, skipped_rows=skipped_rows)
    click.echo(preview_json(data) if fmt == "json" else preview_text(data), nl=False)


@broadcast.command()
@click.argument("campaign_or_file")
@click.argument("recipients", type=click.Path(dir_okay=False))
@_db_option
@_wait_option
@on_database("db")
def add(campaign_or_file: str, recipients: str, db: str, wait: bool) -> None:
    """Add the new people of RECIPIENTS (a CSV) to a stored campaign.

    CAMPAIGN_OR_FILE is the campaign file or the campaign's name in the database. Numbers the
    campaign already has are skipped; the rest are sorted like the first load (DNC, country,
    invalid, duplicates). The next `broadcast run` calls them."""
    from ..broadcast.adding import add_recipients, add_text, resolve_campaign

    if not Path(recipients).is_file():
        raise UsageError(f"no recipients file {recipients}")
    camp = resolve_campaign(campaign_or_file, db)
    _existing_db(db)
    result = add_recipients(camp, Path(recipients), db, **_waiting(wait))
    click.echo(add_text(result, db), nl=False)


@broadcast.command(name="list")
@_db_option
@_format_option
@on_database("db")
def list_campaigns(db: str, fmt: str) -> None:
    """The campaigns in the database: name, status, counts, created."""
    from ..broadcast.inventory import campaign_summaries, summaries_json, summaries_text

    store = open_store(_existing_db(db), readonly=True)
    try:
        summaries = campaign_summaries(store)
    finally:
        store.close()
    click.echo(
        summaries_json(summaries) if fmt == "json" else summaries_text(summaries, db), nl=False
    )


@broadcast.command()
@click.option(
    "--db",
    required=True,
    help="The PostgreSQL campaign database (postgresql://user@host:port/dbname).",
)
@click.option(
    "--clock",
    type=click.Choice(["virtual", "real"]),
    default="virtual",
    show_default=True,
    help="virtual: computed calls on the campaign's shared clock; real: lived calls.",
)
@click.option(
    "--driver",
    type=click.Choice(["sim", "sip", "smpp"]),
    default="sim",
    show_default=True,
    help="sim: simulated calls and texts; sip: real SIP calls to each campaign's [sip] trunk;"
    " smpp: real texts through each text campaign's [smpp] SMSC (both on the real clock).",
)
@_lease_option
@click.option(
    "--forever",
    is_flag=True,
    help="Keep waiting for new campaigns when none is left (a service); stop with SIGTERM.",
)
@click.option(
    "--tick",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Virtual clock: seconds of start slots claimed at once (0: event by event, the"
    " schedule of a one-process SQLite run; slower).",
)
@click.option(
    "--max-wait",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Seconds to keep delivering webhook events after the calls are done.",
)
@click.option(
    "--dial-log",
    type=click.Path(dir_okay=False),
    help="Append one line per call placed (dial RECIPIENT ATTEMPT START) to this file: an"
    " audit trail, written after the attempt is committed and before the call is placed.",
)
@click.option(
    "--drain-timeout",
    type=click.FloatRange(0, 3600),
    default=30.0,
    show_default=True,
    help="Real clock: seconds the calls in flight may go on after SIGTERM, or after their"
    " campaign was stopped, before they are hung up (booked as hung up, never INTERNAL_ERROR).",
)
@_format_option
@on_database("db")
def worker(
    db: str,
    clock: str,
    driver: str,
    lease: float,
    forever: bool,
    tick: float,
    max_wait: float,
    dial_log: str | None,
    drain_timeout: float,
    fmt: str,
) -> None:
    """Dial the running campaigns of a PostgreSQL database, beside any number of other workers.

    Campaigns are loaded with `broadcast run --db postgresql://…` (which dials too). Workers
    share each campaign's calls_per_second and max_active; a worker that dies has its calls in
    flight booked INTERNAL_ERROR once its lease runs out. SIGTERM: stop claiming, finish the
    calls in flight (hung up after --drain-timeout), exit 0; a second SIGTERM exits at once."""
    from ..broadcast.store.backend import need_psycopg

    if not is_postgres(db):
        raise UsageError(f"--db {db}: workers need a postgresql:// database")
    need_psycopg()
    from ..broadcast.runners.pg_worker import Worker, WorkerOptions
    from ..service.autoreplies import WorkerAutoReplies

    if driver in ("sip", "smpp"):
        clock = "real"
    replies = WorkerAutoReplies(db)  # a service text broadcast's auto-replies
    options = WorkerOptions(
        clock=clock,
        driver=driver,
        lease=lease,
        forever=forever,
        tick=tick,
        max_wait=max_wait,
        dial_log=dial_log,
        auto_replies=replies,
        drain_s=drain_timeout,
    )
    w = Worker(db, options)
    w.install_signals()
    try:
        report = w.run()
    finally:
        replies.close()
    for name, needs in sorted(w.skipped.items()):
        click.echo(f"dialplan: campaign {name!r} left alone: it runs with {needs}", err=True)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "workers": report.worker_ids,
                    "calls": report.calls,
                    "campaigns_finished": report.campaigns_finished,
                    "lost_attempts_booked": report.lost_booked,
                    "events_pending": report.events_pending,
                    "calls_hung_up": report.hung_up,
                    "calls_left_in_flight": report.abandoned,
                },
                indent=2,
            )
        )
        return
    click.echo(
        f"calls placed: {report.calls}; campaigns finished here: {report.campaigns_finished};"
        f" lost attempts booked: {report.lost_booked}; webhook events pending:"
        f" {report.events_pending}"
    )
    if report.hung_up or report.abandoned:
        click.echo(
            f"drain: {report.hung_up} calls hung up at --drain-timeout;"
            f" {report.abandoned} left in flight (booked INTERNAL_ERROR when the lease runs out)"
        )
