"""``broadcast run`` progress: counts, ETA, the virtual clock, and what a real-clock run waits for."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console

from dialplan.broadcast.campaign import load_campaign
from dialplan.broadcast.progress import Progress, Waiting
from dialplan.broadcast.scheduler.windows import windows_for
from dialplan.broadcast.service import run_campaign
from dialplan.cli.progress import LineProgress, LiveProgress, waiting_text

from .helpers import fake_runner, write_campaign

ROOT = Path(__file__).resolve().parents[2]

ROWS = [
    {"phone_number": "2125550101", "first": "Ann", "sim_result": "LA"},
    {"phone_number": "2125550102", "first": "Bob", "sim_result": "LA"},
    {"phone_number": "2125550103", "first": "Cy", "sim_result": "BUSY"},
    {"phone_number": "2125550104", "first": "Di", "sim_result": "AM"},
]


def test_non_tty_progress_lines_show_counts_and_the_virtual_clock(tmp_path: Path) -> None:
    path = write_campaign(tmp_path, ROWS)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dialplan",
            "broadcast",
            "run",
            str(path),
            "--progress",
            "--db",
            str(tmp_path / "db.sqlite"),
            "--format",
            "json",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    # plain lines, no spinner frames or terminal control codes
    assert "\x1b" not in done.stderr and "\r" not in done.stderr
    assert lines[0] == "loading recipients: 4 rows"
    assert lines[1].startswith("calling: 0/4 done")
    assert "virtual clock 2026-12-01 12:00 UTC" in lines[1]
    last = lines[-1]
    assert last.startswith("finished: 4/4 done · 4 calls placed · LA 2 · AM 1 · BUSY 1")
    assert "virtual clock 2026-12-01 12:0" in last
    assert lines[1].endswith("ETA --")  # no speed measured yet
    assert '"stats"' in done.stdout  # --format json is unchanged on stdout


def _opening_soon(seconds: float) -> tuple[str, datetime]:
    """A zone where ``now + seconds`` is not close to midnight, and that instant there."""
    for name in ("America/Chicago", "Asia/Tokyo", "Europe/London"):
        at = datetime.now(ZoneInfo(name)) + timedelta(seconds=seconds)
        if (
            timedelta(minutes=2)
            < at - at.replace(hour=0, minute=0, second=0)
            < timedelta(hours=23, minutes=50)
        ):
            return name, at.replace(microsecond=0) + timedelta(seconds=1)
    raise AssertionError("unreachable: the zones are hours apart")


def test_real_clock_run_says_what_it_waits_for(tmp_path: Path) -> None:
    zone, opens = _opening_soon(4)  # room for a slow start on a busy machine
    path = write_campaign(
        tmp_path,
        [{"phone_number": "2125550101", "first": "Ann", "sim_result": "CARRIER_ERROR"}],
        schedules=[
            {
                "time_zone": zone,
                "start_time_of_day": opens.strftime("%H:%M:%S"),
                "stop_time_of_day": "23:59",
            }
        ],
    )
    lines = io.StringIO()
    console = Console(record=True, force_terminal=True, width=200, file=io.StringIO())
    live = LiveProgress(console)
    seen: list[Progress] = []

    def both(p: Progress) -> None:
        seen.append(p)
        lines_progress(p)
        live(p)

    lines_progress = LineProgress(lines)
    t0 = time.time()
    with live:
        run_campaign(
            load_campaign(path),
            tmp_path / "db.sqlite",
            clock="real",
            runner=fake_runner,
            progress=both,
        )
    assert time.time() - t0 >= 1.0  # it really waited for the schedule
    waits = [p.waiting for p in seen if p.waiting is not None]
    assert waits and waits[0] == Waiting(opens.timestamp(), "schedule", zone)
    expected = f"waiting for the campaign schedule until {opens:%H:%M:%S} {zone}"
    assert any(line.startswith(expected + ": 0/1 done") for line in lines.getvalue().splitlines())
    assert expected in console.export_text()
    assert (
        lines.getvalue()
        .splitlines()[-1]
        .startswith("finished: 1/1 done · 1 calls placed · CARRIER_ERROR 1")
    )


def test_the_window_that_blocks_is_named_with_its_zone(tmp_path: Path) -> None:
    camp = load_campaign(
        write_campaign(
            tmp_path,
            ROWS[:1],
            tables={"local_time_restriction": {"begin": "09:00", "end": "20:00"}},
        )
    )
    windows = windows_for(camp, ["America/Chicago"])
    at = datetime(2026, 12, 1, 12, 0, tzinfo=ZoneInfo("UTC")).timestamp()  # 06:00 in Chicago
    assert windows.blocker(at) == ("calling window", "America/Chicago")
    opens = windows.next_open(at)
    assert opens == datetime(2026, 12, 1, 15, 0, tzinfo=ZoneInfo("UTC")).timestamp()
    assert windows.blocker(opens) is None
    waiting = Waiting(opens, "calling window", "America/Chicago")
    assert waiting_text(waiting, at) == (
        "waiting for the calling window until 09:00 America/Chicago"
    )
    # a window that opens on another day says which
    later = Waiting(opens + 86400, "calling window", "America/Chicago")
    assert waiting_text(later, at) == (
        "waiting for the calling window until Wed 2 Dec 09:00 America/Chicago"
    )


def test_line_progress_prints_periodically_not_at_every_snapshot() -> None:
    out = io.StringIO()
    clock = [0.0]
    lines = LineProgress(out, interval=10.0, monotonic=lambda: clock[0])
    for i in range(100):
        clock[0] = i * 0.5  # a snapshot every half second for 50 s
        lines(Progress("calling", i, 100, {"LA": i}, i, 1_700_000_000.0 + i))
    printed = out.getvalue().splitlines()
    assert len(printed) == 5  # at 0, 10, 20, 30 and 40 s
    assert printed[2].startswith("calling: 40/100 done · 40 calls placed · LA 40 · virtual clock")
    assert printed[2].endswith("ETA 0:00:30")  # 40 done in 20 s: the 60 left take 30 s


def test_delivering_webhook_events_after_the_calls_is_said(tmp_path: Path) -> None:
    from tests.webhooks.helpers import LoopbackServer, Receiver

    receiver = Receiver(lambda n: 500 if n < 3 else 200)  # the first events are retried later
    out = io.StringIO()
    with LoopbackServer(receiver) as server:
        camp = load_campaign(
            write_campaign(
                tmp_path,
                ROWS,
                tables={
                    "webhook": {"url": server.url, "secret": "s"},
                    "network": {"allow_private": True},
                },
            )
        )
        result = run_campaign(
            camp,
            tmp_path / "db.sqlite",
            runner=fake_runner,
            max_wait=20,
            progress=LineProgress(out),
        )
    assert result.events_pending == 0
    lines = out.getvalue().splitlines()
    assert lines[-2].startswith("finished: 4/4 done")
    assert re.fullmatch(r"delivering webhook events: \d+ pending", lines[-1])
