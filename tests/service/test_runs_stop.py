"""The service's runs (``Runs``) on the real clock: a stop drains and reports ``STOPPED``; the
server's shutdown drains and reports nothing (the broadcast stays RUNNING, resumed at restart);
a shutdown during a user's drain does not turn that stop into a resume."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dialplan.broadcast.progress import Progress
from dialplan.service.broadcasts.runs import Runs
from tests.broadcast.helpers import count, write_campaign


def _runs(tmp: Path, ended: list[tuple[int, str | None, str | None]]) -> tuple[Runs, Path]:
    # busy lines ring 1-4 s on the real clock; no retries
    rows = [{"phone_number": f"(212) 555-{i:04d}", "sim_result": "BUSY"} for i in range(6)]
    campaign = write_campaign(
        tmp, rows, max_active=2, calls_per_second=20, tables={"retry_config": {"max_attempts": 1}}
    )

    def on_progress(bid: int, p: Progress) -> None:
        pass

    runs = Runs(
        tmp / "store.sqlite",
        clock="real",
        on_progress=on_progress,
        on_end=lambda *end: ended.append(end),
        drain_s=30,
    )
    return runs, campaign


def _calls_up(db: Path) -> None:
    deadline = time.monotonic() + 30
    while count(db, "SELECT COUNT(*) FROM in_flight") < 2:
        assert time.monotonic() < deadline, "no call started"
        time.sleep(0.01)


@pytest.mark.parametrize("shutdown_during_the_drain", [False, True])
def test_a_stop_reports_stopped_once_drained(
    tmp_path: Path, shutdown_during_the_drain: bool
) -> None:
    ended: list[tuple[int, str | None, str | None]] = []
    runs, campaign = _runs(tmp_path, ended)
    runs.start(1, campaign)
    _calls_up(tmp_path / "store.sqlite")
    assert runs.stop(1)
    assert runs.running(1) and not ended  # draining: the calls in flight go on
    if shutdown_during_the_drain:
        runs.close()
    else:
        runs.settle(1)
    assert ended == [(1, "STOPPED", None)]
    assert count(tmp_path / "store.sqlite", "SELECT COUNT(*) FROM in_flight") == 0


def test_a_shutdown_drains_and_leaves_the_broadcast_running(tmp_path: Path) -> None:
    ended: list[tuple[int, str | None, str | None]] = []
    runs, campaign = _runs(tmp_path, ended)
    runs.start(1, campaign)
    _calls_up(tmp_path / "store.sqlite")
    runs.close()
    assert ended == [(1, None, None)]  # RUNNING stays: recover() resumes it at the next start
    db = tmp_path / "store.sqlite"
    assert count(db, "SELECT COUNT(*) FROM in_flight") == 0
    assert count(db, "SELECT COUNT(*) FROM attempts WHERE result = 'INTERNAL_ERROR'") == 0
