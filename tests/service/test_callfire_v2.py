"""``/v2/calls/broadcasts*`` and ``/v2/calls*``: driven by a bravado client generated from
CallFire's own Swagger description (validate_responses=True), and by httpx for the rest."""

from __future__ import annotations

import copy
import csv
import functools
import io
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from bravado.client import SwaggerClient
from bravado.exception import HTTPError
from bravado.requests_client import RequestsClient
from jsonschema import validators

from dialplan.broadcast.webhooks import verify_signature

from ..conftest import SHARED
from .conftest import ROOT, Receiver, Server, charity_xml

#: CallFire's own description (../shared/spec, with its provenance; read, never copied here)
SPEC_PATH = SHARED / "spec" / "callfire-v2-swagger.json"


@functools.cache
def _spec() -> dict[str, Any]:
    if not SPEC_PATH.is_file():
        pytest.skip(f"CallFire's Swagger description not available: {SPEC_PATH}")
    return json.loads(SPEC_PATH.read_text("utf-8"))  # type: ignore[no-any-return]


def callfire(server: Server, key: str) -> Any:
    """A bravado client from the shipped description, pointed at the live server."""
    spec = copy.deepcopy(_spec())
    netloc = urlsplit(server.url).netloc
    spec["host"], spec["schemes"] = netloc, ["http"]
    http = RequestsClient()
    http.session.trust_env = False  # never a proxy: 127.0.0.1 only
    http.set_basic_auth(netloc, "api", key)
    with draft_metaschemas_only():
        return SwaggerClient.from_spec(
            spec,
            origin_url=server.url,
            http_client=http,
            config={"validate_responses": True, "validate_requests": True, "use_models": False},
        )


@contextmanager
def draft_metaschemas_only() -> Iterator[None]:
    """bravado-core walks every schema in its resolver's store, and that store starts with every
    metaschema registered in jsonschema — openapi-schema-validator (imported by the OpenAPI tests)
    registers OpenAPI 3.1's, whose ``$ref``s would then be fetched from the internet. Hide the
    foreign ones while the client is built (its store is made then)."""
    registered = validators._META_SCHEMAS
    saved = dict(registered)
    for uri in [u for u in saved if "json-schema.org/draft-0" not in u]:
        del registered[uri]
    try:
        yield
    finally:
        registered.update(saved)


def result(future: Any) -> Any:
    return future.response(timeout=30).result


PEOPLE = [
    {"phoneNumber": "+12125550101", "attributes": {"firstName": "Maria", "sim_result": "LA",
                                                   "sim_inputs": "1"}},
    {"phoneNumber": "(212) 555-0102", "attributes": {"firstName": "James", "sim_result": "AM"}},
    {"phoneNumber": "+12125550103", "attributes": {"firstName": "Aisha", "sim_result": "LA",
                                                   "sim_inputs": "2"}},
]  # fmt: skip


