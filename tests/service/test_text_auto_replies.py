"""``/v2/texts/auto-replys``: CallFire's text auto-replies through CallFire's own client (bravado,
validate_responses=True) against a live server, and what they do: the replies to an account's
text broadcasts that a rule matches are answered through the broadcast's messaging port (the
simulated driver, and a real loopback SMSC over SMPP), booked as texts ``findTexts`` shows;
STOP and HELP keep their own replies; another account's rules never answer."""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bravado.exception import HTTPError

from dialplan.messaging.autoreply import AutoReply
from dialplan.messaging.port import InboundText
from dialplan.service import autoreplies
from dialplan.service.autoreply_texts import TEXT_IDS, SentReplies
from dialplan.service.broadcasts import BroadcastInput, Broadcasts, BroadcastSettings, Recipient
from dialplan.service.broadcasts.callrows import CallFilter
from dialplan.service.sql import ServiceDatabase, open_database
from dialplan.service.storage import _MIGRATIONS, SCHEMA_VERSION, Database

from .conftest import Server, start_server, stop_server
from .test_callfire_texts import wait_text_status
from .test_callfire_v2 import callfire, result
from .test_pg_broadcasts import Workers, wait_for

OURS = "+12125550188"


def account(server: Server) -> tuple[str, Any]:
    """A write key of a new account (its texts are its alone) and its bravado client."""
    key = server.key(f"ar-{uuid.uuid4().hex[:8]}", "write")
    return key, callfire(server, key)


def status_of(call: Any) -> int:
    with pytest.raises(HTTPError) as caught:
        result(call)
    return int(caught.value.status_code)


def test_every_auto_reply_operation_through_callfires_own_client(server: Server) -> None:
    _, api = account(server)
    hours = result(
        api.texts.createTextAutoReply(
            body={"number": OURS, "keyword": "HOURS", "message": "Open 9-5, Mon-Fri"}
        )
    )["id"]
    echo = result(
        api.texts.createTextAutoReply(body={"match": ".*", "message": "Echo - ${text.message}!"})
    )["id"]
    short = result(
        api.texts.createTextAutoReply(
            body={"number": "67076", "keyword": "CALLFIRE", "message": "I am a leaf on the wind"}
        )
    )["id"]
    got = result(api.texts.getTextAutoReply(id=hours))
    assert got == {"id": hours, "number": OURS, "keyword": "HOURS", "message": "Open 9-5, Mon-Fri"}
    partial = result(api.texts.getTextAutoReply(id=short, fields="id,keyword"))
    assert partial == {"id": short, "keyword": "CALLFIRE"}

    page = result(api.texts.findTextAutoReplys())
    assert [r["id"] for r in page["items"]] == [hours, echo, short]
    assert page["totalCount"] == 3 and page["limit"] == 100 and page["offset"] == 0
    assert page["items"][1] == {"id": echo, "match": ".*", "message": "Echo - ${text.message}!"}
    assert [r["id"] for r in result(api.texts.findTextAutoReplys(number="67076"))["items"]] == [
        short
    ]
    second = result(api.texts.findTextAutoReplys(limit=1, offset=1))
    assert [r["id"] for r in second["items"]] == [echo] and second["totalCount"] == 3

    result(api.texts.deleteTextAutoReply(id=echo))
    assert status_of(api.texts.getTextAutoReply(id=echo)) == 404
    assert status_of(api.texts.deleteTextAutoReply(id=echo)) == 404
    assert result(api.texts.findTextAutoReplys())["totalCount"] == 2


def test_another_accounts_auto_reply_is_missing(server: Server) -> None:
    _, acme = account(server)
    key, globex = account(server)
    theirs = result(globex.texts.createTextAutoReply(body={"message": "globex here"}))["id"]
    assert status_of(acme.texts.getTextAutoReply(id=theirs)) == 404
    assert status_of(acme.texts.deleteTextAutoReply(id=theirs)) == 404
    assert result(acme.texts.findTextAutoReplys())["items"] == []
    assert result(globex.texts.getTextAutoReply(id=theirs))["message"] == "globex here"
    with server.client(key) as http:
        missing = http.get(f"/v2/texts/auto-replys/{theirs + 1000}")
    assert missing.status_code == 404
    assert missing.json()["detail"] == f"no text auto reply {theirs + 1000}"


