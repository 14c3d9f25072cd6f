"""kill -9 of ``dialplan serve`` during a running broadcast, then a restart: the broadcast
continues by itself, nothing committed is lost, and nobody is dialled twice."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import start_server, stop_server

SHORT = (
    '<dialplan name="Root"><play type="tts">Hello, this is a reminder.</play><hangup/></dialplan>'
)
N = 40


def attempts(store: Path) -> dict[tuple[str, int], tuple[Any, ...]]:
    """Every attempt by (number, attempt number): start, end and result."""
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        return {
            (str(r[0]), int(r[1])): tuple(r[2:])
            for r in db.execute(
                "SELECT e.e164, a.attempt_no, a.started_at, a.ended_at, a.result"
                " FROM attempts a JOIN recipients e ON e.id = a.recipient_id"
            )
        }


def in_flight(store: Path) -> set[str]:
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        return {
            str(r[0])
            for r in db.execute(
                "SELECT e.e164 FROM in_flight f JOIN recipients e ON e.id = f.recipient_id"
            )
        }


@pytest.mark.slow
def test_kill_9_during_a_broadcast_then_restart_continues_it(tmp_path: Path) -> None:
    server = start_server(tmp_path, "--clock", "real")
    store = tmp_path / "service.broadcasts" / "campaigns.sqlite"
    numbers = [f"+1212555{1000 + i}" for i in range(N)]
    try:
        key = server.key("acme", "write")
        with server.client(key) as c:
            r = c.post(
                "/v2/calls/broadcasts",
                params={"start": "true"},
                json={
                    "name": "crash",
                    "dialplanXml": SHORT,
                    "maxActive": 8,
                    "callsPerSecond": 8,
                    # a busy number rings 1-4 s on the real clock; neither BUSY nor an attempt
                    # lost with its runner (INTERNAL_ERROR) is retried here, so a second attempt
                    # of anyone would be a second dial
                    "retryConfig": {"maxAttempts": 3, "retryResults": ["NO_ANS"]},
                    "recipients": [
                        {"phoneNumber": n, "attributes": {"sim_result": "BUSY"}} for n in numbers
                    ],
                },
            )
            assert r.status_code == 200, r.text
            bid = r.json()["id"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # some calls done, some in flight
            if store.is_file() and len(attempts(store)) >= 6 and in_flight(store):
                break
            time.sleep(0.02)
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait()
        before = attempts(store)
        lost = in_flight(store)
        assert 6 <= len(before) < N and lost, "the broadcast was not killed mid-call"
    finally:
        stop_server(server)

    again = start_server(tmp_path, "--clock", "real")  # no request: it resumes by itself
    try:
        with again.client(key) as c:
            deadline = time.monotonic() + 120
            while c.get(f"/v2/calls/broadcasts/{bid}").json()["status"] != "FINISHED":
                assert time.monotonic() < deadline, "the broadcast did not finish after restart"
                time.sleep(0.2)
            stats = c.get(f"/v2/calls/broadcasts/{bid}/stats").json()
    finally:
        stop_server(again)
    after = attempts(store)
    assert {k: v for k, v in after.items() if k in before} == before  # nothing lost or changed
    assert sorted(number for number, _ in after) == sorted(numbers)  # everyone, once
    assert all(n == 1 for _, n in after)  # nobody dialled twice
    lost_results = {after[(n, 1)][2] for n in lost}
    assert lost_results <= {"INTERNAL_ERROR"}  # in flight at the kill: booked, not redialled
    assert stats["totalCount"] == N and stats["callsRemaining"] == 0
    assert stats["busyCount"] + stats["errorCount"] == N
