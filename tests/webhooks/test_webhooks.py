"""Webhook bodies, signatures, retry policy and the delivery worker (httpx.MockTransport, fake clock)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from dialplan.broadcast import webhooks as wh
from dialplan.broadcast.webhooks.delivery import (
    CallInfo,
    RetryPolicy,
    deliver_pending,
    sign,
    verify_signature,
)
from dialplan.broadcast.webhooks.memory_outbox import MemoryOutbox

from .helpers import FakeClock

# The EnableX sample moment: 2026-04-08T15:24:10.670Z.
T0 = datetime(2026, 4, 8, 15, 24, 10, 670000, tzinfo=UTC)
BID = "74a2c2c2-4d55-4b0d-a9f6-8ec09f3bcc35"
VID = "bc273d94-cb59-4f66-8eba-e1f96a7e482e"
CUSTOM = {"booking_id": 12345, "farmer_id": 6789}
SECRET = "s3cret-webhook-key"


def leg(**extra: Any) -> dict[str, Any]:
    return {
        "event_id": "ev-1",
        "broadcast_id": BID,
        "voice_id": VID,
        "to": "918088394833",
        "timestamp": T0,
        "custom_data": CUSTOM,
        **extra,
    }


# --- bodies ------------------------------------------------------------------------------------


def test_ringing_body() -> None:
    body = wh.ringing(**leg(from_="12012774877", channel_id="102dcfdb"))
    assert json.loads(body) == {
        "event": "ringing",
        "state": "ringing",
        "event_id": "ev-1",
        "broadcast_id": BID,
        "voice_id": VID,
        "from": "12012774877",
        "to": "918088394833",
        "channel_id": "102dcfdb",
        "custom_data": CUSTOM,
        "timestamp": "2026-04-08T15:24:10.670Z",
    }


def test_connected_body_with_and_without_amd() -> None:
    with_amd = json.loads(wh.connected(**leg(call_answered_by="MACHINE")))
    assert with_amd["event"] == "connected"
    assert with_amd["call_answered_by"] == "MACHINE"
    without = json.loads(wh.connected(**leg()))
    assert "call_answered_by" not in without  # only present when AMD ran (EnableX)
    assert "from" not in without


def test_playstate_body() -> None:
    body = json.loads(
        wh.playstate(**leg(playstate="playfinished", prompt_ref="prompt_f2", prompt_name="p2"))
    )
    assert body["event"] == "playstate"
    assert body["playstate"] == "playfinished"
    assert body["prompt_ref"] == "prompt_f2"
    assert body["prompt_name"] == "p2"
    assert body["voice_id"] == VID


def test_disconnected_body() -> None:
    body = json.loads(
        wh.disconnected(
            **leg(
                call_duration=12.089,
                disconnect_reason="Normal Clearing",
                disconnect_cause_code=16,
                call_answered_by="HUMAN",
                call_result="LA",
            )
        )
    )
    assert body["event"] == body["state"] == "disconnected"
    assert body["call_result"] == "LA"
    assert body["call_duration"] == 12.089
    assert body["disconnect_reason"] == "Normal Clearing"
    assert body["disconnect_cause_code"] == 16
    assert body["call_answered_by"] == "HUMAN"


def test_broadcastcall_complete_body() -> None:
    infos = [
        CallInfo(
            VID, "918088394833", 12.089, "Call Answered", "Normal Clearing", 16, "HUMAN", "LA"
        ),
        CallInfo("v2", "12135551100", 0, "Not Answered", "No Answer from User", 19),
    ]
    body = json.loads(
        wh.broadcastcall_complete(
            event_id="done-1",
            broadcast_id=BID,
            timestamp=T0,
            broadcast_call_info=infos,
            custom_data=CUSTOM,
            call_blacklisted=["15550000000"],
        )
    )
    assert body["event"] == "broadcastcall_complete"
    assert "voice_id" not in body and "to" not in body
    assert body["blacklistednumber"] == {
        "call_blacklisted": ["15550000000"],
        "country_not_allowed": [],
    }
    assert body["broadcast_call_info"] == [
        {
            "voice_id": VID,
            "to": "918088394833",
            "callDuration": 12.089,
            "callState": "Call Answered",
            "call_answered_by": "HUMAN",
            "callResult": "LA",
            "disconnectReason": "Normal Clearing",
            "disconnectReasonCode": 16,
        },
        {
            "voice_id": "v2",
            "to": "12135551100",
            "callDuration": 0,
            "callState": "Not Answered",
            "disconnectReason": "No Answer from User",
            "disconnectReasonCode": 19,
        },
    ]


def test_bodies_are_canonical_bytes() -> None:
    body = wh.ringing(**leg(custom_data={"z": 1, "a": {"y": "é", "b": [1, 2]}}))
    assert isinstance(body, bytes)
    assert b" " not in body  # compact
    keys = list(json.loads(body))
    assert keys == sorted(keys)
    assert body == wh.ringing(**leg(custom_data={"a": {"b": [1, 2], "y": "é"}, "z": 1}))
    assert "é".encode() in body  # UTF-8, not \\u escapes
    assert body.startswith(b'{"broadcast_id":')


def test_custom_data_defaults_to_empty_object() -> None:
    assert json.loads(wh.ringing(**leg(custom_data=None)))["custom_data"] == {}


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (T0, "2026-04-08T15:24:10.670Z"),
        (T0.timestamp(), "2026-04-08T15:24:10.670Z"),
        (T0.astimezone(timezone(timedelta(hours=5, minutes=30))), "2026-04-08T15:24:10.670Z"),
        (0, "1970-01-01T00:00:00.000Z"),
        (datetime(2026, 1, 2, 3, 4, 5, 999999, tzinfo=UTC), "2026-01-02T03:04:05.999Z"),
    ],
)
def test_iso_timestamp(when: Any, expected: str) -> None:
    assert wh.iso_timestamp(when) == expected


@pytest.mark.parametrize(
    ("builder", "kwargs", "message"),
    [
        (wh.connected, leg(call_answered_by="human"), "call_answered_by"),
        (wh.playstate, leg(playstate="started", prompt_ref="p"), "playstate must be"),
        (wh.playstate, leg(playstate="initiated", prompt_ref=""), "prompt_ref"),
        (
            wh.disconnected,
            leg(call_duration=-1, disconnect_reason="x", disconnect_cause_code=16),
            "duration",
        ),
        (
            wh.disconnected,
            leg(call_duration=float("nan"), disconnect_reason="x", disconnect_cause_code=16),
            "duration",
        ),
        (
            wh.disconnected,
            leg(call_duration=1, disconnect_reason="x", disconnect_cause_code=300),
            "Q.850",
        ),
        (wh.ringing, leg(event_id=""), "event_id"),
        (wh.ringing, leg(voice_id=None), "voice_id"),
        (wh.ringing, leg(custom_data=[1, 2]), "custom_data must be a mapping"),
        (wh.ringing, leg(custom_data={"x": float("inf")}), "Out of range"),
        (wh.ringing, leg(timestamp=datetime(2026, 1, 1)), "timezone-aware"),
    ],
)
def test_builders_reject_values_outside_the_contract(
    builder: Any, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        builder(**kwargs)


def test_event_ids() -> None:
    a = wh.stable_event_id(BID, VID, "connected", 0)
    assert a == wh.stable_event_id(BID, VID, "connected", 0)
    assert a != wh.stable_event_id(BID, VID, "connected", 1)
    assert a != wh.stable_event_id(BID, VID + "x", "connected", 0)
    # Parts are separated: ("ab", "c") must differ from ("a", "bc").
    assert wh.stable_event_id("ab", "c") != wh.stable_event_id("a", "bc")
    assert wh.new_event_id() != wh.new_event_id()
    with pytest.raises(ValueError):
        wh.stable_event_id()


# --- signatures -----------------------------------------------------------------------------------


def test_sign_matches_rfc4231_vector() -> None:
    # RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    assert sign(b"what do ya want for nothing?", "Jefe") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_verify_signature() -> None:
    body = wh.ringing(**leg())
    header = sign(body, SECRET)
    assert verify_signature(body, header, SECRET)
    assert verify_signature(body, header, SECRET.encode())
    assert verify_signature(body, "SHA256=" + header[7:].upper(), SECRET)
    assert verify_signature(body, f"  {header} ", SECRET)
    assert not verify_signature(body + b" ", header, SECRET)  # any change to the raw body
    assert not verify_signature(body, header, "other-secret")
    assert not verify_signature(body, None, SECRET)
    assert not verify_signature(body, "", SECRET)
    assert not verify_signature(body, header[7:], SECRET)  # no scheme
    assert not verify_signature(body, "sha1=" + header[7:], SECRET)
    assert not verify_signature(body, "sha256=zz\u00e9", SECRET)  # junk, non-ASCII
    with pytest.raises(ValueError, match="secret"):
        sign(body, "")


# --- retry policy ---------------------------------------------------------------------------------


def test_backoff_grows_exponentially_and_is_capped() -> None:
    policy = RetryPolicy(initial_s=1, multiplier=2, max_s=30, jitter=0)
    assert [policy.backoff(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    assert policy.backoff(10_000) == 30  # no overflow


def test_backoff_jitter_stays_within_bounds_and_is_seedable() -> None:
    policy = RetryPolicy(initial_s=1, multiplier=2, max_s=60, jitter=0.5)
    rng = random.Random(7)
    for n in range(1, 12):
        base = min(60, 2 ** (n - 1))
        d = policy.backoff(n, rng.random)
        assert base * 0.5 <= d <= base
    a = [policy.backoff(n, random.Random(3).random) for n in range(1, 6)]
    b = [policy.backoff(n, random.Random(3).random) for n in range(1, 6)]
    assert a == b


@pytest.mark.parametrize(
    "kwargs", [{"initial_s": 0}, {"multiplier": 0.5}, {"max_s": 0.1}, {"jitter": 1.5}]
)
def test_bad_policies(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


# --- delivery -------------------------------------------------------------------------------------

URL_A = "https://hooks-a.example/cb"
URL_B = "https://hooks-b.example/cb"


def filled_outbox(n: int, url: str = URL_A, t: float = 0.0, prefix: str = "e") -> MemoryOutbox:
    outbox = MemoryOutbox()
    for i in range(n):
        body = wh.ringing(**leg(event_id=f"{prefix}{i}", voice_id=f"v{i}"))
        outbox.add(f"{prefix}{i}", url, body, t)
    return outbox


def test_delivers_everything_with_the_right_headers() -> None:
    clock = FakeClock()
    outbox = filled_outbox(3, t=clock.now())
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    report = deliver_pending(
        outbox,
        SECRET,
        now=clock.now,
        sleep=clock.sleep,
        transport=httpx.MockTransport(handler),
    )
    assert report.done and report.delivered == 3 and report.failed_attempts == 0
    assert report.pending == 0 and outbox.pending_count() == 0
    assert clock.sleeps == []
    assert [r.headers["X-Dialplan-Event-Id"] for r in seen] == ["e0", "e1", "e2"]
    for request in seen:
        assert request.method == "POST"
        assert str(request.url) == URL_A
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["User-Agent"] == wh.USER_AGENT
        assert request.headers["X-Dialplan-Attempt"] == "1"
        body = request.content
        assert body == outbox.get(request.headers["X-Dialplan-Event-Id"]).body
        assert verify_signature(body, request.headers[wh.SIGNATURE_HEADER], SECRET)


def test_failures_are_retried_with_backoff_until_delivered() -> None:
    clock = FakeClock()
    outbox = filled_outbox(1, t=clock.now())
    answers = iter([500, 503, 429, 200])
    attempts: list[tuple[float, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append((clock.now(), request.headers["X-Dialplan-Attempt"]))
        return httpx.Response(next(answers))

    policy = RetryPolicy(initial_s=1, multiplier=2, max_s=60, jitter=0)
    report = deliver_pending(
        outbox,
        SECRET,
        now=clock.now,
        sleep=clock.sleep,
        transport=httpx.MockTransport(handler),
        policy=policy,
        poll_s=0.25,
    )
    assert report.done and report.delivered == 1 and report.failed_attempts == 3
    start = attempts[0][0]
    # Attempt n+1 happens once backoff(n) has elapsed (1, 2, 4 s), observed at poll granularity.
    assert [a for _, a in attempts] == ["1", "2", "3", "4"]
    assert [round(t - start, 2) for t, _ in attempts] == [0, 1, 3, 7]
    assert outbox.errors("e0") == ["HTTP 500", "HTTP 503", "HTTP 429"]
    assert outbox.get("e0").attempts == 4
    assert report.errors == ["e0: HTTP 500", "e0: HTTP 503", "e0: HTTP 429"]


def test_redirects_are_not_followed() -> None:
    clock = FakeClock()
    outbox = filled_outbox(1, t=clock.now())
    hits: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hits.append(str(request.url))
        return httpx.Response(302, headers={"Location": "http://169.254.169.254/"})

    report = deliver_pending(
        outbox,
        SECRET,
        now=clock.now,
        sleep=clock.sleep,
        transport=httpx.MockTransport(handler),
        max_wait_s=0,
    )
    assert hits == [URL_A]
    assert report.pending == 1 and report.failed_attempts == 1
    assert outbox.errors("e0") == ["HTTP 302"]


def test_gives_up_waiting_after_max_wait_and_reports_pending() -> None:
    clock = FakeClock()
    outbox = filled_outbox(4, t=clock.now())
    transport = httpx.MockTransport(lambda request: httpx.Response(500))
    report = deliver_pending(
        outbox,
        SECRET,
        now=clock.now,
        sleep=clock.sleep,
        transport=transport,
        max_wait_s=10,
        policy=RetryPolicy(initial_s=1, max_s=4, jitter=0),
    )
    assert report.pending == 4 and not report.done and report.delivered == 0
    assert 10 <= report.elapsed_s <= 10.5
    # 1 s, 2 s, 4 s, 4 s … between attempts: t = 0, 1, 3, 7 → 4 attempts per event within 10 s.
    assert report.failed_attempts == 16
    assert all(outbox.get(f"e{i}").attempts == 4 for i in range(4))
    assert len(report.errors) <= 20


def test_max_wait_zero_makes_exactly_one_pass() -> None:
    clock = FakeClock()
    outbox = filled_outbox(2, t=clock.now())
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(500 if calls == 1 else 200)

    report = deliver_pending(
        outbox,
        SECRET,
        now=clock.now,
        sleep=clock.sleep,
        transport=httpx.MockTransport(handler),
        max_wait_s=0,
    )
    assert calls == 2 and report.delivered == 1 and report.pending == 1
    assert clock.sleeps == []


def test_events_not_yet_due_are_waited_for() -> None:
    clock = FakeClock()
    outbox = MemoryOutbox()
    outbox.add("later", URL_A, wh.ringing(**leg(event_id="later")), clock.now() + 3)
    times: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        times.append(clock.now())
        return httpx.Response(200)

    start = clock.now()
    report = deliver_pending(
        outbox,
        SECRET,
        now=clock.now,
        sleep=clock.sleep,
        transport=httpx.MockTransport(handler),
        poll_s=0.5,
    )
    assert report.done and times == [start + 3]
    assert all(s <= 0.5 for s in clock.sleeps)


def test_transport_failure_holds_back_the_url_but_not_others() -> None:
    clock = FakeClock()
    outbox = MemoryOutbox()
    for i in range(3):
        outbox.add(f"a{i}", URL_A, wh.ringing(**leg(event_id=f"a{i}")), clock.now())
        outbox.add(f"b{i}", URL_B, wh.ringing(**leg(event_id=f"b{i}")), clock.now())
    log: list[tuple[float, str]] = []
    a_down_until = clock.now() + 5

    def handler(request: httpx.Request) -> httpx.Response:
        event_id = request.headers["X-Dialplan-Event-Id"]
        log.append((clock.now(), event_id))
        if request.url.host == "hooks-a.example" and clock.now() < a_down_until:
            raise httpx.ReadTimeout("timed out", request=request)
        return httpx.Response(200)

    report = deliver_pending(
        outbox,
        SECRET,
        now=clock.now,
        sleep=clock.sleep,
        transport=httpx.MockTransport(handler),
        policy=RetryPolicy(initial_s=1, multiplier=2, max_s=8, jitter=0),
    )
    assert report.done and report.delivered == 6
    first_pass = [e for t, e in log if t == log[0][0]]
    # a0 timed out, so a1 and a2 were not tried in that pass; B was unaffected.
    assert first_pass == ["a0", "b0", "b1", "b2"]
    a_attempts_while_down = [e for t, e in log if e.startswith("a") and t < a_down_until]
    # One probe per backoff step (t = 0, 1, 3), not one timeout per event.
    assert len(a_attempts_while_down) == 3
    assert all("timeout" in err for err in report.errors)


def test_an_event_that_always_hangs_the_receiver_does_not_block_the_others() -> None:
    clock = FakeClock()
    outbox = filled_outbox(5, t=clock.now())
    tried: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        event_id = request.headers["X-Dialplan-Event-Id"]
        tried.append(event_id)
        if event_id == "e0":  # the receiver chokes on this one
            raise httpx.ReadTimeout("timed out", request=request)
        return httpx.Response(200)

    report = deliver_pending(
        outbox,
        SECRET,
        now=clock.now,
        sleep=clock.sleep,
        transport=httpx.MockTransport(handler),
        policy=RetryPolicy(initial_s=1, multiplier=2, max_s=60, jitter=0),
        max_wait_s=30,
    )
    assert report.delivered == 4 and report.pending == 1
    assert not outbox.is_delivered("e0")
    assert all(outbox.is_delivered(f"e{i}") for i in range(1, 5))
    assert tried[:2] == ["e0", "e1"]  # after e0 failed, another event was probed first


def test_max_deliveries_stops_early() -> None:
    clock = FakeClock()
    outbox = filled_outbox(5, t=clock.now())
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    report = deliver_pending(
        outbox, SECRET, now=clock.now, sleep=clock.sleep, transport=transport, max_deliveries=2
    )
    assert report.delivered == 2 and report.pending == 3
    assert [outbox.is_delivered(f"e{i}") for i in range(5)] == [True, True, False, False, False]


def test_jitter_is_deterministic_with_a_seed() -> None:
    def schedule(seed: int) -> list[float]:
        clock = FakeClock()
        outbox = filled_outbox(3, t=clock.now())
        deliver_pending(
            outbox,
            SECRET,
            now=clock.now,
            sleep=clock.sleep,
            transport=httpx.MockTransport(lambda request: httpx.Response(500)),
            max_wait_s=0,
            seed=seed,
        )
        return [outbox.get(f"e{i}").next_attempt_at - clock.now() for i in range(3)]

    assert schedule(1) == schedule(1)
    assert schedule(1) != schedule(2)
    assert all(0.75 <= d <= 1.0 for d in schedule(5))  # default policy: 1 s, jitter 25 %


def test_default_transport_refuses_private_receivers() -> None:
    clock = FakeClock()
    outbox = filled_outbox(1, url="http://127.0.0.1:9/hook", t=clock.now())
    policy = RetryPolicy(initial_s=1, max_s=120)
    report = deliver_pending(
        outbox, SECRET, now=clock.now, sleep=clock.sleep, max_wait_s=0, policy=policy
    )
    assert report.pending == 1
    (error,) = outbox.errors("e0")
    assert error.startswith("refused:") and "loopback" in error
    # It will not get better by itself: retried at the slowest pace.
    assert outbox.get("e0").next_attempt_at == clock.now() + 120


def test_memory_outbox_add_is_idempotent() -> None:
    outbox = MemoryOutbox()
    outbox.add("x", URL_A, b"{}", 0)
    outbox.add("x", URL_B, b"[]", 5)
    assert len(outbox) == 1 and outbox.pending_count() == 1
    assert outbox.get("x").url == URL_A
    outbox.delivered(outbox.get("x").id, 1)
    outbox.add("x", URL_A, b"{}", 2)
    assert outbox.pending_count() == 0
    assert outbox.due(100, 10) == []


def test_public_names() -> None:
    for name in wh.__all__:
        assert hasattr(wh, name), name


def test_large_response_bodies_do_not_matter() -> None:
    clock = FakeClock()
    outbox = filled_outbox(2, t=clock.now())
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=b"x" * 300_000))
    report = deliver_pending(outbox, SECRET, now=clock.now, sleep=clock.sleep, transport=transport)
    assert report.done and report.delivered == 2
