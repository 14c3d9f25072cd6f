"""Sound broadcasts over ``/v2/calls/broadcasts``: CallFire's ``sounds`` (CallBroadcastSounds)
becomes the campaign's ``[sounds]`` table, driven by CallFire's own client (bravado,
validate_responses=True) and by httpx; simulated broadcasts finish in virtual time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from dialplan.broadcast.campaign import load_campaign
from dialplan.service.broadcasts import fields

from .conftest import EXAMPLES, Server, charity_xml
from .test_callfire_v2 import callfire, result, wait_status

#: the tutorial's "Charity Campaign" (Mary's voice broadcast) as CallFire's CallBroadcastSounds
MARY = {
    "liveSoundText": "Hello, this is Mary from the Charity Campaign. Press 1 to talk to us,"
    " press 9 to be taken off our list.",
    "liveSoundTextVoice": "FEMALE1",
    "machineSoundText": "Hello, this is Mary from the Charity Campaign. Please call us back.",
    "machineSoundTextVoice": "FEMALE1",
    "transferSoundText": "Please hold while we transfer you.",
    "transferSoundTextVoice": "MALE1",
    "transferDigit": "1",
    "transferNumber": "12314557676",
    "dncSoundText": "You will not be called again.",
    "dncDigit": "9",
}


def people(base: int, *outcomes: tuple[str, str]) -> list[dict[str, Any]]:
    return [
        {"phoneNumber": f"+1213555{base + i:04d}", "attributes": {"sim_result": r, "sim_inputs": k}}
        for i, (r, k) in enumerate(outcomes)
    ]


def results(api: Any, bid: int) -> dict[str, tuple[str, str | None]]:
    calls = result(api.calls.getCallBroadcastCalls(id=bid))["items"]
    return {c["toNumber"]: (c["state"], c.get("finalCallResult")) for c in calls}


@pytest.fixture(scope="module")
def api(server: Server, acme: str) -> Any:
    return callfire(server, acme)


@pytest.fixture
def http(server: Server, acme: str) -> Iterator[httpx.Client]:
    with server.client(acme) as c:
        yield c


def campaign_of(server: Server, bid: int) -> Any:
    return load_campaign(server.db_path.with_suffix(".broadcasts") / str(bid) / "campaign.json")


def test_marys_sound_broadcast_runs_with_scripted_outcomes(api: Any, server: Server) -> None:
    """Live answer presses 1 → transferred; a machine → AM; 9 → on the DNC list, so a later
    broadcast skips the number; the fields come back as given and are the campaign's keys."""
    body = {
        "name": "Charity Campaign",
        "sounds": MARY,
        "labels": ["charity", "id-10002"],
        "resumeNextDay": False,
        "maxActiveTransfers": 3,
        "recipients": people(3100, ("LA", "1"), ("AM", ""), ("LA", "9"), ("LA", "")),
    }
    bid = result(api.calls.createCallBroadcast(body=body, start=True))["id"]
    got = wait_status(api, bid, "FINISHED")
    assert got["sounds"] == MARY and "dialplanXml" not in got
    assert got["labels"] == ["charity", "id-10002"]
    assert got["resumeNextDay"] is False and got["maxActiveTransfers"] == 3
    assert results(api, bid) == {
        "+12135553100": ("FINISHED", "XFER"),
        "+12135553101": ("FINISHED", "AM"),
        "+12135553102": ("FINISHED", "LA"),
        "+12135553103": ("FINISHED", "LA"),
    }
    campaign = campaign_of(server, bid)  # one model: the API fields are the campaign's keys
    assert campaign.dialplan is None and campaign.sounds is not None
    assert campaign.sounds.transfer_digit == "1" and campaign.sounds.dnc_digit == "9"
    assert campaign.sounds.live is not None and campaign.sounds.live.voice == "FEMALE1"
    assert campaign.labels == ("charity", "id-10002")
    assert campaign.resume_next_day is False and campaign.max_active_transfers == 3
    page = result(api.calls.findCallBroadcasts(label="id-10002"))
    assert [b["id"] for b in page["items"]] == [bid]

    later = {"name": "Charity again", "sounds": MARY, "recipients": people(3102, ("LA", ""))}
    again = result(api.calls.createCallBroadcast(body=later, start=True))["id"]
    wait_status(api, again, "FINISHED")
    assert results(api, again)["+12135553102"][1] == "DNC"


def test_max_active_transfers_is_used_by_the_runtime(api: Any) -> None:
    """Two live answers press 1 at once: with one transfer slot the second gives up (LA, as
    docs/sounds.md says: a simulated transfer holds its slot 66 s, the timeout is 30 s)."""
    outcomes: dict[int | None, list[str]] = {}
    for i, limit in enumerate((None, 1)):
        body: dict[str, Any] = {
            "name": f"Transfers {limit}",
            "sounds": MARY,
            "maxActive": 2,
            "recipients": people(3200 + 10 * i, ("LA", "1"), ("LA", "1")),
        }
        if limit is not None:
            body["maxActiveTransfers"] = limit
        bid = result(api.calls.createCallBroadcast(body=body, start=True))["id"]
        wait_status(api, bid, "FINISHED")
        outcomes[limit] = sorted(str(r) for _, r in results(api, bid).values())
    assert outcomes == {None: ["XFER", "XFER"], 1: ["LA", "XFER"]}


