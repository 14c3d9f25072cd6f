"""/v1/calls over a live server: sync (and its limit), poll and webhook modes on the simulated runner."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from dialplan.broadcast.webhooks import verify_signature

from .conftest import Receiver, Server, start_server, stop_server

SECRET = "s3cret-for-the-test-0123"
#: how long a call rings where a test needs the server to answer while it still rings: the 202
#: (a read of the call still queued) and the bound on the wait each race it, and on a loaded
#: machine a request can take seconds; 5 s past the 1 s sync limit is the margin
RING_S = 6


def call_body(flow_id: str, **extra: Any) -> dict[str, Any]:
    return {"flow_id": flow_id, "to": "+15555550123", "caller_id": "+15555550100", **extra}


def poll(c: httpx.Client, location: str, timeout: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        call = c.get(location).json()
        if call["final"]:
            return dict(call)
        time.sleep(0.05)
    raise AssertionError(f"call never ended: {call}")


def test_sync_call_returns_the_outcome(server: Server, acme: str, flow_id: str) -> None:
    with server.client(acme) as c:
        r = c.post(
            "/v1/calls",
            json=call_body(
                flow_id,
                mode="sync",
                variables={"campaign": "winter"},
                detect_answering_machine=True,
                simulation={"inputs": ["2"]},
            ),
        )
    assert r.status_code == 200, r.text
    call = r.json()
    assert r.headers["location"] == f"/v1/calls/{call['id']}"
    assert call["status"] == "completed" and call["final"]
    assert call["answered_by"] == "human"
    assert call["result"]["outcome"] == "hangup"
    assert call["result"]["responses"] == [{"question": "volunteer", "response": "yes"}]
    assert call["result"]["variables"]["campaign"] == "winter"
    assert call["ended_at"] is not None


def test_sync_call_past_the_limit_answers_202_with_location(
    server: Server, acme: str, flow_id: str
) -> None:
    # the test server holds sync requests 1 s; this call rings RING_S
    with server.client(acme) as c:
        started = time.monotonic()
        r = c.post("/v1/calls", json=call_body(flow_id, mode="sync", simulation={"ring_s": RING_S}))
        held = time.monotonic() - started
        assert r.status_code == 202, r.text
        assert 0.95 <= held < RING_S  # held to the limit, answered before the call could end
        assert r.json()["status"] == "queued" and not r.json()["final"]
        done = poll(c, r.headers["location"])
    assert done["status"] == "completed"


def test_poll_mode_answers_at_once(server: Server, acme: str, flow_id: str) -> None:
    with server.client(acme) as c:
        started = time.monotonic()
        r = c.post("/v1/calls", json=call_body(flow_id, mode="poll", simulation={"ring_s": RING_S}))
        assert time.monotonic() - started < RING_S  # answered before the call could end
        assert r.status_code == 202
        assert r.json()["status"] == "queued"
        done = poll(c, r.headers["location"])
        assert done["status"] == "completed" and done["result"]["outcome"]
        listed = [item["id"] for item in c.get("/v1/calls").json()["items"]]
        assert done["id"] in listed


@pytest.mark.parametrize("result", ["busy", "no-answer", "failed"])
def test_unanswered_calls(server: Server, acme: str, flow_id: str, result: str) -> None:
    with server.client(acme) as c:
        r = c.post("/v1/calls", json=call_body(flow_id, mode="sync", simulation={"result": result}))
    call = r.json()
    assert r.status_code == 200
    assert call["status"] == result and call["failure_reason"] == result
    assert call["result"] is None and call["answered_by"] is None


def test_machine_answer(server: Server, acme: str, flow_id: str) -> None:
    with server.client(acme) as c:
        r = c.post(
            "/v1/calls",
            json=call_body(
                flow_id, mode="sync", detect_answering_machine=True, simulation={"amd": "machine"}
            ),
        )
    assert r.json()["answered_by"] == "machine"


def test_bad_calls_are_422(server: Server, acme: str, flow_id: str) -> None:
    with server.client(acme) as c:
        for body in (
            call_body(flow_id, to="12345"),
            call_body(flow_id, caller_id="not a number"),
            call_body(flow_id, mode="webhook"),  # no URL, no secret
            call_body(flow_id, mode="webhook", webhook_url="ftp://x/y", webhook_secret=SECRET),
            call_body(flow_id, simulation={"inputs": ["nope"]}),
            call_body(flow_id, simulation={"ring_s": 61}),
            call_body(flow_id, mode="later"),
        ):
            r = c.post("/v1/calls", json=body)
            assert r.status_code == 422, (body, r.text)
            assert r.headers["content-type"] == "application/problem+json"
        assert c.post("/v1/calls", json=call_body("flw_0000000000000000")).status_code == 404


def test_sip_destinations_are_accepted(server: Server, acme: str, flow_id: str) -> None:
    with server.client(acme) as c:
        r = c.post("/v1/calls", json=call_body(flow_id, to="sip:alice@127.0.0.1", mode="sync"))
    assert r.status_code == 200 and r.json()["to"] == "sip:alice@127.0.0.1"


def test_webhook_mode_posts_signed_events(
    server: Server, acme: str, flow_id: str, receiver: Receiver
) -> None:
    with server.client(acme) as c:
        r = c.post(
            "/v1/calls",
            json=call_body(
                flow_id,
                mode="webhook",
                webhook_url=receiver.url,
                webhook_secret=SECRET,
                detect_answering_machine=True,
                simulation={"amd": "machine"},
            ),
        )
        assert r.status_code == 202
        call_id = r.json()["id"]
        receiver.wait_for(lambda bodies: any(b["event"] == "call.ended" for b in bodies))
        events = [b["event"] for b in receiver.bodies()]
        assert events == ["call.answered", "call.ended"]
        answered, ended = receiver.bodies()
        assert answered["answered_by"] == "machine" and answered["call_id"] == call_id
        assert ended["status"] == "completed" and ended["outcome"]
        for headers, body in receiver.received:
            assert verify_signature(body, headers["x-dialplan-signature"], SECRET)
            assert not verify_signature(body, headers["x-dialplan-signature"], SECRET + "x")
            assert headers["x-dialplan-attempt"] == "1"
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            items = c.get(f"/v1/calls/{call_id}/webhooks").json()["items"]
            if all(i["delivered"] for i in items):
                break
            time.sleep(0.05)
        assert [i["event"] for i in items] == ["call.answered", "call.ended"]
        assert all(i["delivered"] and i["attempts"] == 1 for i in items)


def test_webhook_failed_call_and_retries(
    server: Server, acme: str, flow_id: str, receiver: Receiver
) -> None:
    receiver.statuses = [500, 503]  # the first two deliveries fail; retried from the outbox
    with server.client(acme) as c:
        r = c.post(
            "/v1/calls",
            json=call_body(
                flow_id,
                mode="webhook",
                webhook_url=receiver.url,
                webhook_secret=SECRET,
                simulation={"result": "busy"},
            ),
        )
        assert r.status_code == 202
        location = f"/v1/calls/{r.json()['id']}/webhooks"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            items = c.get(location).json()["items"]
            if len(items) == 2 and all(i["delivered"] for i in items):
                break
            time.sleep(0.05)
    assert [(i["event"], i["attempts"]) for i in items] == [("call.failed", 2), ("call.ended", 2)]
    bodies = receiver.bodies()
    assert [b["event"] for b in bodies[:2]] == ["call.failed", "call.ended"]
    # the retries (in backoff order) are the same events, byte for byte
    assert sorted(body for _, body in receiver.received[2:]) == sorted(
        body for _, body in receiver.received[:2]
    )
    assert bodies[0]["reason"] == "busy"
    attempts = [h["x-dialplan-attempt"] for h, _ in receiver.received]
    assert attempts == ["1", "1", "2", "2"]
    for headers, body in receiver.received:
        assert verify_signature(body, headers["x-dialplan-signature"], SECRET)


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A server with the default private-address guard (no --allow-private)."""
    running = start_server(tmp_path_factory.mktemp("guarded"))
    yield running
    stop_server(running)


