"""``dialplan serve --driver sip``: a /v2 call broadcast placed as real SIP calls (SIPp UAS)."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from tests.service.conftest import start_server, stop_server

from .conftest import require, uas

pytestmark = pytest.mark.sip
PLANS = Path(__file__).parent / "plans"
N = 5


def test_a_broadcast_over_the_api_calls_a_sip_peer(
    sipp: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require("espeak-ng", "sox", "sipp", root=True)
    peer = sipp(uas(digits="1", first_digit_ms=300), calls=N, timeout_s=120)
    config = tmp_path / "sip.toml"
    config.write_text(f'[sip]\nproxy = "{peer.hostport}"\n', encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the server's prompt cache
    server = start_server(tmp_path, "--driver", "sip", "--sip-config", str(config))
    try:
        with server.client(server.key("acme", "write")) as c:
            r = c.post(
                "/v2/calls/broadcasts",
                params={"start": "true"},
                json={
                    "name": "over sip",
                    "fromNumber": "+12125550100",
                    "answeringMachineConfig": "LIVE_IMMEDIATE",
                    "maxActive": N,
                    "callsPerSecond": 50,
                    "dialplanXml": (PLANS / "one_key.xml").read_text(),
                    "recipients": [{"phoneNumber": f"+1212555{i:04d}"} for i in range(N)],
                },
            )
            assert r.status_code == 200, r.text
            bid = r.json()["id"]
            deadline = time.monotonic() + 90
            while (b := c.get(f"/v2/calls/broadcasts/{bid}").json())["status"] == "RUNNING":
                assert time.monotonic() < deadline, "the SIP broadcast did not finish"
                time.sleep(0.2)
            assert b["status"] == "FINISHED", b
            calls = c.get(f"/v2/calls/broadcasts/{bid}/calls").json()["items"]
    finally:
        stop_server(server)
    assert [c["finalCallResult"] for c in calls] == ["LA"] * N
    answers = [c["records"][0]["questionResponses"] for c in calls]
    assert answers == [[{"question": "answer", "response": "1"}]] * N
    assert peer.wait(10) == 0  # SIPp saw N complete calls, one per recipient


def invites(directory: Path) -> dict[str, set[str]]:
    """Request-URI user → the Call-IDs of the INVITEs SIPp received for it (its message trace)."""
    seen: dict[str, set[str]] = {}
    for log in directory.glob("*_messages.log"):
        for block in log.read_text(errors="replace").split("message received"):
            found = re.search(r"^INVITE sip:([^@\s]+)@", block, re.M)
            call_id = re.search(r"^Call-ID:\s*(\S+)", block, re.M | re.I)
            if found and call_id:
                seen.setdefault(found.group(1), set()).add(call_id.group(1))
    return seen


def test_kill_9_during_a_sip_broadcast_dials_nobody_twice(
    sipp: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SIP peer counts the dials: after kill -9 and a restart every number got one INVITE."""
    require("sipp")
    count = 30
    peer = sipp(uas(status=486, reason="Busy Here", ring_ms=1500), calls=0, timeout_s=180,
                extra=["-trace_msg"], media=False)  # fmt: skip
    config = tmp_path / "sip.toml"
    config.write_text(f'[sip]\nproxy = "{peer.hostport}"\n', encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    options = ("--driver", "sip", "--sip-config", str(config))
    store = tmp_path / "service.broadcasts" / "campaigns.sqlite"
    numbers = [f"+1212555{2000 + i}" for i in range(count)]
    server = start_server(tmp_path, *options)
    try:
        key = server.key("acme", "write")
        with server.client(key) as c:
            r = c.post(
                "/v2/calls/broadcasts",
                params={"start": "true"},
                json={
                    "name": "sip crash",
                    "answeringMachineConfig": "LIVE_IMMEDIATE",
                    "maxActive": 6,
                    "callsPerSecond": 8,
                    "retryConfig": {"maxAttempts": 3, "retryResults": ["NO_ANS"]},
                    "dialplanXml": (PLANS / "one_key.xml").read_text(),
                    "recipients": [{"phoneNumber": n} for n in numbers],
                },
            )
            assert r.status_code == 200, r.text
            bid = r.json()["id"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if store.is_file() and booked(store) >= 6:
                break
            time.sleep(0.02)
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait()
        assert 6 <= booked(store) < count, "not killed mid-way"
    finally:
        stop_server(server)
    again = start_server(tmp_path, *options)
    try:
        with again.client(key) as c:
            deadline = time.monotonic() + 120
            while c.get(f"/v2/calls/broadcasts/{bid}").json()["status"] != "FINISHED":
                assert time.monotonic() < deadline, "the broadcast did not finish after restart"
                time.sleep(0.2)
            calls = c.get(f"/v2/calls/broadcasts/{bid}/calls").json()["items"]
    finally:
        stop_server(again)
    dialled = invites(peer.directory)
    assert sorted(dialled) == sorted(numbers)  # everyone was dialled …
    assert all(len(ids) == 1 for ids in dialled.values()), dialled  # … exactly once
    # the calls ringing at the kill are booked INTERNAL_ERROR (and, as SIPp saw, not redialled)
    assert {c["finalCallResult"] for c in calls} == {"BUSY", "INTERNAL_ERROR"}
    assert all(len(c["records"]) == 1 for c in calls)


def booked(store: Path) -> int:
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        return int(db.execute("SELECT COUNT(*) FROM attempts").fetchone()[0])