def test_a_library_sound_by_id_and_another_accounts_is_not_found(
    server: Server, http: httpx.Client, globex: str
) -> None:
    made = http.post("/v2/campaigns/sounds/tts", json={"message": "Hi from the library"})
    assert made.status_code == 200, made.text
    sound_id = made.json()["id"]
    body = {
        "name": "Library",
        "sounds": {"liveSoundId": sound_id, "machineSoundText": "Call us back"},
        "recipients": people(3300, ("LA", ""), ("AM", "")),
    }
    r = http.post("/v2/calls/broadcasts?start=true", json=body)
    assert r.status_code == 200, r.text
    bid = r.json()["id"]
    api = callfire(server, http.headers["Authorization"].split()[1])
    wait_status(api, bid, "FINISHED")
    got = http.get(f"/v2/calls/broadcasts/{bid}").json()
    assert got["sounds"] == body["sounds"]  # the account's id, not the store's copy
    assert sorted(r for _, r in results(api, bid).values()) == ["AM", "LA"]
    # the copy plays on even after the account removes the sound, and survives an update
    assert http.delete(f"/v2/campaigns/sounds/{sound_id}").status_code == 204
    assert http.put(f"/v2/calls/broadcasts/{bid}", json={"maxActive": 4}).status_code == 204
    assert http.get(f"/v2/calls/broadcasts/{bid}").json()["sounds"] == body["sounds"]
    assert campaign_of(server, bid).sounds.live.sound.endswith(f"-{sound_id}")

    with server.client(globex) as other:  # acme's sound ids mean nothing to globex
        mine = http.post("/v2/campaigns/sounds/tts", json={"message": "acme only"}).json()["id"]
        r = other.post("/v2/calls/broadcasts", json={"name": "x", "sounds": {"liveSoundId": mine}})
        assert r.status_code == 422
        assert r.json()["detail"].startswith("sounds.liveSoundId: no sound ")


@pytest.mark.parametrize(
    ("extra", "detail"),
    [
        ({"sounds": {"transferDigit": "1"}}, "sounds.transferNumber: "),
        ({"sounds": {**MARY, "dncDigit": "1"}}, "sounds.dncDigit: must differ"),
        ({"sounds": {"machineSoundText": "hi"}}, "sounds: give live_sound_text"),
        ({"sounds": {"liveSoundText": "a", "liveSoundId": 1}}, "sounds.liveSoundId: "),
        ({"sounds": MARY, "dialplanXml": charity_xml()}, "sounds: give dialplanXml, flowId"),
        ({"sounds": MARY, "maxActiveTransfers": 0}, "maxActiveTransfers: must be between"),
        ({"sounds": MARY, "labels": [""]}, "labels[0]: expected a non-empty string"),
    ],
)
def test_bad_sounds_are_a_422_naming_the_field(
    http: httpx.Client, extra: dict[str, Any], detail: str
) -> None:
    r = http.post("/v2/calls/broadcasts", json={"name": "bad", **extra})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"].startswith(detail), r.json()["detail"]


def test_bad_voice_or_digit_is_refused_by_the_schema(http: httpx.Client) -> None:
    for sounds in ({"liveSoundText": "a", "liveSoundTextVoice": "ROBOT"}, {"dncDigit": "12"}):
        r = http.post("/v2/calls/broadcasts", json={"name": "bad", "sounds": sounds})
        assert r.status_code == 422 and list(sounds)[-1] in r.text, r.text


def test_update_switches_between_a_dialplan_and_sounds(api: Any, http: httpx.Client) -> None:
    body = {"name": "Switch", "dialplanXml": charity_xml(), "recipients": people(3400, ("LA", ""))}
    bid = result(api.calls.createCallBroadcast(body=body))["id"]
    assert http.put(f"/v2/calls/broadcasts/{bid}", json={"sounds": MARY}).status_code == 204
    got = result(api.calls.getCallBroadcast(id=bid))
    assert got["sounds"] == MARY and "dialplanXml" not in got
    assert http.put(f"/v2/calls/broadcasts/{bid}", json={"labels": ["x"]}).status_code == 204
    assert result(api.calls.getCallBroadcast(id=bid))["sounds"] == MARY  # kept as it was
    r = http.put(f"/v2/calls/broadcasts/{bid}", json={"dialplanXml": charity_xml()})
    assert r.status_code == 204
    got = result(api.calls.getCallBroadcast(id=bid))
    assert "sounds" not in got and got["dialplanXml"] == charity_xml()
    result(api.calls.startVoiceBroadcast(id=bid))
    assert wait_status(api, bid, "FINISHED")["labels"] == ["x"]


def test_the_sounds_conversion_round_trips() -> None:
    api = {**MARY, "idleHangup": 2.5, "transferTimeout": 10}
    key = fields.to_campaign({"sounds": api})["sounds"]
    assert key["live_sound_text_voice"] == "FEMALE1" and key["idle_hangup"] == 2.5
    assert fields.to_api({"sounds": key})["sounds"] == api
    copied = fields.to_api({"sounds": {"live_sound_id": "acctab12-cd34-17"}})
    assert copied["sounds"] == {"liveSoundId": 17}


def test_the_example_body_is_the_example_campaign(http: httpx.Client, server: Server) -> None:
    """examples/charity-campaign.broadcast.json (the API) and charity-campaign-sounds.toml (the
    campaign file) describe one campaign: the same [sounds] and top-level keys."""
    body = json.loads((EXAMPLES / "charity-campaign.broadcast.json").read_text("utf-8"))
    r = http.post("/v2/calls/broadcasts", json=body)
    assert r.status_code == 200, r.text
    made = campaign_of(server, r.json()["id"])
    toml = load_campaign(EXAMPLES / "charity-campaign-sounds.toml")
    assert made.sounds == toml.sounds
    for key in ("labels", "resume_next_day", "max_active_transfers", "max_active", "from_number"):
        assert getattr(made, key) == getattr(toml, key), key
