"""EnableX live-call controls sent to any server of a PostgreSQL service run on the server that
runs the call (``call_controls``): two live ``serve --driver sip`` servers, real SIP peers."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from dialplan.drivers.sip.tts import PromptCache
from tests.sip import conftest as sip_peers
from tests.sip.audio import speech_span_s, ulaw_speech_span_s, wav_pcm
from tests.sip.conftest import require, run, uas

from .conftest import Server, start_server, stop_server

pytestmark = pytest.mark.sip
baresip = sip_peers.baresip  # the peers' fixtures
sipp = sip_peers.sipp

#: the line held silent for the controls (no prompt of its own: what the callee hears is theirs)
HOLD = '<dialplan name="Root"><wait>20000</wait><hangup/></dialplan>'
PEER_TIMEOUT_S = 6.0
CONTROL_WAIT_S = 1.5
OPTIONS = (
    "--driver", "sip", "--allow-private",
    "--peer-timeout", str(PEER_TIMEOUT_S), "--control-wait", str(CONTROL_WAIT_S),
)  # fmt: skip
SPOKEN = "One more thing: your order ships tomorrow."


@pytest.fixture(scope="module")
def servers(
    shared_dsn: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    """Server a runs the calls, server b takes the controls (as behind a load balancer)."""
    require("espeak-ng", "sox")
    tmp = tmp_path_factory.mktemp("pgcontrols")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp / "cache"))
        a = start_server(tmp, *OPTIONS, db=shared_dsn)
        try:
            b = start_server(tmp, *OPTIONS, db=shared_dsn)
        except BaseException:
            stop_server(a)
            raise
    yield a, b
    stop_server(a)
    stop_server(b)


@pytest.fixture(scope="module")
def key(servers: tuple[Server, Server]) -> str:
    return servers[0].key("acme", "write")


def _client(server: Server, key: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, auth=httpx.BasicAuth("APP_ID", key), trust_env=False, timeout=60
    )


def _hold_call(server: Server, key: str, to: str) -> str:
    """A call placed by ``server`` to ``to``, holding the line; its id once answered."""
    with _client(server, key) as c:
        flow = c.post("/v1/flows", json={"name": "hold", "xml": HOLD}).json()["id"]
        r = c.post(
            "/v1/calls",
            json={"flow_id": flow, "to": to, "caller_id": "+15555550100", "mode": "poll"},
        )
        assert r.status_code == 202, r.text
        call_id = str(r.json()["id"])
        _wait(c, call_id, lambda call: call["status"] == "in-progress")
    return call_id


def _wait(c: httpx.Client, call_id: str, test: Any, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    call: dict[str, Any] = {}
    while time.monotonic() < deadline:
        call = c.get(f"/v1/calls/{call_id}").json()
        if test(call):
            return call
        time.sleep(0.05)
    raise AssertionError(f"the call never got there: {call}")


def _commands(dsn: str, call_id: str) -> list[tuple[str, str]]:
    """(state, command type) of the call's forwarded controls, oldest first."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT state, command::jsonb ->> 'type' FROM dialplan_service.call_controls"
            " WHERE call_id = %s ORDER BY created_at",
            (call_id,),
        ).fetchall()
    return [(str(s), str(t)) for s, t in rows]


def _owner(dsn: str, call_id: str) -> str:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT owner FROM dialplan_service.calls WHERE id = %s", (call_id,)
        ).fetchone()
    assert row is not None
    return str(row[0])


def test_a_hangup_sent_to_the_other_server_ends_the_call_once(
    servers: tuple[Server, Server], key: str, shared_dsn: str, sipp: Any
) -> None:
    a, b = servers
    peer = sipp(uas())  # answers, then waits for the caller's BYE
    call_id = _hold_call(a, key, f"sip:callee@{peer.hostport}")
    headers = {"Idempotency-Key": "hang-1"}

    def hang_up(_: int) -> httpx.Response:
        with _client(b, key) as c:
            return c.delete(f"/voice/v1/call/{call_id}", headers=headers)

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(2) as pool:  # one key, two identical requests
        answers = list(pool.map(hang_up, range(2)))
    statuses = sorted(r.status_code for r in answers)
    assert statuses in ([200, 200], [200, 409]), [r.text for r in answers]
    done = next(r for r in answers if r.status_code == 200).json()
    assert (done["state"], done["voice_id"]) == ("success", call_id)
    assert peer.wait(10) == 0  # SIPp got the BYE and finished its scenario
    with _client(b, key) as c:
        call = _wait(c, call_id, lambda call: call["final"])
        replay = c.delete(f"/voice/v1/call/{call_id}", headers=headers)
        again = c.delete(f"/voice/v1/call/{call_id}")
    assert time.monotonic() - started < 10  # not the 20 s hold
    assert call["status"] == "completed" and call["result"]["sip"]["ended_by"] == "local"
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert again.status_code == 409 and again.json()["type"].endswith("/call-ended")
    assert _commands(shared_dsn, call_id) == [("done", "hangup")]  # run by a, exactly once


