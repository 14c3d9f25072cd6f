"""``serve --driver sip``: single calls ring a real SIP peer (baresip, SIPp) on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.sip import conftest as sip_peers
from tests.sip.conftest import require, uas

from .conftest import Receiver, Server, start_server, stop_server

pytestmark = pytest.mark.sip
baresip = sip_peers.baresip  # the peers' fixtures
sipp = sip_peers.sipp

GREETING = (
    '<dialplan name="Root"><play type="tts">Hello from the service.</play>'
    '<setvar varname="heard">yes</setvar><hangup/></dialplan>'
)
#: plays, then holds the line (20 s) for live call control
HOLDING = '<dialplan name="Root"><play type="tts">Please hold.</play><wait>20000</wait></dialplan>'


@pytest.fixture
def sip_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    require("espeak-ng", "sox")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    running = start_server(tmp_path, "--driver", "sip", "--allow-private")
    yield running
    stop_server(running)


def upload(c: httpx.Client, xml: str, name: str = "sip") -> str:
    r = c.post("/v1/flows", json={"name": name, "xml": xml})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def wait_call(c: httpx.Client, call_id: str, test: Any, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    call: dict[str, Any] = {}
    while time.monotonic() < deadline:
        call = c.get(f"/v1/calls/{call_id}").json()
        if test(call):
            return call
        time.sleep(0.1)
    raise AssertionError(f"the call never got there: {call}")


def test_a_single_call_rings_baresip_and_runs_the_flow(sip_server: Server, baresip: Any) -> None:
    peer = baresip()
    with sip_server.client(sip_server.key()) as c:
        flow = upload(c, GREETING)
        r = c.post(
            "/v1/calls",
            json={"flow_id": flow, "to": peer.uri, "caller_id": "+15555550100", "mode": "poll"},
        )
        assert r.status_code == 202, r.text
        call = wait_call(c, r.json()["id"], lambda call: call["final"])
    assert call["status"] == "completed", call
    assert call["answered_at"] is not None
    result = call["result"]
    assert result["outcome"] == "hangup"
    assert result["variables"]["heard"] == "yes"
    assert result["prompts"] == ["Hello from the service."]
    assert result["sip"]["result"] == "LA" and result["sip"]["cause"] == 16
    assert result["sip"]["ended_by"] == "local"
    assert "Call established" in peer.log_text() or "call established" in peer.log_text().lower()


def test_a_busy_peer_makes_a_busy_call(sip_server: Server, sipp: Any) -> None:
    peer = sipp(uas(status=486, reason="Busy Here"))
    with sip_server.client(sip_server.key()) as c:
        flow = upload(c, GREETING)
        r = c.post(
            "/v1/calls",
            json={
                "flow_id": flow,
                "to": f"sip:callee@{peer.hostport}",
                "caller_id": "+15555550100",
                "mode": "sync",
            },
        )
    assert r.status_code == 200, r.text
    call = r.json()
    assert (call["status"], call["failure_reason"], call["result"]) == ("busy", "busy", None)


def test_a_number_without_a_trunk_fails_saying_why(sip_server: Server) -> None:
    with sip_server.client(sip_server.key()) as c:
        flow = upload(c, GREETING)
        r = c.post(
            "/v1/calls",
            json={
                "flow_id": flow,
                "to": "+15555550123",
                "caller_id": "+15555550100",
                "mode": "sync",
            },
        )
    call = r.json()
    assert call["status"] == "failed", call
    assert "no [sip] proxy configured" in call["failure_reason"]


def test_serve_refuses_sip_options_without_the_sip_driver(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.clirun import run

    code, _, err = run(capsys, "serve", "--db", str(tmp_path / "s.db"), "--proxy", "127.0.0.1:5060")
    assert code == 2
    assert "--sip-config and --proxy need --driver sip" in err


def test_enablex_controls_play_and_hang_up_a_live_sip_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, baresip: Any, receiver: Receiver
) -> None:
    require("espeak-ng", "sox")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    peer = baresip(user="+12125550101")
    home = tmp_path / "server"
    home.mkdir()
    trunk = f"127.0.0.1:{peer.port}"
    server = start_server(home, "--driver", "sip", "--allow-private", "--proxy", trunk)
    try:
        key = server.key("enablex", "write")
        auth = httpx.BasicAuth("APP_ID", key)
        with httpx.Client(base_url=server.url, auth=auth, trust_env=False, timeout=30) as c:
            r = c.post(
                "/voice/v1/broadcast",
                json={
                    "name": "hold",
                    "from": "12012774877",
                    "recipients": [
                        {"to": "12125550101", "play": {"type": "tts", "text": "Please hold."}}
                    ],
                    "event_url": receiver.url,
                    "hold_s": 20,
                },
            )
            assert r.status_code == 200, r.text
            broadcast_id = r.json()["broadcast_id"]
            voice_id = r.json()["to"]["call_initiated"][0]["voice_id"]
            wait_call(c, voice_id, lambda call: call["status"] == "in-progress")
            # the flow's own prompt has begun (under load its TTS can start after a control
            # sent at once, and this test is about the control, not that race)
            receiver.wait_for(
                lambda bodies: any(
                    b["event"] == "playstate" and b.get("prompt_ref") == "prompt" for b in bodies
                )
            )
            play = c.put(
                f"/voice/v1/call/{voice_id}/play",
                json={"play": {"type": "tts", "text": "One more thing.", "prompt_ref": "p2"}},
            )
            assert play.status_code == 200, play.text
            assert (play.json()["playstate"], play.json()["broadcast_id"]) == (
                "initiated",
                broadcast_id,
            )
            started = time.monotonic()
            hang = c.delete(f"/voice/v1/call/{voice_id}")
            assert hang.status_code == 200 and hang.json()["state"] == "success", hang.text
            call = wait_call(c, voice_id, lambda call: call["final"])
            assert time.monotonic() - started < 10  # not the 20 s hold
            again = c.delete(f"/voice/v1/call/{voice_id}")
        assert call["status"] == "completed", call
        assert call["result"]["sip"]["ended_by"] == "local"
        assert again.status_code == 409
        receiver.wait_for(
            lambda bodies: any(b["event"] == "broadcastcall_complete" for b in bodies)
        )
        bodies = receiver.bodies()
        events = [b["event"] for b in bodies]
        assert events[0] == "connected"
        assert events[-2:] == ["disconnected", "broadcastcall_complete"]
        plays = [(b["playstate"], b["prompt_ref"]) for b in bodies if b["event"] == "playstate"]
        assert plays[0] == ("initiated", "prompt")  # the flow's own "Please hold."
        assert ("initiated", "p2") in plays  # the control's
        disconnected = bodies[-2]
        assert disconnected["disconnect_cause_code"] == 16 and disconnected["to"] == "12125550101"
    finally:
        stop_server(server)


def test_serve_with_an_unreadable_sip_config_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.clirun import run

    bad = tmp_path / "sip.toml"
    bad.write_text("[sip]\nproxy = 5060\n")
    code, _, err = run(
        capsys, "serve", "--db", str(tmp_path / "s.db"), "--port", "0", "--driver", "sip",
        "--sip-config", str(bad),
    )  # fmt: skip
    assert code == 2
    assert err.strip().splitlines()[-1] == f"dialplan: error: {bad}: [sip] proxy: must be a string"
