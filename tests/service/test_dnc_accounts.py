"""Per-account do-not-call lists over the live server: a number that pressed the opt-out key in
account A's broadcast stays off A's later broadcasts but is still called by account B's; each
account's ``/v1/dnc`` list and EnableX's ``call_blacklisted`` bucket hold its own numbers only."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx

from .conftest import Server, charity_xml

NUMBER = "+12125550777"


def _broadcast(c: httpx.Client, name: str, inputs: str) -> int:
    r = c.post(
        "/v2/calls/broadcasts",
        params={"start": "true"},
        json={
            "name": name,
            "dialplanXml": charity_xml(),
            "answeringMachineConfig": "AM_AND_LIVE",
            "recipients": [
                {"phoneNumber": NUMBER, "attributes": {"sim_result": "LA", "sim_inputs": inputs}}
            ],
        },
    )
    assert r.status_code == 200, r.text
    return int(r.json()["id"])


def _finished_stats(c: httpx.Client, bid: int) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while c.get(f"/v2/calls/broadcasts/{bid}").json()["status"] != "FINISHED":
        assert time.monotonic() < deadline, f"broadcast {bid} never finished"
        time.sleep(0.05)
    stats: dict[str, Any] = c.get(f"/v2/calls/broadcasts/{bid}/stats").json()
    return stats


def test_an_opt_out_stays_in_its_account(server: Server) -> None:
    a, b = server.key("dncscope-a", "write"), server.key("dncscope-b", "write")
    with server.client(a) as ca, server.client(b) as cb:
        first = _finished_stats(ca, _broadcast(ca, "a-first", "9"))  # presses 9: <dnc>
        assert (first["liveCount"], first["doNotCallCount"]) == (1, 0)

        other = _finished_stats(cb, _broadcast(cb, "b-first", "2"))
        assert (other["callsPlaced"], other["liveCount"], other["doNotCallCount"]) == (1, 1, 0)
        assert cb.get("/v1/dnc").json()["items"] == []

        again = _finished_stats(ca, _broadcast(ca, "a-again", "2"))
        assert (again["callsPlaced"], again["doNotCallCount"]) == (0, 1)


def test_enablex_blacklists_the_accounts_own_numbers_only(server: Server) -> None:
    a, b = server.key("dncscope-ex-a", "write"), server.key("dncscope-ex-b", "write")
    with server.client(a) as ca:
        assert ca.post("/v1/dnc", json={"numbers": [NUMBER]}).json() == {"added": 1}
    body = {
        "name": "APP",
        "owner_ref": "x",
        "from": "12012774877",
        "recipients": [{"to": NUMBER.lstrip("+"), "play": {"type": "tts", "text": "Hi",
                                                          "prompt_ref": "p"}}],
    }  # fmt: skip
    buckets = {}
    for account, key in (("a", a), ("b", b)):
        token = base64.b64encode(f"APP_ID:{key}".encode()).decode()
        with server.client() as c:
            r = c.post(
                "/voice/v1/broadcast", json=body, headers={"Authorization": f"Basic {token}"}
            )
        assert r.status_code == 200, r.text
        buckets[account] = {k: [e["to"] for e in v] for k, v in r.json()["to"].items()}
    assert buckets["a"]["call_blacklisted"] == [NUMBER.lstrip("+")]
    assert buckets["b"]["call_blacklisted"] == []
    assert buckets["b"]["call_initiated"] == [NUMBER.lstrip("+")]