def test_a_play_sent_to_the_other_server_reaches_the_calls_rtp(
    servers: tuple[Server, Server], key: str, baresip: Any, tmp_path: Path
) -> None:
    a, b = servers
    peer = baresip()  # records what it hears
    call_id = _hold_call(a, key, peer.uri)
    with _client(b, key) as c:
        played = c.put(
            f"/voice/v1/call/{call_id}/play",
            json={"play": {"type": "tts", "text": SPOKEN, "prompt_ref": "p2"}},
        )
        assert played.status_code == 200, played.text
        assert (played.json()["playstate"], played.json()["voice_id"]) == ("initiated", call_id)
        expected = run(PromptCache(tmp_path / "prompts").tts(SPOKEN))
        time.sleep(len(expected) / 8000 + 1.0)  # the prompt goes out in real time
        assert c.delete(f"/voice/v1/call/{call_id}").status_code == 200
        _wait(c, call_id, lambda call: call["final"])
    exp_start, exp_end, exp_voiced = ulaw_speech_span_s(expected)
    heard = [p for p in peer.recordings() if p.name.endswith("-dec.wav")]
    assert len(heard) == 1
    start, end, voiced = speech_span_s(wav_pcm(heard[0]))
    # the silent line carried the control's speech, whole (the flow itself says nothing)
    assert abs((end - start) - (exp_end - exp_start)) < 0.5, (start, end, exp_start, exp_end)
    assert abs(voiced - exp_voiced) < 0.2 * exp_voiced


def test_an_owner_that_does_not_take_the_control_gets_it_cancelled_never_run_late(
    servers: tuple[Server, Server], key: str, shared_dsn: str, sipp: Any
) -> None:
    a, b = servers
    peer = sipp(uas())
    call_id = _hold_call(a, key, f"sip:callee@{peer.hostport}")
    headers = {"Idempotency-Key": "hang-stalled"}
    os.kill(a.process.pid, signal.SIGSTOP)  # a stalls: alive by its heartbeat, deaf to all
    try:
        started = time.monotonic()
        with _client(b, key) as c:
            stalled = c.delete(f"/voice/v1/call/{call_id}", headers=headers)
        waited = time.monotonic() - started
    finally:
        os.kill(a.process.pid, signal.SIGCONT)
    assert stalled.status_code == 503, stalled.text
    assert stalled.json()["type"].endswith("/owner-unavailable")
    assert int(stalled.headers["Retry-After"]) >= 1
    assert CONTROL_WAIT_S <= waited < CONTROL_WAIT_S + 3
    assert _commands(shared_dsn, call_id) == [("cancelled", "hangup")]
    time.sleep(2.0)  # a is back: it hears the old notification and looks for its commands
    with _client(b, key) as c:
        assert c.get(f"/v1/calls/{call_id}").json()["status"] == "in-progress"
        assert peer.wait(0) is None  # no BYE: the cancelled hang-up never ran
        retried = c.delete(f"/voice/v1/call/{call_id}", headers=headers)  # a 503 frees its key
        assert retried.status_code == 200, retried.text
        assert peer.wait(10) == 0
        _wait(c, call_id, lambda call: call["final"])
    assert _commands(shared_dsn, call_id) == [("cancelled", "hangup"), ("done", "hangup")]


def test_a_control_for_a_call_of_a_killed_server_is_503_then_409(
    servers: tuple[Server, Server],
    key: str,
    shared_dsn: str,
    sipp: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, b = servers
    peer = sipp(uas())
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    doomed = start_server(tmp_path, *OPTIONS, db=shared_dsn)
    try:
        call_id = _hold_call(doomed, key, f"sip:callee@{peer.hostport}")
        owner = _owner(shared_dsn, call_id)
    finally:
        doomed.process.kill()  # kill -9: its heartbeat just stops
        doomed.process.wait()
    with _client(b, key) as c:
        early = c.delete(f"/voice/v1/call/{call_id}")  # its heartbeat is still recent
        time.sleep(PEER_TIMEOUT_S + 1)
        late = c.delete(f"/voice/v1/call/{call_id}")
        call = _wait(c, call_id, lambda call: call["final"])
    assert early.status_code == 503 and "Retry-After" in early.headers, early.text
    assert late.status_code == 409, late.text
    assert (call["status"], call["failure_reason"]) == ("failed", "interrupted")
    assert _owner(shared_dsn, call_id) != owner  # booked by a live server
    assert _commands(shared_dsn, call_id) == [("cancelled", "hangup")]


def test_a_control_for_a_call_still_ringing_on_the_other_server_is_409_as_if_local(
    servers: tuple[Server, Server], key: str, shared_dsn: str, sipp: Any
) -> None:
    a, b = servers
    peer = sipp(uas(ring_ms=8000))  # rings for 8 s before it answers
    with _client(a, key) as c:
        flow = c.post("/v1/flows", json={"name": "hold", "xml": HOLD}).json()["id"]
        call_id = c.post(
            "/v1/calls",
            json={
                "flow_id": flow,
                "to": f"sip:callee@{peer.hostport}",
                "caller_id": "+15555550100",
                "mode": "poll",
            },
        ).json()["id"]
    with _client(b, key) as c:
        early = c.delete(f"/voice/v1/call/{call_id}")
    with _client(a, key) as c:
        local = c.delete(f"/voice/v1/call/{call_id}")
        assert c.get(f"/v1/calls/{call_id}").json()["status"] == "queued"  # still ringing
    # b's answer is what a, which runs the call, answers itself
    assert early.status_code == local.status_code == 409, early.text
    assert early.json()["detail"] == local.json()["detail"]
    assert "not answered yet" in early.json()["detail"]
    assert _commands(shared_dsn, call_id) == [("done", "hangup")]  # a ran b's, and said why not
