"""``dialplan serve --driver sip``: a /v2 call broadcast placed as real SIP calls (SIPp UAS)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.service.conftest import start_server, stop_server

from .conftest import require, uas

pytestmark = pytest.mark.sip
PLANS = Path(__file__).parent / "plans"
N = 5


def test_a_broadcast_over_the_api_calls_a_sip_peer(
    sipp: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require("espeak-ng", "sox", "sipp", root=True)
    peer = sipp(uas(digits="1", first_digit_ms=300), calls=N, timeout_s=120)
    config = tmp_path / "sip.toml"
    config.write_text(f'[sip]\nproxy = "{peer.hostport}"\n', encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the server's prompt cache
    server = start_server(tmp_path, "--driver", "sip", "--sip-config", str(config))
    try:
        with server.client(server.key("acme", "write")) as c:
            r = c.post(
                "/v2/calls/broadcasts",
                params={"start": "true"},
                json={
                    "name": "over sip",
                    "fromNumber": "+12125550100",
                    "answeringMachineConfig": "LIVE_IMMEDIATE",
                    "maxActive": N,
                    "callsPerSecond": 50,
                    "dialplanXml": (PLANS / "one_key.xml").read_text(),
                    "recipients": [{"phoneNumber": f"+1212555{i:04d}"} for i in range(N)],
                },
            )
            assert r.status_code == 200, r.text
            bid = r.json()["id"]
            deadline = time.monotonic() + 90
            while (b := c.get(f"/v2/calls/broadcasts/{bid}").json())["status"] == "RUNNING":
                assert time.monotonic() < deadline, "the SIP broadcast did not finish"
                time.sleep(0.2)
            assert b["status"] == "FINISHED", b
            calls = c.get(f"/v2/calls/broadcasts/{bid}/calls").json()["items"]
    finally:
        stop_server(server)
    assert [c["finalCallResult"] for c in calls] == ["LA"] * N
    answers = [c["records"][0]["questionResponses"] for c in calls]
    assert answers == [[{"question": "answer", "response": "1"}]] * N
    assert peer.wait(10) == 0  # SIPp saw N complete calls, one per recipient
