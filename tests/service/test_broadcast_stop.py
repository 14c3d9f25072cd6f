"""Stopping a broadcast on the real clock over the live API: the status stays RUNNING while the
calls in flight end (booked with their real results, never INTERNAL_ERROR), then STOPPED;
``start`` resumes with the rest and nobody's attempt is dialled twice. A shutdown (SIGTERM)
drains too and leaves the broadcast RUNNING, to be resumed at the next start."""

from __future__ import annotations

import time
from pathlib import Path

from .conftest import start_server, stop_server
from .test_broadcast_crash import SHORT, attempts, in_flight

N = 8


def _broadcast(numbers: list[str]) -> dict[str, object]:
    return {
        "name": "stop",
        "dialplanXml": SHORT,
        "maxActive": 2,
        "callsPerSecond": 10,
        "retryConfig": {"maxAttempts": 1},
        # a busy number rings 1-4 s on the real clock
        "recipients": [{"phoneNumber": n, "attributes": {"sim_result": "BUSY"}} for n in numbers],
    }


def _wait_in_flight(store: Path, n: int) -> set[str]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if store.is_file() and len(found := in_flight(store)) >= n:
            return found
        time.sleep(0.01)
    raise AssertionError("no call started")


def test_stop_drains_shows_running_until_done_then_start_resumes(tmp_path: Path) -> None:
    server = start_server(tmp_path, "--clock", "real")
    store = tmp_path / "service.broadcasts" / "campaigns.sqlite"
    numbers = [f"+1212555{1000 + i}" for i in range(N)]
    try:
        with server.client(server.key("acme", "write")) as c:
            r = c.post("/v2/calls/broadcasts", params={"start": "true"}, json=_broadcast(numbers))
            assert r.status_code == 200, r.text
            bid = r.json()["id"]
            ringing = _wait_in_flight(store, 2)
            r = c.post(f"/v2/calls/broadcasts/{bid}/stop")
            assert r.status_code == 204, r.text
            assert c.get(f"/v2/calls/broadcasts/{bid}").json()["status"] == "RUNNING"
            deadline = time.monotonic() + 30
            while c.get(f"/v2/calls/broadcasts/{bid}").json()["status"] == "RUNNING":
                assert time.monotonic() < deadline, "the drain never ended"
                time.sleep(0.05)
            assert c.get(f"/v2/calls/broadcasts/{bid}").json()["status"] == "STOPPED"
            booked = attempts(store)
            assert ringing <= {number for number, _ in booked}
            assert {result for *_, result in booked.values()} == {"BUSY"}
            assert not in_flight(store)
            assert len(booked) < N

            r = c.post(f"/v2/calls/broadcasts/{bid}/start")
            assert r.status_code == 204, r.text
            deadline = time.monotonic() + 60
            while c.get(f"/v2/calls/broadcasts/{bid}").json()["status"] != "FINISHED":
                assert time.monotonic() < deadline, "the broadcast never finished"
                time.sleep(0.1)
        final = attempts(store)
        assert sorted(final) == sorted((n, 1) for n in numbers)  # each once, attempt 1
        assert {result for *_, result in final.values()} == {"BUSY"}
    finally:
        stop_server(server)


def test_shutdown_drains_and_the_restart_resumes(tmp_path: Path) -> None:
    server = start_server(tmp_path, "--clock", "real")
    store = tmp_path / "service.broadcasts" / "campaigns.sqlite"
    numbers = [f"+1212555{2000 + i}" for i in range(N)]
    try:
        key = server.key("acme", "write")
        with server.client(key) as c:
            r = c.post("/v2/calls/broadcasts", params={"start": "true"}, json=_broadcast(numbers))
            bid = r.json()["id"]
        ringing = _wait_in_flight(store, 2)
        stop_server(server)  # SIGTERM: uvicorn's shutdown closes the runs, draining
        assert server.process.returncode in (0, -15)  # not killed after its 15 s grace
        booked = attempts(store)
        assert ringing <= {number for number, _ in booked}
        assert {result for *_, result in booked.values()} == {"BUSY"}
        assert not in_flight(store)

        server = start_server(tmp_path, "--clock", "real")
        with server.client(key) as c:
            deadline = time.monotonic() + 60
            while c.get(f"/v2/calls/broadcasts/{bid}").json()["status"] != "FINISHED":
                assert time.monotonic() < deadline, "the broadcast never finished"
                time.sleep(0.1)
        final = attempts(store)
        assert sorted(final) == sorted((n, 1) for n in numbers)
        assert {result for *_, result in final.values()} == {"BUSY"}
    finally:
        stop_server(server)