def wait_status(api: Any, bid: int, want: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        b = result(api.calls.getCallBroadcast(id=bid))
        if b["status"] == want:
            return dict(b)
        time.sleep(0.1)
    raise AssertionError(f"broadcast {bid} never became {want}: {b}")


@pytest.fixture(scope="module")
def api(server: Server, acme: str) -> Any:
    return callfire(server, acme)


def test_every_v2_operation_through_callfires_own_client(api: Any) -> None:
    body = {
        "name": "Winter gala",
        "fromNumber": "+12125550100",
        "answeringMachineConfig": "AM_AND_LIVE",
        "maxActive": 2,
        "labels": ["gala", "2026"],
        "localTimeRestriction": {
            "enabled": True, "beginHour": 0, "beginMinute": 0, "endHour": 23, "endMinute": 59,
        },
        "retryConfig": {"maxAttempts": 1, "minutesBetweenAttempts": 5, "retryResults": ["BUSY"],
                        "retryPhoneTypes": ["FIRST_NUMBER"]},
        "schedules": [{"startDate": {"year": 2026, "month": 1, "day": 5},
                       "startTimeOfDay": {"hour": 0, "minute": 0, "second": 0},
                       "stopTimeOfDay": {"hour": 23, "minute": 30, "second": 0},
                       "timeZone": "America/New_York",
                       "daysOfWeek": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]}],
        "dialplanXml": charity_xml(),
        "recipients": PEOPLE[:2],
    }  # fmt: skip
    created = result(api.calls.createCallBroadcast(body=body))
    bid = created["id"]
    got = result(api.calls.getCallBroadcast(id=bid))
    assert got["status"] == "SETUP" and got["name"] == "Winter gala"
    assert got["localTimeRestriction"] == body["localTimeRestriction"]
    assert got["retryConfig"] == body["retryConfig"]
    assert got["schedules"][0]["startDate"] == {"year": 2026, "month": 1, "day": 5}
    assert got["schedules"][0]["stopTimeOfDay"] == {"hour": 23, "minute": 30, "second": 0}
    assert got["labels"] == ["gala", "2026"] and isinstance(got["lastModified"], int)

    page = result(api.calls.findCallBroadcasts(name="winter", label="gala"))
    assert [b["id"] for b in page["items"]] == [bid] and page["totalCount"] == 1

    result(api.calls.updateCallBroadcast(id=bid, body={"maxActive": 3}))
    assert result(api.calls.getCallBroadcast(id=bid))["maxActive"] == 3

    added = result(api.calls.addCallBroadcastRecipients(id=bid, body=PEOPLE[2:]))
    assert [c["toNumber"] for c in added["items"]] == ["+12125550103"]
    assert added["items"][0]["state"] == "READY"
    batch = result(
        api.calls.addCallBroadcastBatch(
            id=bid,
            body={"name": "again", "scrubDuplicates": True,
                  "recipients": [PEOPLE[0], {"phoneNumber": "+12125550104",
                                             "attributes": {"sim_result": "NO_ANS"}}]},
        )
    )  # fmt: skip
    batches = result(api.calls.getCallBroadcastBatches(id=bid))
    second = batches["items"][1]["id"]
    assert [b["name"] for b in batches["items"]] == ["Winter gala", f"batch {second}", "again"]
    assert [b["size"] for b in batches["items"]] == [2, 1, 1]  # the known number left out

    result(api.calls.startVoiceBroadcast(id=bid))
    wait_status(api, bid, "FINISHED")

    stats = result(api.calls.getCallBroadcastStats(id=bid))
    assert stats["totalCount"] == 4 and stats["liveCount"] + stats["transferCount"] >= 2
    assert isinstance(stats["responseRatePercent"], int)
    assert stats["answeringMachineCount"] == 1 and stats["noAnswerCount"] == 1

    calls = result(api.calls.getCallBroadcastCalls(id=bid))
    assert calls["totalCount"] == 4
    maria = calls["items"][0]
    assert maria["toNumber"] == "+12125550101" and maria["state"] == "FINISHED"
    assert maria["attributes"]["firstName"] == "Maria"
    assert maria["records"][0]["questionResponses"] == [{"question": "tickets", "response": "yes"}]
    in_batch = result(api.calls.getCallBroadcastCalls(id=bid, batchId=batch["id"]))
    assert [c["toNumber"] for c in in_batch["items"]] == ["+12125550104"]
    assert in_batch["items"][0]["batchId"] == batch["id"]

    machines = result(api.calls.findCalls(campaignId=bid, results="AM"))
    assert [c["toNumber"] for c in machines["items"]] == ["+12125550102"]
    finished = result(api.calls.findCalls(campaignId=bid, states="FINISHED", limit=2, offset=1))
    assert finished["totalCount"] == 4 and len(finished["items"]) == 2
    one = result(api.calls.getCall(id=maria["id"]))
    assert one["records"] == maria["records"] and one["campaignId"] == bid

    result(api.calls.stopVoiceBroadcast(id=bid))  # finished: stays finished
    result(api.calls.archiveVoiceBroadcast(id=bid))
    assert result(api.calls.getCallBroadcast(id=bid))["status"] == "ARCHIVED"


def test_create_with_start_and_send_calls(api: Any) -> None:
    created = result(
        api.calls.createCallBroadcast(
            body={"name": "Quick", "dialplanXml": charity_xml(), "recipients": PEOPLE}, start=True
        )
    )
    wait_status(api, created["id"], "FINISHED")
    assert result(api.calls.findCallBroadcasts(running=False))["totalCount"] >= 1
    sent = result(
        api.calls.sendCalls(body=[{"phoneNumber": "+12125550109", "dialplanXml": charity_xml(),
                                   "attributes": {"sim_result": "BUSY"}}])
    )  # fmt: skip
    call = sent["items"][0]
    deadline = time.monotonic() + 20
    while call["state"] != "FINISHED" and time.monotonic() < deadline:
        time.sleep(0.1)
        call = result(api.calls.getCall(id=call["id"]))
    assert call["finalCallResult"] == "BUSY"


def test_a_client_error_is_a_problem_naming_the_callfire_field(api: Any) -> None:
    with pytest.raises(HTTPError) as caught:
        result(
            api.calls.createCallBroadcast(
                body={"name": "x", "dialplanXml": charity_xml(), "retryConfig": {"maxAttempts": 0}}
            )
        )
    assert caught.value.status_code == 422
    assert caught.value.response.json()["detail"].startswith("retryConfig.maxAttempts: ")


