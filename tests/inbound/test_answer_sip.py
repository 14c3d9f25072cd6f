"""`dialplan answer` end to end: SIPp callers on loopback against the real server process."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import require

pytestmark = pytest.mark.sip

NUMBERS = """
blacklist = ["15550006666"]

[sip]
prompt_cache_dir = "@PROMPTS@"
t1_s = 0.1

[numbers."15551230001"]
dialplan = "menu.xml"
variables = {{ office = "Springfield" }}

[numbers."15551230002"]
dialplan = "hold.xml"
max_concurrent = 1

[numbers."15551230003"]
dialplan = "short.xml"
answer_after_s = {ring}
"""


def numbers(ring: float = 0) -> str:
    return NUMBERS.format(ring=ring)


def test_sipp_caller_presses_a_key_and_the_stash_is_stored(answer_server: Any, caller: Any) -> None:
    require("espeak-ng", "sox", "sipp", root=True)
    server = answer_server(numbers())
    peer = caller(server, "+15551230001", digits="2", first_digit_ms=1500, hangup="callee")
    assert peer.wait(40) == 0, (peer.directory / "sipp.log").read_text(errors="replace")
    [call] = server.wait_finished(1)
    assert call.number == "15551230001" and call.caller == "15550001111"
    assert call.caller_name == "Ann Lee" and call.result == "LA" and call.outcome == "hangup"
    assert call.responses == [
        {"question": "department", "response": "support"},
        {"question": "caller", "response": "15550001111/15550001111/+15551230001/Springfield"},
    ]
    assert call.ended_by == "local" and call.answered_at is not None
    assert call.duration_s > 1.0


def test_unknown_number_gets_404_and_is_stored(answer_server: Any, caller: Any) -> None:
    require("sipp")
    server = answer_server(numbers())
    peer = caller(server, "15559999999", expect=404)
    assert peer.wait(20) == 0
    [call] = server.wait_finished(1)
    assert (call.result, call.sip_status, call.number) == ("INVALID", 404, "15559999999")


def test_blacklisted_caller_gets_603(answer_server: Any, caller: Any) -> None:
    require("sipp")
    server = answer_server(numbers())
    peer = caller(server, "15551230001", expect=603, caller="15550006666")
    assert peer.wait(20) == 0
    [call] = server.wait_finished(1)
    assert (call.result, call.sip_status) == ("REJECTED", 603)


def test_a_full_number_answers_486(answer_server: Any, caller: Any) -> None:
    require("espeak-ng", "sox", "sipp")
    server = answer_server(numbers())
    first = caller(server, "15551230002", hold_ms=6000, name="first")
    server_calls = _wait_for(lambda: [c for c in server.calls() if c.answered_at], 15)
    assert len(server_calls) == 1
    second = caller(server, "15551230002", expect=486, name="second")
    assert second.wait(20) == 0
    assert first.wait(30) == 0
    calls = server.wait_finished(2)
    assert sorted(c.result for c in calls) == ["BUSY", "LA"]
    held = next(c for c in calls if c.result == "LA")
    assert held.ended_by == "remote"  # the caller's BYE
    assert held.outcome == "caller_hangup"


def test_cancel_before_the_answer(answer_server: Any, caller: Any) -> None:
    require("sipp")
    server = answer_server(numbers(ring=5))
    peer = caller(server, "15551230003", cancel_after_ms=500)
    assert peer.wait(20) == 0, (peer.directory / "sipp.log").read_text(errors="replace")
    [call] = server.wait_finished(1)
    assert (call.result, call.sip_status, call.ended_by) == ("ABANDONED", 487, "cancelled")
    assert call.answered_at is None


def test_bye_from_the_server_when_the_dialplan_hangs_up(answer_server: Any, caller: Any) -> None:
    require("espeak-ng", "sox", "sipp")
    server = answer_server(numbers())
    peer = caller(server, "15551230003", hangup="callee")
    assert peer.wait(20) == 0  # SIPp received our BYE and answered it
    [call] = server.wait_finished(1)
    assert (call.result, call.ended_by, call.outcome) == ("LA", "local", "hangup")


def _wait_for(probe: Any, timeout: float) -> Any:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_signed_webhooks_for_ringing_connected_disconnected(
    answer_server: Any, caller: Any
) -> None:
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from dialplan.broadcast.webhooks import verify_signature

    require("espeak-ng", "sox", "sipp")
    received: list[tuple[bytes, str | None]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((body, self.headers.get("X-Dialplan-Signature")))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        server = answer_server(
            numbers() + f'\n[webhook]\nurl = "http://127.0.0.1:{http.server_address[1]}/hook"\n'
            'secret = "hush"\nallow_private = true\n'
        )
        peer = caller(server, "15551230003", hangup="callee")
        assert peer.wait(20) == 0
        [call] = server.wait_finished(1)
        server.stop()  # drains the outbox
    finally:
        http.shutdown()
    assert all(verify_signature(body, sig, "hush") for body, sig in received)
    events = [json.loads(body) for body, _ in received]
    assert [e["event"] for e in events] == ["ringing", "connected", "disconnected"]
    assert {e["voice_id"] for e in events} == {call.call_id}
    assert {e["from"] for e in events} == {"15550001111"}
    assert {e["to"] for e in events} == {"15551230003"}
    assert events[2]["call_result"] == "LA" and events[2]["disconnect_cause_code"] == 16


def test_trunk_digest_authentication(answer_server: Any, caller: Any) -> None:
    require("espeak-ng", "sox", "sipp")
    server = answer_server(numbers() + '\n[auth]\nusername = "trunk"\npassword = "s3cret"\n')
    # SIPp gets a 401, answers the challenge with trunk/s3cret, and is answered
    peer = caller(server, "15551230003", hangup="callee", auth=True)
    assert peer.wait(20) == 0, (peer.directory / "sipp.log").read_text(errors="replace")
    [call] = server.wait_finished(1)
    assert call.result == "LA"
    # without credentials: challenged, never answered, nothing stored
    peer = caller(server, "15551230003", expect=401, name="noauth")
    assert peer.wait(20) == 0
    assert len(server.calls()) == 1


@pytest.mark.parametrize("mode", ["waterfall", "ringall"])
def test_bridged_transfer_past_a_busy_agent_continues_after(
    answer_server: Any, caller: Any, sipp: Any, mode: str
) -> None:
    from pathlib import Path

    require("espeak-ng", "sox", "sipp")
    scenario = (Path(__file__).parent / "scenarios" / "agents.xml").read_text()
    agents = sipp(scenario, calls=2, name="agents")
    text = numbers() + f'\n[numbers."15551230010"]\ndialplan = "{mode}.xml"\n'
    uri = f'transfer_uri = "sip:{{number}}@{agents.hostport}"\n'
    server = answer_server(text.replace("[sip]\n", "[sip]\n" + uri, 1))
    peer = caller(server, "15551230010", hangup="callee")
    assert peer.wait(40) == 0, (peer.directory / "sipp.log").read_text(errors="replace")
    assert agents.wait(10) == 0  # SIPp saw a busy call and a bridged one it hung up
    [call] = server.wait_finished(1)
    assert call.transfer is not None and call.transfer["outcome"] == "answered"
    assert call.transfer["numbers"] == ["2135550001", "2135550002"]
    assert call.responses == [{"question": "back", "response": "yes"}]  # continue-after
    assert (call.result, call.ended_by) == ("LA", "local")


def test_the_caller_hanging_up_in_a_bridge_hangs_up_the_agent(
    answer_server: Any, caller: Any, sipp: Any
) -> None:
    from tools.sip_peers import sipp_uas_scenario

    require("espeak-ng", "sox", "sipp")
    agent = sipp(sipp_uas_scenario(200), name="agent")  # answers, then waits for a BYE
    uri = f'transfer_uri = "sip:{{number}}@{agent.hostport}"\n'
    text = numbers() + '\n[numbers."15551230012"]\ndialplan = "transfer_only.xml"\n'
    server = answer_server(text.replace("[sip]\n", "[sip]\n" + uri, 1))
    peer = caller(server, "15551230012", hangup="caller", hold_ms=4000)
    assert peer.wait(30) == 0
    assert agent.wait(10) == 0  # the agent got our BYE when the caller left
    [call] = server.wait_finished(1)
    assert (call.result, call.ended_by, call.outcome) == ("XFER", "remote", "caller_hangup")
    assert call.responses == []  # the dialplan did not go on