@pytest.mark.parametrize(
    ("body", "where", "detail"),
    [
        ({"keyword": "HOURS"}, "message", "is required"),
        ({"message": "  "}, "message", "is required"),
        ({"keyword": "stop", "message": "m"}, "keyword", "STOP is answered by the opt-out"),
        ({"keyword": "Help", "message": "m"}, "keyword", "HELP is answered by the opt-out"),
        ({"keyword": "two words", "message": "m"}, "keyword", "one word"),
        ({"keyword": "?!", "message": "m"}, "keyword", "one word"),
        ({"keyword": "Stop!", "message": "m"}, "keyword", "STOP is answered by the opt-out"),
        ({"match": r"(a)\1", "message": "m"}, "match", "not a pattern RE2 takes"),
        ({"match": "(?=a)", "message": "m"}, "match", "not a pattern RE2 takes"),
        ({"match": "a" * 201, "message": "m"}, "match", "at most 200 characters"),
        ({"number": "call me", "message": "m"}, "number", "not an E.164 number or a short code"),
    ],
)
def test_a_bad_auto_reply_is_a_422_naming_the_field(
    server: Server, body: dict[str, str], where: str, detail: str
) -> None:
    key, _ = account(server)
    with server.client(key) as http:
        r = http.post("/v2/texts/auto-replys", json=body)
        assert r.status_code == 422, r.text
        assert r.json()["detail"].startswith(f"{where}: {detail}"), r.json()
        assert http.get("/v2/texts/auto-replys").json()["totalCount"] == 0


def test_create_with_an_idempotency_key_makes_one_rule(server: Server) -> None:
    key, _ = account(server)
    with server.client(key) as http:
        body = {"number": "(212) 555-0188", "keyword": "hours", "message": "9-5"}
        headers = {"Idempotency-Key": "rule-1"}
        first = http.post("/v2/texts/auto-replys", json=body, headers=headers)
        again = http.post("/v2/texts/auto-replys", json=body, headers=headers)
        assert first.status_code == again.status_code == 200
        assert first.json() == again.json()
        page = http.get("/v2/texts/auto-replys").json()
    assert page["totalCount"] == 1
    assert page["items"][0]["number"] == OURS  # stored as inbound texts carry it (E.164)


def _replies(api: Any, **query: Any) -> list[dict[str, Any]]:
    found = result(api.texts.findTexts(**query))
    return [t for t in found["items"] if t["id"] > TEXT_IDS]


