"""What forwarding a live-call control to the server that runs the call costs.

``python -m tools.bench controls [--json] [--quick]`` starts a throwaway PostgreSQL server
(``tools/pg_server.py``), two ``dialplan serve --driver sip`` processes on one database (a and b)
and a baresip peer, all on 127.0.0.1. Server a places one call to baresip holding the line; then
EnableX ``PUT /voice/v1/call/{id}/play`` requests (text-to-speech, synthesised once and cached
before the timing starts) go alternately to a (run locally) and to b (queued in
``call_controls``, taken by a on its NOTIFY, outcome read back by b), one at a time. The figure
is the difference of the two medians: what a forwarded control adds. No target is set.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .common import ROOT, Figure, Report, cli, ensure_root_on_path

ensure_root_on_path()

import httpx  # noqa: E402

from tools.pg_server import PostgresUnavailable, ThrowawayServer  # noqa: E402
from tools.sip_peers import Baresip, free_tcp_port  # noqa: E402

from .api import _stop, _wait_up, percentile  # noqa: E402

HOLD = '<dialplan name="Root"><wait>60000</wait><hangup/></dialplan>'
PLAY = {"play": {"type": "tts", "text": "Thank you for holding."}}


def run(quick: bool = False, count: int | None = None) -> Report:
    count = count or (20 if quick else 50)
    try:
        pg = ThrowawayServer.start()
    except PostgresUnavailable as exc:
        return Report("controls", [Figure("PostgreSQL server", None, "", note=str(exc))])
    try:
        import psycopg

        with psycopg.connect(pg.dsn(), autocommit=True) as admin:
            admin.execute("CREATE DATABASE bench_controls")
        with tempfile.TemporaryDirectory(prefix="bench-controls-") as tmp:
            return _measure(pg.dsn("bench_controls"), Path(tmp), count)
    finally:
        pg.stop()


def _serve(dsn: str, tmp: Path, name: str) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_tcp_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(tmp / "cache")}
    serve = ["serve", "--db", dsn, "--port", str(port), "--no-access-log", "--driver", "sip"]
    serve += ["--allow-private", "--rate-limit", "1000000"]
    with (tmp / f"{name}.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dialplan", *serve],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp,
        )
    url = f"http://127.0.0.1:{port}"
    _wait_up(url + "/v1/health", proc)
    return url, proc


def _measure(dsn: str, tmp: Path, count: int) -> Report:
    from dialplan.service.keys import create_key
    from dialplan.service.sql import open_database

    db = open_database(dsn)  # migrates: the servers then start on a ready schema
    try:
        _, key = create_key(db, "bench", ["write"])
    finally:
        db.close()
    try:
        peer = Baresip(tmp / "peer").start()
    except FileNotFoundError as exc:
        return Report("controls", [Figure("baresip", None, "", note=str(exc))])
    procs: list[subprocess.Popen[bytes]] = []
    try:
        url_a, proc = _serve(dsn, tmp, "a")
        procs.append(proc)
        url_b, proc = _serve(dsn, tmp, "b")
        procs.append(proc)
        auth = httpx.BasicAuth("APP_ID", key)
        with (
            httpx.Client(base_url=url_a, auth=auth, trust_env=False, timeout=60) as a,
            httpx.Client(base_url=url_b, auth=auth, trust_env=False, timeout=60) as b,
        ):
            call_id = _hold_call(a, peer.uri)
            path = f"/voice/v1/call/{call_id}/play"
            _ok(a.put(path, json=PLAY))  # synthesised and cached: the timing is the control's
            _ok(b.put(path, json=PLAY))
            local: list[float] = []
            forwarded: list[float] = []
            for _ in range(count):
                for client, into in ((a, local), (b, forwarded)):
                    started = time.perf_counter()
                    _ok(client.put(path, json=PLAY))
                    into.append((time.perf_counter() - started) * 1000)
            _ok(a.delete(f"/voice/v1/call/{call_id}"))
    finally:
        for proc in procs:
            _stop(proc)
        peer.stop()
    p50_local, p50_forwarded = percentile(local, 50), percentile(forwarded, 50)
    assert p50_local is not None and p50_forwarded is not None
    return Report(
        "controls",
        [
            Figure("added by forwarding, p50", round(p50_forwarded - p50_local, 2), "ms"),
            Figure("play on the owner (local), p50", round(p50_local, 2), "ms"),
            Figure("play via the other server, p50", round(p50_forwarded, 2), "ms"),
            Figure("play on the owner (local), p90", _round(percentile(local, 90)), "ms"),
            Figure("play via the other server, p90", _round(percentile(forwarded, 90)), "ms"),
        ],
        command=f"python -m tools.bench controls{' --quick' if count <= 20 else ''}",
        details={"controls_each_way": count},
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _ok(r: httpx.Response) -> Any:
    if r.status_code != 200:
        raise RuntimeError(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text}")
    return r.json()


def _hold_call(a: httpx.Client, uri: str) -> str:
    flow = a.post("/v1/flows", json={"name": "hold", "xml": HOLD}).json()["id"]
    r = a.post(
        "/v1/calls", json={"flow_id": flow, "to": uri, "caller_id": "+15555550100", "mode": "poll"}
    )
    call_id = str(r.json()["id"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if a.get(f"/v1/calls/{call_id}").json()["status"] == "in-progress":
            return call_id
        time.sleep(0.05)
    raise RuntimeError("the call was never answered")


def main(argv: Sequence[str] | None = None) -> int:
    return cli("controls", run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