# -- httpx: errors, accounts, idempotency, extensions ------------------------------------------
@pytest.fixture
def http(server: Server, acme: str) -> Iterator[httpx.Client]:
    with server.client(acme) as c:
        yield c


def create(c: httpx.Client, **extra: Any) -> int:
    body = {"name": "b", "dialplanXml": charity_xml(), "recipients": PEOPLE, **extra}
    r = c.post("/v2/calls/broadcasts", json=body)
    assert r.status_code == 200, r.text
    return int(r.json()["id"])


def test_bad_bodies_are_422(http: httpx.Client) -> None:
    r = http.post("/v2/calls/broadcasts", json={"name": "s"})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"].startswith("dialplanXml: ")
    r = http.post("/v2/calls/broadcasts", json={"name": "s", "dialplanXml": "<dialplan>"})
    assert r.status_code == 422 and r.json()["diagnostics"]
    r = http.post("/v2/calls/broadcasts", json={"name": "s", "maxActiv": 3})
    assert r.status_code == 422
    r = http.post(
        "/v2/calls/broadcasts",
        json={"name": "s", "dialplanXml": charity_xml(), "schedules": [{"timeZone": "Mars/Base"}]},
    )
    assert r.status_code == 422 and r.json()["detail"].startswith("schedules[0].timeZone: ")
    bid = create(http)
    r = http.post(f"/v2/calls/broadcasts/{bid}/recipients", json=[{"attributes": {"a": "1"}}])
    assert r.status_code == 422 and r.json()["detail"] == "body[0].phoneNumber: is required"
    assert http.get("/v2/calls/broadcasts/999999").status_code == 404
    assert http.get(f"/v2/calls/broadcasts/{bid}/calls?states=NOPE").status_code == 422


def test_a_flow_id_instead_of_dialplan_xml(http: httpx.Client, flow_id: str) -> None:
    bid = create(http, dialplanXml=None, flowId=flow_id)
    got = http.get(f"/v2/calls/broadcasts/{bid}").json()
    assert got["flowId"] == flow_id and got["flowVersion"] == 1


def test_accounts_never_see_each_others_broadcasts_or_calls(
    server: Server, http: httpx.Client, globex: str
) -> None:
    bid = create(http)
    assert http.post(f"/v2/calls/broadcasts/{bid}/start").status_code == 204
    call_id = http.get(f"/v2/calls/broadcasts/{bid}/calls").json()["items"][0]["id"]
    with server.client(globex) as other:
        for path in (
            f"/v2/calls/broadcasts/{bid}",
            f"/v2/calls/broadcasts/{bid}/calls",
            f"/v2/calls/broadcasts/{bid}/stats",
            f"/v2/calls/broadcasts/{bid}/batches",
            f"/v2/calls/broadcasts/{bid}/export",
            f"/v2/calls/broadcasts/{bid}/report",
            f"/v2/calls/{call_id}",
        ):
            assert other.get(path).status_code == 404, path
        for action in ("start", "stop", "archive", "recipients", "batches"):
            body = [PEOPLE[0]] if action == "recipients" else {"recipients": [PEOPLE[0]]}
            r = other.post(f"/v2/calls/broadcasts/{bid}/{action}", json=body)
            assert r.status_code == 404, action
        assert other.put(f"/v2/calls/broadcasts/{bid}", json={"maxActive": 1}).status_code == 404
        assert bid not in [b["id"] for b in other.get("/v2/calls/broadcasts").json()["items"]]
        assert other.get("/v2/calls", params={"campaignId": bid}).status_code == 404
        assert call_id not in [c["id"] for c in other.get("/v2/calls").json()["items"]]


def test_keys_and_scopes(server: Server) -> None:
    with server.client() as anonymous:
        assert anonymous.get("/v2/calls/broadcasts").status_code == 401
    reader = server.key("acme", "read")
    with server.client(reader) as c:
        assert c.get("/v2/calls/broadcasts").status_code == 200
        assert c.post("/v2/calls/broadcasts", json={"name": "x"}).status_code == 403