def test_a_text_broadcast_answers_the_replies_its_rules_match(server: Server) -> None:
    key, api = account(server)
    _, other = account(server)
    hours = result(
        api.texts.createTextAutoReply(
            body={"keyword": "hours", "message": "Open 9-5. You asked: ${text.message}"}
        )
    )["id"]
    refill = result(
        api.texts.createTextAutoReply(body={"match": "re-?fill", "message": "Refill noted"})
    )["id"]
    # for another number: never for this broadcast's
    result(api.texts.createTextAutoReply(body={"number": "67076", "message": "short code"}))
    # another account's rules, even for this account's number and every text, never answer
    result(other.texts.createTextAutoReply(body={"number": OURS, "message": "not yours"}))
    result(other.texts.createTextAutoReply(body={"message": "not yours either"}))

    replies = {
        "+12125557301": "Hours? ${text.message}",
        "+12125557302": "I need a REFILL please",
        "+12125557303": "STOP",
        "+12125557304": "help",
        "+12125557305": "thanks!",
    }
    people = [
        {"phoneNumber": n, "attributes": {"sim_result": "DELIVERED", "sim_reply": text}}
        for n, text in replies.items()
    ]
    body = {"name": "Pickup", "fromNumber": OURS, "message": "Your order is ready.",
            "recipients": people}  # fmt: skip
    bid = result(api.texts.createTextBroadcast(body=body, start=True))["id"]
    wait_text_status(api, bid, "FINISHED")

    sent = _replies(api, campaignId=bid)
    assert [(t["toNumber"], t["message"]) for t in sent] == [
        ("+12125557301", "Open 9-5. You asked: Hours? ${text.message}"),  # substituted once
        ("+12125557302", "Refill noted"),
    ]
    first = sent[0]
    assert first["fromNumber"] == OURS and first["campaignId"] == bid
    assert first["state"] == "FINISHED" and first["finalTextResult"] == "SENT"
    assert first["inbound"] is False and first["records"][0]["textResult"] == "SENT"
    assert first["attributes"] == {
        "autoReplyId": str(hours),
        "inReplyTo": "Hours? ${text.message}",
    }
    assert sent[1]["attributes"]["autoReplyId"] == str(refill)
    # findTexts pages the broadcast's texts and the replies as one list
    everything = result(api.texts.findTexts(campaignId=bid))
    assert everything["totalCount"] == 7 and len(everything["items"]) == 7
    tail = result(api.texts.findTexts(campaignId=bid, limit=3, offset=4))
    assert [t["toNumber"] for t in tail["items"]] == [
        "+12125557305",
        *[t["toNumber"] for t in sent],
    ]
    assert result(api.texts.getText(id=first["id"])) == first
    assert _replies(api, toNumber="+12125557302") == [sent[1]]
    assert _replies(api, results="CARRIER_ERROR") == []
    assert result(api.texts.findTexts(batchId=result(api.texts.getTextBroadcastBatches(id=bid))[
        "items"][0]["id"]))["totalCount"] == 5  # fmt: skip
    # the broadcast's own texts are one per recipient, as before
    assert result(api.texts.getTextBroadcastTexts(id=bid))["totalCount"] == 5
    # the other account sees none of them, and not their ids either
    assert _replies(other) == []
    assert status_of(other.texts.getText(id=first["id"])) == 404
    with server.client(key) as http:  # STOP was opted out and confirmed; HELP got its help
        stats = http.get(f"/v2/texts/broadcasts/{bid}/stats").json()
    assert stats["recievedCount"] == 5

    # a deleted rule answers no more, and what it sent stays
    result(api.texts.deleteTextAutoReply(id=hours))
    again = result(
        api.texts.createTextBroadcast(
            body={**body, "name": "Again", "recipients": people[:1]}, start=True
        )
    )["id"]
    wait_text_status(api, again, "FINISHED")
    assert _replies(api, campaignId=again) == []
    assert len(_replies(api)) == 2


