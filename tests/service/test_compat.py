"""The compatibility endpoints (Kaleyra, Callr, EnableX) over a live server, simulated calls."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import jsonschema

from .conftest import EXAMPLES, ROOT, Receiver, Server

GREETING = '<dialplan name="Root"><play type="tts">Hello ${userID}</play><hangup/></dialplan>'
REMINDER = (EXAMPLES / "appointment-reminder.yaml").read_text(encoding="utf-8")


def upload(c: httpx.Client, xml: str, name: str = "ivr", fmt: str = "xml") -> str:
    r = c.post("/v1/flows", json={"name": name, "source": xml, "format": fmt})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def final(c: httpx.Client, call_id: str, timeout: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        call = c.get(f"/v1/calls/{call_id}").json()
        if call["final"]:
            return dict(call)
        time.sleep(0.05)
    raise AssertionError(f"call {call_id} never ended")


def headed(server: Server, headers: dict[str, str]) -> httpx.Client:
    """A client authenticating with ``headers`` (a compatibility endpoint's own style)."""
    return httpx.Client(base_url=server.url, headers=headers, trust_env=False, timeout=30)


# -- Kaleyra ----------------------------------------------------------------------------------


def kaleyra(server: Server, key: str, sid: str, **form: str) -> httpx.Response:
    with server.client() as c:
        return c.post(f"/v1/{sid}/voice/outbound", data=form, headers={"api-key": key})


def test_kaleyra_calls_every_number_through_the_flow(server: Server, acme: str) -> None:
    with server.client(acme) as c:
        flow = upload(c, GREETING)
    to = "+18830907001,18830907002, +18830907003"
    r = kaleyra(
        server, acme, "acme", to=to, bridge="+13236789000", target=f'[{{"ivr":["{flow}"]}}]'
    )
    assert r.status_code == 200, r.text
    reply = r.json()
    assert (reply["code"], reply["message"], reply["error"]) == (
        "RBC3007",
        "Submitted Successfully",
        {},
    )
    data = reply["data"]
    assert (data["to"], data["bridge"], data["target"]) == (to, "+13236789000", [{"ivr": [flow]}])
    assert [c["to"] for c in data["calls"]] == ["+18830907001", "+18830907002", "+18830907003"]
    with server.client(acme) as c:
        ended = [final(c, call["id"]) for call in data["calls"]]
    assert {(e["status"], e["flow_id"], e["caller_id"]) for e in ended} == {
        ("completed", flow, "+13236789000")
    }


def test_kaleyra_takes_a_bare_flow_id_as_its_sample_does(server: Server, acme: str) -> None:
    with server.client(acme) as c:
        flow = upload(c, GREETING)
    r = kaleyra(server, acme, "acme", to="+18830907001", bridge="+13236789000", target=flow)
    assert r.status_code == 200 and r.json()["code"] == "RBC3007", r.text


def test_kaleyra_ivr_not_found_for_another_accounts_flow(
    server: Server, acme: str, globex: str
) -> None:
    with server.client(globex) as c:
        theirs = upload(c, GREETING)
    target = f'[{{"ivr":["{theirs}"]}}]'
    r = kaleyra(server, acme, "acme", to="+18830907001", bridge="+13236789000", target=target)
    assert r.status_code == 404, r.text
    assert r.json() == {
        "code": "RBC3115",
        "message": "IVR not found",
        "data": [{"to": "+18830907001", "target": [{"ivr": [theirs]}], "bridge": "+13236789000"}],
        "error": {"scalar": "IVR not found"},
    }


def test_kaleyra_refuses_bad_requests(server: Server, acme: str) -> None:
    too_many = ",".join(f"+1883090{i:04d}" for i in range(101))
    target = '[{"ivr":["flw_x"]}]'
    cases = [
        ({"to": too_many, "bridge": "+13236789000", "target": target}, "1 to 100"),
        ({"to": "12ab", "bridge": "+13236789000", "target": target}, "not an E.164"),
        ({"to": "+18830907001", "bridge": "+13236789000", "target": "[{}]"}, "target"),
        ({"to": "+18830907001", "bridge": "+13236789000", "target": '[{"ivr":["a","b"]}]'}, "one"),
    ]
    for form, why in cases:
        r = kaleyra(server, acme, "acme", **form)
        assert r.status_code == 422 and why in r.json()["detail"], r.text
    other = kaleyra(server, acme, "globex", to="+18830907001", bridge="+13236789000", target=target)
    assert other.status_code == 404 and other.json()["type"].endswith("not-found")


def test_kaleyra_needs_a_key_and_replays_an_idempotent_request(server: Server, acme: str) -> None:
    with server.client(acme) as c:
        flow = upload(c, GREETING)
    form = {"to": "+18830907001", "bridge": "+13236789000", "target": flow}
    with server.client() as c:
        assert c.post("/v1/acme/voice/outbound", data=form).status_code == 401
        headers = {"api-key": acme, "Idempotency-Key": "kaleyra-once"}
        first = c.post("/v1/acme/voice/outbound", data=form, headers=headers)
        second = c.post("/v1/acme/voice/outbound", data=form, headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.headers["idempotent-replayed"] == "true"
    assert first.json() == second.json()


# -- Callr ------------------------------------------------------------------------------------


def test_callr_runs_a_yaml_scenario_for_target(server: Server, acme: str) -> None:
    with server.client(acme) as c:
        scenario = upload(c, REMINDER, "reminder", "yaml")
    with headed(server, {"x-api-key": acme}) as c:
        r = c.post(
            f"/v2.0/actions/{scenario}/runs",
            json={"variables": {"$target": "+33639980042", "$userID": 1234}},
        )
        assert r.status_code == 200, r.text
        run = r.json()
        assert (run["scenario"], run["target"]) == (scenario, "+33639980042")
        assert run["status"] in ("queued", "in-progress", "completed")
        assert run["variables"] == {"$target": "+33639980042", "$userID": "1234"}
        deadline = time.monotonic() + 15
        while run["ended"] is None and time.monotonic() < deadline:
            time.sleep(0.05)
            run = c.get(f"/v2.0/actions/{scenario}/runs/{run['sid']}").json()
    assert run["status"] == "completed", run
    variables = run["result"]["variables"]
    assert (variables["target"], variables["userID"]) == ("+33639980042", "1234")


def test_callr_target_is_the_number_called_for_an_xml_flow_too(server: Server, acme: str) -> None:
    with server.client(acme) as c:
        flow = upload(c, GREETING)
        r = c.post(
            f"/v2.0/actions/{flow}/runs",
            json={"variables": {"$target": "+15555550199", "$userID": "Ann"}},
        )
        assert r.status_code == 200, r.text
        call = final(c, r.json()["sid"])
    assert call["to"] == "+15555550199"
    assert call["result"]["prompts"] == ["Hello Ann"]


def test_callr_refuses_a_run_without_target_or_of_anothers_scenario(
    server: Server, acme: str, globex: str
) -> None:
    with server.client(globex) as c:
        theirs = upload(c, GREETING)
    with server.client(acme) as c:
        mine = upload(c, GREETING)
        missing = c.post(f"/v2.0/actions/{mine}/runs", json={"variables": {"$userID": "1"}})
        bad = c.post(f"/v2.0/actions/{mine}/runs", json={"variables": {"$target": "0800"}})
        other = c.post(
            f"/v2.0/actions/{theirs}/runs", json={"variables": {"$target": "+15555550199"}}
        )
    assert missing.status_code == 422 and "$target" in missing.json()["detail"]
    assert bad.status_code == 422 and "not E.164" in bad.json()["detail"]
    assert other.status_code == 404


# -- EnableX ----------------------------------------------------------------------------------


def basic(key: str) -> dict[str, str]:
    token = base64.b64encode(f"APP_ID:{key}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def enablex_body(event_url: str | None, **extra: Any) -> dict[str, Any]:
    return {
        "name": "TEST_APP",
        "owner_ref": "XYZ",
        "from": "12012774877",
        "answering_machine_detection": True,
        "recipients": [
            {"to": "12125550101", "play": {"type": "tts", "text": "Hi Welcome", "voice": "Female",
                                           "language": "en-US", "prompt_ref": "prompt_f1"}},
            {"to": "12125550102", "play": {"type": "url", "url": "https://example.com/a.mp3",
                                           "prompt_ref": "prompt_f2"}},
            {"to": "918088394833", "play": {"type": "tts", "text": "Namaste", "prompt_ref": "p3"}},
        ],
        "custom_data": {"booking_id": 12345, "farmer_id": 6789},
        **({"event_url": event_url, "call_handler_url": event_url} if event_url else {}),
        **extra,
    }  # fmt: skip


def test_enablex_broadcast_sorts_recipients_and_sends_its_events(
    server: Server, receiver: Receiver
) -> None:
    key = server.key("enablex-acct", "write")
    with server.client(key) as c:
        assert c.post("/v1/dnc", json={"numbers": ["+12125550102"]}).json() == {"added": 1}
    with headed(server, basic(key)) as c:
        r = c.post(
            "/voice/v1/broadcast",
            json=enablex_body(receiver.url, allowed_countries=["US", "CA"]),
        )
    assert r.status_code == 200, r.text
    reply = r.json()
    assert reply["state"] == "broadcastcall_initiated" and reply["from"] == "12012774877"
    assert reply["custom_data"] == {"booking_id": 12345, "farmer_id": 6789}
    buckets = reply["to"]
    assert [b["to"] for b in buckets["call_initiated"]] == ["12125550101"]
    assert [b["to"] for b in buckets["call_blacklisted"]] == ["12125550102"]
    assert [b["to"] for b in buckets["country_not_allowed"]] == ["918088394833"]
    assert buckets["call_initiated"][0]["play"]["prompt_ref"] == "prompt_f1"
    voice_id = buckets["call_initiated"][0]["voice_id"]
    receiver.wait_for(lambda bodies: any(b["event"] == "broadcastcall_complete" for b in bodies))
    bodies = receiver.bodies()
    assert [(b["event"], b.get("playstate")) for b in bodies] == [
        ("connected", None),
        ("playstate", "initiated"),
        ("playstate", "playfinished"),
        ("disconnected", None),
        ("broadcastcall_complete", None),
    ]
    assert {b.get("prompt_ref") for b in bodies if b["event"] == "playstate"} == {"prompt_f1"}
    events = {str(b["event"]): b for b in bodies}
    schema = json.loads((ROOT / "dialplan/data/schemas/webhook-event.schema.json").read_text())
    for body in bodies:
        jsonschema.validate(body, schema)  # the campaign runner's published event schema
    connected, disconnected = events["connected"], events["disconnected"]
    assert connected["broadcast_id"] == reply["broadcast_id"]
    assert (connected["voice_id"], connected["to"], connected["from"]) == (
        voice_id,
        "12125550101",
        "12012774877",
    )
    assert (connected["state"], connected["call_answered_by"]) == ("connected", "HUMAN")
    assert connected["custom_data"] == {"booking_id": 12345, "farmer_id": 6789}
    assert (disconnected["disconnect_cause_code"], disconnected["disconnect_reason"]) == (
        16,
        "Normal Clearing",
    )
    assert disconnected["call_duration"] > 0
    complete = events["broadcastcall_complete"]
    assert complete["blacklistednumber"] == {
        "call_blacklisted": ["12125550102"],
        "country_not_allowed": ["918088394833"],
    }
    [leg] = complete["broadcast_call_info"]
    assert (leg["voice_id"], leg["callState"], leg["disconnectReasonCode"]) == (
        voice_id,
        "Call Answered",
        16,
    )
    with server.client(key) as c:
        call = c.get(f"/v1/calls/{voice_id}").json()
    assert call["result"]["prompts"] == ["Hi Welcome"]


def test_enablex_needs_basic_auth_and_checks_its_fields(server: Server) -> None:
    key = server.key("enablex-acct2", "write")
    with server.client() as c:
        assert c.post("/voice/v1/broadcast", json=enablex_body(None)).status_code == 401
        body = enablex_body(None)
        body["recipients"][0]["play"] = {"type": "tts", "prompt_ref": "x"}
        r = c.post("/voice/v1/broadcast", json=body, headers=basic(key))
    assert r.status_code == 422 and "needs text" in r.text


def test_per_call_controls_answer_409_on_simulated_calls(
    server: Server, acme: str, globex: str
) -> None:
    with server.client(acme) as c:
        flow = upload(c, GREETING)
        ringing = c.post(
            "/v1/calls",
            json={"flow_id": flow, "to": "+15555550123", "caller_id": "+15555550100",
                  "simulation": {"ring_s": 5}},
        ).json()  # fmt: skip
        hangup = c.delete(f"/voice/v1/call/{ringing['id']}")
        play = c.put(
            f"/voice/v1/call/{ringing['id']}/play",
            json={"play": {"type": "tts", "text": "Again", "prompt_ref": "p"}},
        )
        unknown = c.delete("/voice/v1/call/call_nope")
    assert hangup.status_code == 409 and "simulated" in hangup.json()["detail"], hangup.text
    assert play.status_code == 409
    assert unknown.status_code == 404
    with server.client(globex) as c:
        assert c.delete(f"/voice/v1/call/{ringing['id']}").status_code == 404


def test_dnc_list_belongs_to_its_account(server: Server) -> None:
    one, two = server.key("dnc-one", "write"), server.key("dnc-two", "write")
    with server.client(one) as c:
        assert c.post("/v1/dnc", json={"numbers": ["+12125550111", "+12125550111"]}).json() == {
            "added": 1
        }
        assert [e["number"] for e in c.get("/v1/dnc").json()["items"]] == ["+12125550111"]
    with server.client(two) as c:
        assert c.get("/v1/dnc").json()["items"] == []
        assert c.delete("/v1/dnc/+12125550111").status_code == 404
    with server.client(one) as c:
        assert c.delete("/v1/dnc/+12125550111").status_code == 204
        assert c.get("/v1/dnc").json()["items"] == []


def test_enablex_broadcast_with_one_idempotency_key_starts_once(server: Server) -> None:
    key = server.key("enablex-idem", "write")
    body = enablex_body(None)
    with headed(server, {**basic(key), "Idempotency-Key": "bcast-1"}) as c:
        first = c.post("/voice/v1/broadcast", json=body)
        again = c.post("/voice/v1/broadcast", json=body)
        other = c.post("/voice/v1/broadcast", json={**body, "name": "OTHER"})
    assert first.status_code == again.status_code == 200, first.text
    assert again.headers["idempotent-replayed"] == "true"
    assert first.json()["broadcast_id"] == again.json()["broadcast_id"]
    assert other.status_code == 422  # the same key with another body
    with server.client(key) as c:
        assert len(c.get("/v1/calls").json()["items"]) == 3  # one broadcast's three legs
