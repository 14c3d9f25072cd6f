"""``POST /v2/texts`` (CallFire's sendTexts) into the account's default text broadcast or a given
one, the export and report of text broadcasts, and 404s that name the kind of thing missing —
through CallFire's own client (bravado, validate_responses=True) and httpx."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from bravado.exception import HTTPError

from dialplan.service.broadcasts import BroadcastInput, Broadcasts, BroadcastSettings, Recipient
from dialplan.service.problems import ProblemError
from dialplan.service.storage import Database
from dialplan.service.texts_api import DEFAULT_BROADCAST

from .conftest import ROOT, Server, charity_xml, start_server, stop_server
from .test_callfire_texts import BODY
from .test_callfire_v2 import callfire, result


@pytest.fixture(scope="module")
def api(server: Server, acme: str) -> Any:
    return callfire(server, acme)


@pytest.fixture
def http(server: Server, acme: str) -> Iterator[httpx.Client]:
    with server.client(acme) as c:
        yield c


def unique_number(n: int) -> str:
    """A valid New York number no other test sends to (ids grow with the clock)."""
    return f"+1212555{(time.monotonic_ns() // 1000 + n) % 10_000:04d}"


def finished(get: Any, text_id: int, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = dict(get(text_id))
        if text["state"] not in ("READY", "SELECTED", "CALLBACK"):
            return text
        time.sleep(0.1)
    raise AssertionError(f"text {text_id} never finished: {text}")


def test_send_texts_into_the_default_broadcast_through_callfires_own_client(api: Any) -> None:
    ann, bob = unique_number(1), unique_number(2)
    sent = result(
        api.texts.sendTexts(
            body=[
                {"phoneNumber": ann, "message": "Your table is ready",
                 "attributes": {"sim_result": "DELIVERED"}},
                {"phoneNumber": bob, "attributes": {"sim_result": "CARRIER_ERROR"}},
            ],
            defaultMessage="We are open until 9",
        )
    )  # fmt: skip
    items = sent["items"]
    assert [t["toNumber"] for t in items] == [ann, bob]
    assert [t["message"] for t in items] == ["Your table is ready", "We are open until 9"]
    bid = items[0]["campaignId"]
    assert items[1]["campaignId"] == bid and items[0]["batchId"] == items[1]["batchId"]
    default = result(api.texts.getTextBroadcast(id=bid))
    assert default["name"] == DEFAULT_BROADCAST

    def get(text_id: int) -> Any:
        return result(api.texts.getText(id=text_id))

    first, second = finished(get, items[0]["id"]), finished(get, items[1]["id"])
    assert first["finalTextResult"] == "SENT" and first["state"] == "FINISHED"
    assert first["records"][0]["message"] == "Your table is ready"
    assert second["finalTextResult"] == "CARRIER_ERROR"
    assert second["records"][0]["message"] == "We are open until 9"

    again = result(api.texts.sendTexts(body=[{"phoneNumber": unique_number(3), "message": "Hi"}]))
    assert again["items"][0]["campaignId"] == bid  # the same default broadcast
    found = result(api.texts.findTexts(campaignId=bid, toNumber=ann))
    assert [t["id"] for t in found["items"]] == [items[0]["id"]]


def test_send_texts_into_a_given_broadcast_uses_its_message(api: Any) -> None:
    bid = result(api.texts.createTextBroadcast(body={**BODY, "name": "Given"}))["id"]
    number = unique_number(4)
    sent = result(
        api.texts.sendTexts(
            campaignId=bid,
            body=[{"phoneNumber": number, "attributes": {"first_name": "Dee",
                                                         "sim_result": "DELIVERED"}}],
        )
    )  # fmt: skip
    text = sent["items"][0]
    assert text["campaignId"] == bid

    def get(text_id: int) -> Any:
        return result(api.texts.getText(id=text_id))

    done = finished(get, text["id"])
    assert done["message"] == "Hi Dee, your order is ready." and done["finalTextResult"] == "SENT"
    assert result(api.texts.getTextBroadcast(id=bid))["status"] != "SETUP"  # started by it


@pytest.mark.parametrize(
    ("params", "body", "status", "detail"),
    [
        ({}, [{"phoneNumber": "+12125557401"}], 422,
         "body[0].message: is required (or give defaultMessage)"),
        ({}, [], 422, "body: at least one recipient is required"),
        ({}, [{"message": "x"}], 422, "body[0].phoneNumber: is required"),
        ({}, [{"phoneNumber": "+12125557401", "message": "x", "media": [{"id": 1}]}], 422,
         "body[0].media: media (MMS) are not sent here"),
        ({"defaultMessage": " "}, [{"phoneNumber": "+12125557401"}], 422,
         "defaultMessage: is empty"),
        ({"strictValidation": "true"}, [{"phoneNumber": "+12125557401", "message": "x"},
                                        {"phoneNumber": "12", "message": "x"}], 422,
         "body[1].phoneNumber: not a valid number: '12'"),
        ({"campaignId": "999999999"}, [{"phoneNumber": "+12125557401", "message": "x"}], 404,
         "no text broadcast 999999999"),
    ],
)  # fmt: skip
def test_bad_send_texts_are_problems_naming_the_field(
    http: httpx.Client, params: dict[str, str], body: Any, status: int, detail: str
) -> None:
    r = http.post("/v2/texts", params=params, json=body)
    assert r.status_code == status and r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"] == detail


def test_without_strict_validation_an_invalid_number_ends_invalid(http: httpx.Client) -> None:
    r = http.post("/v2/texts", json=[{"phoneNumber": "12", "message": "x"}])
    assert r.status_code == 200, r.text

    def get(text_id: int) -> Any:
        return http.get(f"/v2/texts/{text_id}").json()

    assert finished(get, r.json()["items"][0]["id"])["state"] == "INVALID"


def test_send_texts_is_idempotent(http: httpx.Client) -> None:
    number = unique_number(5)
    body = [{"phoneNumber": number, "message": "once"}]
    headers = {"Idempotency-Key": f"send-texts-{time.monotonic_ns()}"}
    first = http.post("/v2/texts", json=body, headers=headers)
    again = http.post("/v2/texts", json=body, headers=headers)
    assert first.status_code == again.status_code == 200, first.text
    assert first.json() == again.json() and again.headers["Idempotent-Replayed"] == "true"
    assert http.get("/v2/texts", params={"toNumber": number}).json()["totalCount"] == 1
    other = http.post("/v2/texts", json=[{**body[0], "message": "twice"}], headers=headers)
    assert other.status_code == 422
    short = http.post("/v2/texts", params={"fields": "items(toNumber,message)"}, json=body)
    assert short.json() == {"items": [{"toNumber": number, "message": "once"}]}


def test_accounts_have_their_own_default_broadcast_and_texts(
    server: Server, http: httpx.Client, globex: str
) -> None:
    mine = http.post("/v2/texts", json=[{"phoneNumber": unique_number(6), "message": "a"}])
    text = mine.json()["items"][0]
    with server.client(globex) as other:
        theirs = other.post("/v2/texts", json=[{"phoneNumber": unique_number(7), "message": "b"}])
        assert theirs.status_code == 200
        assert theirs.json()["items"][0]["campaignId"] != text["campaignId"]
        r = other.get(f"/v2/texts/{text['id']}")
        assert r.status_code == 404 and r.json()["detail"] == f"no text {text['id']}"
        r = other.post(
            "/v2/texts",
            params={"campaignId": text["campaignId"]},
            json=[{"phoneNumber": unique_number(8), "message": "c"}],
        )
        assert r.json()["detail"] == f"no text broadcast {text['campaignId']}"
        assert other.get(f"/v2/texts/broadcasts/{text['campaignId']}/export").status_code == 404
        assert other.get(f"/v2/texts/broadcasts/{text['campaignId']}/report").status_code == 404
        found = other.get("/v2/texts", params={"toNumber": text["toNumber"]}).json()
        assert found["totalCount"] == 0


def test_text_broadcast_export_report_and_filters(api: Any, http: httpx.Client) -> None:
    people = [
        {"phoneNumber": "+12125557501", "attributes": {"first_name": "Eve",
                                                       "sim_result": "DELIVERED"}},
        {"phoneNumber": "+12125557502", "attributes": {"first_name": "Fay",
                                                       "sim_result": "CARRIER_ERROR"}},
    ]  # fmt: skip
    body = {**BODY, "name": "Exported", "recipients": people}
    bid = result(api.texts.createTextBroadcast(body=body, start=True))["id"]
    deadline = time.monotonic() + 30
    while result(api.texts.getTextBroadcast(id=bid))["status"] != "FINISHED":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    r = http.get(f"/v2/texts/broadcasts/{bid}/export")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["final_result"] for row in rows] == ["SENT", "CARRIER_ERROR"]
    assert rows[0]["sent_message"] == "Hi Eve, your order is ready."
    data = http.get(f"/v2/texts/broadcasts/{bid}/export", params={"format": "json"}).json()
    assert [d["final_result"] for d in data] == ["SENT", "CARRIER_ERROR"]
    report = http.get(f"/v2/texts/broadcasts/{bid}/report")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert "CARRIER_ERROR" in report.text
    assert result(api.texts.getTextBroadcastTexts(id=bid))["totalCount"] == 2
    only = http.get(f"/v2/texts/broadcasts/{bid}/texts", params={"results": "CARRIER_ERROR"})
    assert [t["toNumber"] for t in only.json()["items"]] == ["+12125557502"]
    call = http.post("/v2/calls/broadcasts", json={"name": "c", "dialplanXml": charity_xml()})
    r = http.get(f"/v2/texts/broadcasts/{call.json()['id']}/export")
    assert r.status_code == 404 and r.json()["detail"] == f"no text broadcast {call.json()['id']}"


def test_every_not_found_names_the_right_kind(api: Any, http: httpx.Client) -> None:
    """Texts, calls, text and call broadcasts, batches: the 404 says which was missing (a call's
    id on the texts' routes is no text, and the other way round)."""
    call_bid = http.post(
        "/v2/calls/broadcasts",
        json={"name": "c", "dialplanXml": charity_xml(),
              "recipients": [{"phoneNumber": "+12125557601"}]},
    ).json()["id"]  # fmt: skip
    call_id = http.get(f"/v2/calls/broadcasts/{call_bid}/calls").json()["items"][0]["id"]
    people = [{"phoneNumber": "+12125557602"}]
    text_bid = http.post("/v2/texts/broadcasts", json={**BODY, "recipients": people}).json()["id"]
    text_id = http.get(f"/v2/texts/broadcasts/{text_bid}/texts").json()["items"][0]["id"]
    missing = 999_999_999
    expected = {
        f"/v2/texts/{missing}": f"no text {missing}",
        f"/v2/texts/{call_id}": f"no text {call_id}",
        f"/v2/calls/{missing}": f"no call {missing}",
        f"/v2/calls/{text_id}": f"no call {text_id}",
        f"/v2/texts/broadcasts/{missing}": f"no text broadcast {missing}",
        f"/v2/texts/broadcasts/{call_bid}/texts": f"no text broadcast {call_bid}",
        f"/v2/texts/broadcasts/{missing}/batches": f"no text broadcast {missing}",
        f"/v2/texts/broadcasts/{missing}/stats": f"no text broadcast {missing}",
        f"/v2/calls/broadcasts/{missing}": f"no call broadcast {missing}",
        f"/v2/calls/broadcasts/{text_bid}/calls": f"no call broadcast {text_bid}",
        f"/v2/calls/broadcasts/{text_bid}/report": f"no call broadcast {text_bid}",
        f"/v2/texts?batchId={missing}": f"no batch {missing}",
        f"/v2/calls?batchId={missing}": f"no batch {missing}",
    }
    for path, detail in expected.items():
        r = http.get(path)
        assert (r.status_code, r.json()["detail"]) == (404, detail), path
    with pytest.raises(HTTPError) as caught:
        result(api.texts.getText(id=call_id))
    assert caught.value.response.json()["detail"] == f"no text {call_id}"


def test_a_view_of_every_channel_says_broadcast(tmp_path: Path) -> None:
    """The dashboard's layer sees every kind: its 404s say "broadcast", and "call or text"."""
    layer = Broadcasts(Database(tmp_path / "s.sqlite"), BroadcastSettings(home=tmp_path / "b"))
    with pytest.raises(ProblemError) as caught:
        layer.get("acme", 7)
    assert caught.value.detail == "no broadcast 7"
    with pytest.raises(ProblemError) as caught:
        layer.call("acme", 7)
    assert caught.value.detail == "no call or text 7"
    with pytest.raises(ProblemError) as caught:
        layer.view("sms").call("acme", 7)
    assert caught.value.detail == "no text 7"


def test_a_sip_server_sends_text_broadcasts_with_the_simulated_messaging_driver(
    tmp_path: Path,
) -> None:
    """``serve --driver sip`` dials calls over SIP; its text broadcasts used to stop at once
    ("invalid dialplan": the SIP driver was built for them too)."""
    settings = BroadcastSettings(home=tmp_path / "b", clock="real", driver="sip")
    layer = Broadcasts(Database(tmp_path / "s.sqlite"), settings).view("sms")
    spec = BroadcastInput(
        {"name": "t", "message": "hi", "fromNumber": "+12125550100"},
        recipients=[Recipient("+12125550101", {"sim_result": "DELIVERED"})],
        channel="sms",
    )
    try:
        b = layer.create("acme", spec, start=True)
        deadline = time.monotonic() + 30
        while (b := layer.get("acme", b.id)).status == "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert (b.status, b.error) == ("FINISHED", None)
        assert layer.stats("acme", b.id)["sentCount"] == 1
    finally:
        layer.close()


def test_a_server_with_an_smsc_sends_texts_over_smpp(tmp_path: Path) -> None:
    """``serve --smpp-config``: sendTexts and text broadcasts go to a real loopback SMSC (the
    receipts reach the texts); the server's calls stay simulated in virtual time."""
    from tools.smsc_peer import LoopbackSmsc

    with LoopbackSmsc() as smsc:
        (tmp_path / "smpp.toml").write_text(
            f'[smpp]\nport = {smsc.relay_port}\nsystem_id = "esme"\npassword = "pw"\n'
            "reconnect_min_s = 0.05\nreceipt_wait_s = 2.0\nliveness_s = 0.2\n"
        )
        server = start_server(tmp_path, "--smpp-config", str(tmp_path / "smpp.toml"))
        try:
            with server.client(server.key("acme", "write")) as http:
                long = "Your parcel 12345 is at the counter until Friday 6 pm. " * 3
                r = http.post(
                    "/v2/texts",
                    json=[{"phoneNumber": "+12125557701", "message": long.strip()},
                          {"phoneNumber": "+12125557702", "message": "Zażółć 😀"}],
                )  # fmt: skip
                assert r.status_code == 200, r.text

                def get(text_id: int) -> Any:
                    return http.get(f"/v2/texts/{text_id}").json()

                texts = [finished(get, t["id"]) for t in r.json()["items"]]
        finally:
            stop_server(server)
        assert [t["finalTextResult"] for t in texts] == ["SENT", "SENT"]
        assert [t["records"][0]["segments"] for t in texts] == [2, 1]
        assert [t["records"][0]["encoding"] for t in texts] == ["GSM7", "UCS2"]
        by_dest = {(s.dest, s.seq) for s in smsc.segs}
        assert by_dest == {("12125557701", 1), ("12125557701", 2), ("12125557702", 1)}
        assert smsc.text_of(smsc.messages()[("12125557702", None)]) == "Zażółć 😀"


def test_a_bad_smpp_config_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "smpp.toml").write_text('[smpp]\nsystem_id = "much-too-long-an-id"\n')
    done = subprocess.run(
        [sys.executable, "-m", "dialplan", "serve", "--db", str(tmp_path / "s.sqlite"),
         "--port", "0", "--smpp-config", str(tmp_path / "smpp.toml")],
        capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"dialplan: error: {tmp_path / 'smpp.toml'}: smpp.system_id: at most 15 characters (SMPP 3.4)"
    ]


def test_sends_at_once_make_one_default_broadcast(server: Server) -> None:
    key = server.key(f"fresh-{time.monotonic_ns()}", "write")
    answers: list[httpx.Response] = []

    def send(n: int) -> None:
        with server.client(key) as c:
            answers.append(c.post("/v2/texts", json=[{"phoneNumber": unique_number(n), "message": "x"}]))  # fmt: skip

    threads = [threading.Thread(target=send, args=(20 + n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [r.status_code for r in answers] == [200] * 4
    assert len({r.json()["items"][0]["campaignId"] for r in answers}) == 1
    with server.client(key) as c:
        assert c.get("/v2/texts/broadcasts").json()["totalCount"] == 1