def test_an_smsc_gets_the_auto_reply_to_an_inbound_deliver_sm(tmp_path: Path) -> None:
    """``serve --smpp-config``: a mobile-originated ``deliver_sm`` that a rule matches gets a
    ``submit_sm`` with the reply at the SMSC; a STOP gets its confirmation only."""
    from tools.smsc_peer import LoopbackSmsc

    with LoopbackSmsc() as smsc:
        (tmp_path / "smpp.toml").write_text(
            f'[smpp]\nport = {smsc.relay_port}\nsystem_id = "esme"\npassword = "pw"\n'
            "reconnect_min_s = 0.05\nreceipt_wait_s = 2.0\nliveness_s = 0.2\n"
        )
        server = start_server(tmp_path, "--smpp-config", str(tmp_path / "smpp.toml"))
        try:
            key = server.key("acme", "write")
            other = server.key("globex", "write")
            with server.client(key) as http, server.client(other) as them:
                rule = {"number": "+12025550000", "keyword": "HOURS", "message": "Open 9-5"}
                assert http.post("/v2/texts/auto-replys", json=rule).status_code == 200
                rule = {"number": "67076", "keyword": "HOURS", "message": "Short code: 9-5"}
                assert http.post("/v2/texts/auto-replys", json=rule).status_code == 200
                theirs = {"number": "+12025550000", "message": "not yours"}
                assert them.post("/v2/texts/auto-replys", json=theirs).status_code == 200
                people = [{"phoneNumber": f"+1202555000{i}"} for i in (1, 2, 3, 4)]
                body = {"name": "Slow", "fromNumber": "+12025550000", "message": "Hello",
                        "callsPerSecond": 2, "recipients": people}  # fmt: skip
                r = http.post("/v2/texts/broadcasts?start=true", json=body)
                assert r.status_code == 200, r.text
                bid = r.json()["id"]
                deadline = time.monotonic() + 20
                while not any(s.dest == "12025550001" for s in smsc.segs):
                    assert time.monotonic() < deadline, "the first text never reached the SMSC"
                    time.sleep(0.01)
                smsc.mo("12025550001", "12025550000", "hours please")
                smsc.mo("12025550002", "12025550000", "STOP")
                smsc.mo("12025550002", "12025550000", "hours please")  # opted out: no reply
                smsc.mo("12025550003", "67076", "Hours?")  # the account's other number
                while http.get(f"/v2/texts/broadcasts/{bid}").json()["status"] != "FINISHED":
                    assert time.monotonic() < deadline, "the broadcast never finished"
                    time.sleep(0.1)
                texts = http.get("/v2/texts", params={"campaignId": bid}).json()
                their_texts = them.get("/v2/texts").json()
        finally:
            stop_server(server)
        to_ann = [s for s in smsc.segs if s.dest == "12025550001"]
        to_bob = [s for s in smsc.segs if s.dest == "12025550002"]
        to_cy = [s for s in smsc.segs if s.dest == "12025550003"]
    assert [smsc.text_of([s]) for s in to_ann] == ["Hello", "Open 9-5"]
    assert all(s.source == "12025550000" for s in to_ann)
    # Bob's STOP got its confirmation once, and his "hours please" after it no auto-reply
    bob = [smsc.text_of([s]) for s in to_bob]
    assert sum("unsubscribed" in t for t in bob) == 1 and set(bob) <= {"Hello", bob[-1]}
    assert not [s for s in smsc.segs if b"yours" in s.payload]  # globex's rule never answered
    assert sorted((s.source, smsc.text_of([s])) for s in to_cy) == [
        ("12025550000", "Hello"),
        ("67076", "Short code: 9-5"),
    ]
    replies = [t for t in texts["items"] if t["id"] > TEXT_IDS]
    assert [
        (t["fromNumber"], t["toNumber"], t["message"], t["finalTextResult"]) for t in replies
    ] == [
        ("+12025550000", "+12025550001", "Open 9-5", "SENT"),
        ("67076", "+12025550003", "Short code: 9-5", "SENT"),
    ]
    assert their_texts["totalCount"] == 0


def test_a_schema_4_database_is_upgraded_keeping_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    for script in _MIGRATIONS[:4]:
        conn.executescript(script)
    conn.execute("INSERT INTO dnc (account, number, created_at) VALUES ('acme', '+12125550100', 1)")
    conn.execute("PRAGMA user_version = 4")
    conn.commit()
    conn.close()
    Database(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("SELECT number FROM dnc").fetchall() == [("+12125550100",)]
        assert conn.execute("SELECT COUNT(*) FROM text_auto_replies").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM text_auto_reply_texts").fetchone()[0] == 0


def test_auto_reply_routes_do_not_shadow_texts(server: Server) -> None:
    key, _ = account(server)
    with server.client(key) as http:
        assert http.get("/v2/texts/auto-replys").status_code == 200
        assert http.get("/v2/texts/12345").status_code == 404
        assert http.get(f"/v2/texts/{TEXT_IDS + 1}").status_code == 404


@pytest.fixture(params=["sqlite", "postgresql"])
def service_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServiceDatabase]:
    target = (
        tmp_path / "s.sqlite" if request.param == "sqlite" else request.getfixturevalue("pg_db")
    )
    db = open_database(target)
    try:
        yield db
    finally:
        db.close()