def test_idempotent_create(http: httpx.Client) -> None:
    body = {"name": "once", "dialplanXml": charity_xml(), "recipients": PEOPLE}
    headers = {"Idempotency-Key": f"create-{time.monotonic_ns()}"}
    first = http.post("/v2/calls/broadcasts", json=body, headers=headers)
    again = http.post("/v2/calls/broadcasts", json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() and again.headers["Idempotent-Replayed"] == "true"
    assert http.get("/v2/calls/broadcasts", params={"name": "once"}).json()["totalCount"] == 1
    other = http.post("/v2/calls/broadcasts", json={**body, "name": "twice"}, headers=headers)
    assert other.status_code == 422


def test_export_report_and_partial_responses(http: httpx.Client) -> None:
    bid = create(http)
    assert http.post(f"/v2/calls/broadcasts/{bid}/start").status_code == 204
    deadline = time.monotonic() + 20
    while http.get(f"/v2/calls/broadcasts/{bid}").json()["status"] != "FINISHED":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    r = http.get(f"/v2/calls/broadcasts/{bid}/export")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["final_result"] for row in rows] == ["XFER", "AM", "LA"]
    assert rows[0]["tickets"] == "yes"
    data = http.get(f"/v2/calls/broadcasts/{bid}/export", params={"format": "json"}).json()
    assert data[0]["responses"] == [{"question": "tickets", "response": "yes"}]
    report = http.get(f"/v2/calls/broadcasts/{bid}/report")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    short = http.get(
        f"/v2/calls/broadcasts/{bid}/calls", params={"fields": "items(toNumber,state),totalCount"}
    ).json()
    assert short == {
        "items": [{"toNumber": n, "state": "FINISHED"} for n in
                  ("+12125550101", "+12125550102", "+12125550103")],
        "totalCount": 3,
    }  # fmt: skip
    assert http.get(f"/v2/calls/broadcasts/{bid}", params={"fields": "id)"}).status_code == 400


def test_the_docs_table_is_the_conversion_table() -> None:
    """docs/api.md shows campaign key ↔ API field ↔ conversion exactly as fields.FIELDS has it."""
    from dialplan.service.broadcasts.fields import FIELDS

    doc = (ROOT / "docs" / "api.md").read_text("utf-8")
    for f in FIELDS:
        row = f"| `{f.api}` | `{f.key}` | {'CallFire' if f.callfire else 'extension'} | {f.conversion} |"
        assert row in doc, row


def test_identical_creates_at_once_make_one_broadcast(server: Server, acme: str) -> None:
    body = {"name": "race-v2", "dialplanXml": charity_xml(), "recipients": PEOPLE}
    barrier = threading.Barrier(6)
    answers: list[tuple[int, Any]] = []
    lock = threading.Lock()

    def post() -> None:
        with server.client(acme) as c:
            barrier.wait()
            r = c.post("/v2/calls/broadcasts", json=body, headers={"Idempotency-Key": "race-v2"})
            with lock:
                answers.append((r.status_code, r.json()))

    threads = [threading.Thread(target=post) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(status in (200, 409) for status, _ in answers), answers
    assert len({body["id"] for status, body in answers if status == 200}) == 1
    with server.client(acme) as c:
        found = c.get("/v2/calls/broadcasts", params={"name": "race-v2"}).json()
    assert found["totalCount"] == 1


def test_a_broadcast_webhook_gets_signed_events(http: httpx.Client, receiver: Receiver) -> None:
    secret = "gala-webhook-secret-1"
    bid = create(http, webhook={"url": receiver.url, "secret": secret}, customData={"ref": "g1"})
    assert "secret" not in http.get(f"/v2/calls/broadcasts/{bid}").json()["webhook"]
    assert http.post(f"/v2/calls/broadcasts/{bid}/start").status_code == 204
    receiver.wait_for(lambda bodies: any("complete" in str(b.get("event", "")) for b in bodies))
    with receiver.lock:
        headers, raw = receiver.received[0]
    signature = next(v for k, v in headers.items() if "signature" in k)
    assert verify_signature(raw, signature, secret)
    assert any(b.get("custom_data") == {"ref": "g1"} for b in receiver.bodies())


def test_get_modify_put_round_trip(http: httpx.Client, receiver: Receiver) -> None:
    """What GET shows can be PUT back (the write-only webhook secret is kept)."""
    bid = create(http, webhook={"url": receiver.url, "secret": "a-secret-of-16-chars"})
    got = http.get(f"/v2/calls/broadcasts/{bid}").json()
    assert got["dialplanXml"] == charity_xml() and "secret" not in got["webhook"]
    got["maxActive"] = 7
    assert http.put(f"/v2/calls/broadcasts/{bid}", json=got).status_code == 204
    again = http.get(f"/v2/calls/broadcasts/{bid}").json()
    assert again["maxActive"] == 7 and again["webhook"] == got["webhook"]


def test_nul_characters_are_a_422_not_a_crash(http: httpx.Client) -> None:
    bid = create(http)
    r = http.post(
        f"/v2/calls/broadcasts/{bid}/recipients",
        json=[{"phoneNumber": "+12125550101", "attributes": {"note": "a\u0000b"}}],
    )
    assert r.status_code == 422 and r.json()["detail"].startswith("recipients[0].attributes.note")
