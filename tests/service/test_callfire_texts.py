"""``/v2/texts/broadcasts*`` and ``/v2/texts*``: text broadcasts (``channel = "sms"`` campaigns
run by the simulated messaging driver) driven by CallFire's own client (bravado,
validate_responses=True), and by httpx for errors, accounts and idempotency."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from bravado.exception import HTTPError

from dialplan.broadcast.campaign import load_campaign

from .conftest import Server, charity_xml
from .test_callfire_v2 import callfire, result

PEOPLE = [
    {"phoneNumber": "+12125557101", "attributes": {"first_name": "Ann", "sim_result": "DELIVERED"}},
    {"phoneNumber": "+12125557102", "attributes": {"first_name": "Bob",
                                                   "sim_result": "CARRIER_ERROR"}},
    {"phoneNumber": "+12125557103", "message": "Bob's brother: call us",
     "attributes": {"first_name": "Cy", "sim_result": "DELIVERED"}},
]  # fmt: skip
BODY = {
    "name": "Pickup",
    "fromNumber": "+12125550142",
    "message": "Hi ${contact.first_name}, your order is ready.",
    "bigMessageStrategy": "SEND_MULTIPLE",
    "labels": ["pharmacy"],
    "maxActive": 2,
}


@pytest.fixture(scope="module")
def api(server: Server, acme: str) -> Any:
    return callfire(server, acme)


@pytest.fixture
def http(server: Server, acme: str) -> Iterator[httpx.Client]:
    with server.client(acme) as c:
        yield c


def wait_text_status(api: Any, bid: int, want: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        b = result(api.texts.getTextBroadcast(id=bid))
        if b["status"] == want:
            return dict(b)
        time.sleep(0.1)
    raise AssertionError(f"text broadcast {bid} never became {want}: {b}")


def test_every_text_operation_through_callfires_own_client(api: Any, server: Server) -> None:
    bid = result(api.texts.createTextBroadcast(body={**BODY, "recipients": PEOPLE[:2]}))["id"]
    got = result(api.texts.getTextBroadcast(id=bid))
    assert got["status"] == "SETUP" and got["message"] == BODY["message"]
    assert got["bigMessageStrategy"] == "SEND_MULTIPLE" and got["labels"] == ["pharmacy"]
    campaign = load_campaign(server.db_path.with_suffix(".broadcasts") / str(bid) / "campaign.json")
    assert campaign.channel == "sms" and campaign.text is not None
    assert campaign.text.message == BODY["message"]

    page = result(api.texts.findTextBroadcasts(name="pick", label="pharmacy"))
    assert [b["id"] for b in page["items"]] == [bid]
    result(api.texts.updateTextBroadcast(id=bid, body={"maxActive": 3}))
    assert result(api.texts.getTextBroadcast(id=bid))["maxActive"] == 3

    added = result(api.texts.addTextBroadcastRecipients(id=bid, body=PEOPLE[2:]))
    assert [t["toNumber"] for t in added["items"]] == ["+12125557103"]
    assert added["items"][0]["state"] == "READY"
    batch = result(
        api.texts.addTextBroadcastBatch(
            id=bid,
            body={"name": "more", "scrubDuplicates": True,
                  "recipients": [PEOPLE[0], {"phoneNumber": "+12125557104",
                                             "attributes": {"sim_result": "NO_RECEIPT"}}]},
        )
    )  # fmt: skip
    batches = result(api.texts.getTextBroadcastBatches(id=bid))
    assert [b["size"] for b in batches["items"]] == [2, 1, 1]

    result(api.texts.startTextBroadcast(id=bid))
    wait_text_status(api, bid, "FINISHED")
    stats = result(api.texts.getTextBroadcastStats(id=bid))
    assert stats["sentCount"] == 3 and stats["errorCount"] == 1 and stats["recievedCount"] == 0
    assert stats["totalOutboundCount"] >= 4 and stats["remainingOutboundCount"] == 0
    assert stats["deliveredCount"] >= 1  # an extension: Ann's receipt said delivered

    texts = result(api.texts.getTextBroadcastTexts(id=bid))
    by_number = {t["toNumber"]: t for t in texts["items"]}
    ann, bob, cy = (by_number[f"+1212555710{i}"] for i in (1, 2, 3))
    assert ann["finalTextResult"] == "SENT" and ann["message"] == "Hi Ann, your order is ready."
    assert ann["records"][0]["textResult"] == "SENT" and ann["records"][0]["segments"] == 1
    assert bob["finalTextResult"] == "CARRIER_ERROR" and bob["state"] == "FINISHED"
    assert cy["message"] == "Bob's brother: call us"  # the recipient's own message
    in_batch = result(api.texts.getTextBroadcastTexts(id=bid, batchId=batch["id"]))
    assert [t["toNumber"] for t in in_batch["items"]] == ["+12125557104"]

    found = result(api.texts.findTexts(campaignId=bid, results="CARRIER_ERROR"))
    assert [t["toNumber"] for t in found["items"]] == ["+12125557102"]
    one = result(api.texts.getText(id=ann["id"]))
    assert one["records"] == ann["records"] and one["campaignId"] == bid

    result(api.texts.stopTextBroadcast(id=bid))
    result(api.texts.archiveTextBroadcast(id=bid))
    assert result(api.texts.getTextBroadcast(id=bid))["status"] == "ARCHIVED"
    with pytest.raises(HTTPError) as caught:
        result(api.texts.startTextBroadcast(id=bid))
    assert caught.value.status_code == 409
    assert caught.value.response.json()["detail"] == f"text broadcast {bid} is archived"


def test_created_with_start_and_a_too_big_message(api: Any) -> None:
    body = {**BODY, "name": "Long", "message": "x" * 200, "bigMessageStrategy": "DO_NOT_SEND",
            "recipients": [{"phoneNumber": "+12125557201"}]}  # fmt: skip
    bid = result(api.texts.createTextBroadcast(body=body, start=True))["id"]
    wait_text_status(api, bid, "FINISHED")
    assert result(api.texts.getTextBroadcastStats(id=bid))["tooBigCount"] == 1
    text = result(api.texts.getTextBroadcastTexts(id=bid))["items"][0]
    assert text["finalTextResult"] == "TOO_BIG"


def test_texts_and_calls_are_apart_and_accounts_too(
    server: Server, http: httpx.Client, globex: str
) -> None:
    r = http.post("/v2/texts/broadcasts", json={**BODY, "recipients": PEOPLE[:1]})
    assert r.status_code == 200 and r.headers["location"].startswith("/v2/texts/broadcasts/")
    text_id = r.json()["id"]
    call = http.post("/v2/calls/broadcasts", json={"name": "c", "dialplanXml": charity_xml()})
    call_id = call.json()["id"]
    assert http.get(f"/v2/calls/broadcasts/{text_id}").status_code == 404
    assert http.get(f"/v2/texts/broadcasts/{call_id}").status_code == 404
    assert http.post(f"/v2/calls/broadcasts/{text_id}/start").status_code == 404
    texts = http.get("/v2/texts/broadcasts").json()["items"]
    calls = http.get("/v2/calls/broadcasts").json()["items"]
    assert text_id in {b["id"] for b in texts} and call_id not in {b["id"] for b in texts}
    assert text_id not in {b["id"] for b in calls}
    with server.client(globex) as other:
        assert other.get(f"/v2/texts/broadcasts/{text_id}").status_code == 404
        assert other.get(f"/v2/texts/broadcasts/{text_id}/stats").status_code == 404
        assert text_id not in {b["id"] for b in other.get("/v2/texts/broadcasts").json()["items"]}


def test_same_idempotency_key_same_text_broadcast(http: httpx.Client) -> None:
    headers = {"Idempotency-Key": "texts-once"}
    first = http.post("/v2/texts/broadcasts", json=BODY, headers=headers)
    again = http.post("/v2/texts/broadcasts", json=BODY, headers=headers)
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    other = http.post("/v2/texts/broadcasts", json={**BODY, "name": "x"}, headers=headers)
    assert other.status_code == 422


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"name": "no message"}, "message: is required"),
        ({**BODY, "recipients": [{"phoneNumber": "+12125557301",
                                  "attributes": {"sim_result": "LA"}}]},
         "recipients[0].attributes.sim_result: unknown result 'LA'"),
        ({**BODY, "media": [{"id": 1}]}, "media: "),
        ({**BODY, "retryConfig": {"maxAttempts": 0}}, "retryConfig.maxAttempts: "),
    ],
)  # fmt: skip
def test_bad_text_bodies_are_a_422_naming_the_field(
    http: httpx.Client, body: dict[str, Any], detail: str
) -> None:
    r = http.post("/v2/texts/broadcasts", json=body)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"].startswith(detail), r.json()["detail"]


def test_a_value_outside_callfires_enumeration_is_a_422(api: Any) -> None:
    with pytest.raises(HTTPError) as caught:
        result(api.texts.createTextBroadcast(body={**BODY, "bigMessageStrategy": "SPLIT"}))
    assert caught.value.status_code == 422
    assert "bigMessageStrategy" in caught.value.response.text