def test_rules_and_the_replies_they_sent_on_both_engines(service_db: ServiceDatabase) -> None:
    db = service_db
    first = autoreplies.create(db, "acme", AutoReply(0, "Open 9-5", OURS, "HOURS"))
    other = autoreplies.create(db, "globex", AutoReply(0, "globex", None, None, ".*"))
    assert autoreplies.get(db, "acme", first) == AutoReply(first, "Open 9-5", OURS, "HOURS")
    assert autoreplies.get(db, "acme", other) is None
    assert autoreplies.find(db, "acme", OURS, 10, 0) == ([autoreplies.get(db, "acme", first)], 1)
    assert autoreplies.find(db, "acme", "67076", 10, 0) == ([], 0)
    hook = autoreplies.AccountAutoReplies(db, "acme", 7)
    assert [r.id for r in hook.rules()] == [first]
    said = InboundText("+12125557301", OURS, "hours?", 1_800_000_000.5)
    hook.sent(hook.rules()[0], said, "Open 9-5", "SENT")
    assert not autoreplies.delete(db, "globex", first)
    assert autoreplies.delete(db, "acme", first)
    assert autoreplies.find(db, "acme", None, 10, 0) == ([], 0)

    texts = SentReplies()
    items, n = texts.page(db, "acme", None, None, CallFilter(), 10, 0)
    assert n == 1 and items[0]["toNumber"] == "+12125557301" and items[0]["fromNumber"] == OURS
    assert items[0]["created"] == 1_800_000_000_500 and items[0]["campaignId"] == 7
    assert texts.one(db, "acme", items[0]["id"]) == items[0]  # the rule's deletion keeps it
    assert texts.one(db, "globex", items[0]["id"]) is None
    assert texts.page(db, "globex", None, None, CallFilter(), 10, 0) == ([], 0)
    assert texts.page(db, "acme", 8, None, CallFilter(), 10, 0) == ([], 0)
    assert (
        texts.page(db, "acme", None, None, CallFilter(states=frozenset({"READY"})), 10, 0)[1] == 0
    )
    assert texts.page(db, "acme", None, None, CallFilter(ids=frozenset({5})), 10, 0)[1] == 0
    assert texts.page(db, "acme", None, None, CallFilter(), 0, 0) == ([], 1)


@pytest.fixture
def workers(pg_db: str, tmp_path: Path) -> Iterator[Workers]:
    running = Workers(pg_db, tmp_path / "dials.log")
    yield running
    assert running.stop() == []


def test_a_postgres_worker_answers_with_the_services_auto_replies(
    pg_db: str, tmp_path: Path, workers: Workers
) -> None:
    """``serve --db postgresql://…``: text broadcasts are sent by ``broadcast worker`` processes,
    which read the account's rules from the service's tables in the same database."""
    db = open_database(pg_db)
    layer = Broadcasts(db, BroadcastSettings(home=tmp_path / "home", store_dsn=pg_db))
    try:
        autoreplies.create(db, "acme", AutoReply(0, "Open 9-5", None, "HOURS"))
        autoreplies.create(db, "globex", AutoReply(0, "not yours", OURS))
        people = [
            Recipient("+12125557401", {"sim_result": "DELIVERED", "sim_reply": "hours?"}),
            Recipient("+12125557402", {"sim_result": "DELIVERED", "sim_reply": "STOP"}),
            Recipient("+12125557403", {"sim_result": "DELIVERED", "sim_reply": "thanks"}),
        ]
        settings = {"name": "t", "message": "Doors open at 7", "fromNumber": OURS}
        view = layer.view("sms")
        b = view.create(
            "acme", BroadcastInput(settings, recipients=people, channel="sms"), start=True
        )
        workers.start(1)
        wait_for(lambda: view.get("acme", b.id).status != "RUNNING")
        sent, _ = SentReplies().page(db, "acme", b.id, None, CallFilter(), 10, 0)
        assert [(t["fromNumber"], t["toNumber"], t["message"]) for t in sent] == [
            (OURS, "+12125557401", "Open 9-5")
        ]
        assert SentReplies().page(db, "globex", None, None, CallFilter(), 10, 0) == ([], 0)
    finally:
        layer.close()
        db.close()
