"""``serve --db postgresql://…``: each account's sound library (``/v2/campaigns/sounds``) is in the
database, shared by every server, and a sound broadcast's library sounds reach the workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from dialplan.service.broadcasts import BroadcastInput
from dialplan.service.sounds_api import open_account_library
from dialplan.sounds.library import SoundLibrary
from tests.sip.conftest import require, sipp, uas  # noqa: F401 (sipp: the fixture)
from tests.sounds.test_sounds_sip import RtpCapture

from .conftest import Server, start_server, stop_server
from .test_pg_broadcasts import layer_on, people, results_of, settings
from .test_postgres import servers  # noqa: F401 (the fixture)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wav(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("wav") / "hello.wav"
    subprocess.run(
        ["sox", "-n", "-r", "16000", "-c", "1", str(path), "synth", "1.5", "sine", "440"],
        check=True,
    )
    return path.read_bytes()


def _upload(c: httpx.Client, name: str, audio: bytes) -> int:
    r = c.post(
        "/v2/campaigns/sounds/files",
        params={"name": name},
        content=audio,
        headers={"Content-Type": "audio/wav"},
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_a_sound_uploaded_through_one_server_is_read_through_the_other_by_its_account_only(
    servers: tuple[Server, Server],  # noqa: F811
    shared_dsn: str,
    wav: bytes,
) -> None:
    a, b = servers
    acme, globex = a.key("acme", "write"), a.key("globex", "write")
    with a.client(acme) as c:
        sound_id = _upload(c, "Welcome", wav)
    with b.client(acme) as c:
        got = c.get(f"/v2/campaigns/sounds/{sound_id}")
        page = c.get("/v2/campaigns/sounds").json()
        audio = c.get(f"/v2/campaigns/sounds/{sound_id}.wav")
        again = _upload(c, "Welcome", wav)  # the same name and audio: the same sound
    assert got.status_code == 200, got.text
    assert got.json()["name"] == "Welcome" and got.json()["lengthInSeconds"] == 2
    assert [s["id"] for s in page["items"]] == [sound_id] and page["totalCount"] == 1
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
    assert again == sound_id
    with b.client(globex) as c:  # another account: not found, not listed, its own names
        assert c.get(f"/v2/campaigns/sounds/{sound_id}").status_code == 404
        assert c.get(f"/v2/campaigns/sounds/{sound_id}.wav").status_code == 404
        assert c.delete(f"/v2/campaigns/sounds/{sound_id}").status_code == 404
        assert c.get("/v2/campaigns/sounds").json()["totalCount"] == 0
        theirs = _upload(c, "Welcome", wav)
    assert theirs != sound_id
    # no per-server file, and the CLI's library (the campaign store's own) is another one
    assert not list(a.log.parent.glob("*-sounds-*.sqlite"))
    with SoundLibrary(shared_dsn) as lib:
        assert "Welcome" not in lib.names()
    with SoundLibrary(shared_dsn, account="acme") as lib:
        assert [s.id for s in lib.sounds()] == [sound_id]
    with b.client(globex) as c:
        assert c.delete(f"/v2/campaigns/sounds/{theirs}").status_code == 204
    with a.client(acme) as c:
        assert c.get(f"/v2/campaigns/sounds/{sound_id}").status_code == 200


def _people() -> list[dict[str, Any]]:
    outcomes = [("LA", "1"), ("AM", ""), ("BUSY", ""), ("LA", "")]
    return [
        {"phoneNumber": f"+1213555{4100 + i:04d}", "attributes": {"sim_result": r, "sim_inputs": k}}
        for i, (r, k) in enumerate(outcomes)
    ]


def _sound_broadcast(c: httpx.Client, wav: bytes) -> int:
    sound_id = _upload(c, "Greeting", wav)
    body = {
        "name": "Library sounds",
        "fromNumber": "+12125550100",
        "sounds": {"liveSoundId": sound_id, "machineSoundId": sound_id, "transferDigit": "1",
                   "transferNumber": "12314557676", "transferSoundText": "Please hold"},
        "recipients": _people(),
        "retryConfig": {"maxAttempts": 1},
    }  # fmt: skip
    r = c.post("/v2/calls/broadcasts?start=true", json=body)
    assert r.status_code == 200, r.text
    return int(r.json()["id"])


def _wait_finished(c: httpx.Client, bid: int, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got: dict[str, Any] = c.get(f"/v2/calls/broadcasts/{bid}").json()
        if got["status"] == "FINISHED":
            return got
        time.sleep(0.1)
    raise AssertionError(f"broadcast {bid} never finished")


def _outcome(c: httpx.Client, bid: int) -> tuple[dict[str, Any], dict[str, Any]]:
    stats = c.get(f"/v2/calls/broadcasts/{bid}/stats").json()
    calls = c.get(f"/v2/calls/broadcasts/{bid}/calls", params={"limit": 100}).json()["items"]
    results = {x["toNumber"]: (x["state"], x.get("finalCallResult")) for x in calls}
    return {k: v for k, v in stats.items() if k.endswith("Count") or k.startswith("calls")}, results


def test_a_sound_broadcast_created_on_one_server_plays_the_accounts_sound_in_a_worker(
    servers: tuple[Server, Server],  # noqa: F811
    shared_dsn: str,
    wav: bytes,
    tmp_path: Path,
) -> None:
    lite = start_server(tmp_path, "--allow-private")
    try:
        with lite.client(lite.key("acme", "write")) as c:
            bid = _sound_broadcast(c, wav)
            _wait_finished(c, bid)
            want = _outcome(c, bid)
    finally:
        stop_server(lite)
    assert sorted(str(r) for _, r in want[1].values()) == ["AM", "BUSY", "LA", "XFER"]

    a, b = servers
    key = a.key("initech", "write")
    with a.client(key) as c:
        bid = _sound_broadcast(c, wav)
    elsewhere = tmp_path / "elsewhere"  # the worker needs nothing of the servers' folder
    elsewhere.mkdir()
    worker = subprocess.run(
        [sys.executable, "-m", "dialplan", "broadcast", "worker", "--db", shared_dsn],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=elsewhere,
        timeout=120,
    )
    assert worker.returncode == 0, worker.stderr
    with b.client(key) as c:
        got = _wait_finished(c, bid, timeout=10)
        assert _outcome(c, bid) == want
    assert got["sounds"]["liveSoundId"] == got["sounds"]["machineSoundId"]  # the account's id
    listed = json.loads(
        subprocess.run(
            [sys.executable, "-m", "dialplan", "sounds", "list", "--db", shared_dsn,
             "--format", "json"],
            capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
        ).stdout
    )["items"]  # fmt: skip
    assert any(s["name"].endswith(f"-{got['sounds']['liveSoundId']}") for s in listed), listed


@pytest.mark.sip
def test_a_sip_worker_plays_the_uploaded_bytes_of_a_broadcasts_library_sound(
    pg_db: str,
    tmp_path: Path,
    sipp: Any,  # noqa: F811
) -> None:
    """The account's sound, as ``/v2/campaigns/sounds`` stores it on PostgreSQL, is what a SIP
    worker (on no server's folder) sends as RTP."""
    require("sox", "sipp", root=True)
    wav = tmp_path / "welcome.wav"
    subprocess.run(
        ["sox", "-n", "-r", "44100", "-c", "2", str(wav), "synth", "2.0", "sine", "300-900"],
        check=True,
    )
    local = tmp_path / "pg" / "service.sqlite"
    with SoundLibrary(pg_db, account="acme") as lib:
        sound = lib.add_file(wav, "Welcome")
        stored = lib.audio(sound.id)
    assert len(stored) == 16000
    peer = sipp(uas(), calls=1, timeout_s=60)
    layer = layer_on(
        tmp_path / "pg",
        pg_db,
        clock="real",
        driver="sip",
        sip={"proxy": peer.hostport},
        allow_private=True,
        sound_library=partial(open_account_library, pg_db, local, readonly=True),
    )
    api = settings(
        answeringMachineConfig="LIVE_IMMEDIATE",
        sounds={"liveSoundId": sound.id, "idleHangup": 1},
        retryConfig={"maxAttempts": 1},
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    capture = RtpCapture()
    try:
        b = layer.create("acme", BroadcastInput(api, recipients=people(1)), start=True)
        worker = subprocess.run(
            [sys.executable, "-m", "dialplan", "broadcast", "worker", "--db", pg_db,
             "--driver", "sip"],
            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
            cwd=elsewhere, timeout=120,
        )  # fmt: skip
        time.sleep(0.2)
        results = results_of(layer, "acme", b.id)
    finally:
        streams = capture.stop()
        layer.close()
    assert worker.returncode == 0, worker.stderr
    assert results == {"+12125551000": "LA"}
    assert any(stored in payload for payload in streams.values()), {
        ssrc: len(p) for ssrc, p in streams.items()
    }