def test_webhooks_to_loopback_are_refused_without_allow_private(
    guarded: Server, receiver: Receiver
) -> None:
    key = guarded.key("acme", "write")
    from .conftest import charity_xml

    with guarded.client(key) as c:
        flow = c.post("/v1/flows", json={"name": "c", "xml": charity_xml()}).json()["id"]
        r = c.post(
            "/v1/calls",
            json=call_body(flow, mode="webhook", webhook_url=receiver.url, webhook_secret=SECRET),
        )
    assert r.status_code == 422
    assert r.json()["type"].endswith("/unsafe-url")
    assert "loopback" in r.json()["detail"]
    assert receiver.received == []


def test_outbox_and_unfinished_calls_survive_a_restart(tmp_path: Any, receiver: Receiver) -> None:
    from .conftest import charity_xml

    receiver.statuses = [500] * 1000  # the receiver is down while the first server runs
    first = start_server(tmp_path, "--allow-private")
    key = first.key("acme", "write")
    try:
        with first.client(key) as c:
            flow = c.post("/v1/flows", json={"name": "c", "xml": charity_xml()}).json()["id"]
            hooked = call_body(
                flow, mode="webhook", webhook_url=receiver.url, webhook_secret=SECRET
            )
            done = c.post("/v1/calls", json=hooked).json()["id"]
            ringing = c.post("/v1/calls", json={**hooked, "simulation": {"ring_s": 30}}).json()[
                "id"
            ]
            receiver.wait_for(lambda bodies: len(bodies) >= 2)
    finally:
        first.process.kill()  # kill -9: no graceful shutdown
        first.process.wait()
    with receiver.lock:
        receiver.statuses = []
        receiver.received.clear()
    second = start_server(tmp_path, "--allow-private")
    try:
        with second.client(key) as c:
            interrupted = c.get(f"/v1/calls/{ringing}").json()
            assert interrupted["status"] == "failed" and interrupted["final"]
            assert interrupted["failure_reason"] == "interrupted"
            receiver.wait_for(
                lambda bodies: (
                    {(b["call_id"], b["event"]) for b in bodies}
                    >= {
                        (done, "call.answered"),
                        (done, "call.ended"),
                        (ringing, "call.failed"),
                        (ringing, "call.ended"),
                    }
                )
            )
    finally:
        stop_server(second)
    for headers, body in receiver.received:
        assert verify_signature(body, headers["x-dialplan-signature"], SECRET)
