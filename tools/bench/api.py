"""The service's overhead against a bare endpoint of the same framework, side by side in one run.

``python -m tools.bench api [--json] [--quick]`` starts ``dialplan serve`` (SQLite, simulated
calls) and a bare FastAPI app (``_bare_api.py``: same framework and server, a validated body, no
key, database or call) as two uvicorn processes on 127.0.0.1, and sends each the same open-loop
load at a fixed request rate: ``POST`` a single call in poll mode (``/v1/calls``: key check,
idempotency-free insert, the simulated call placed on the runner) and ``GET`` its status
(``/v1/calls/{id}``; the broadcast stats endpoint belongs to the CallFire ``/v2`` branch and is
measured there once it is merged). Latency is counted from each request's *scheduled* send time,
so a server that falls behind is charged for the queue (no coordinated omission). Goal: the
service's p50 ≤ 2× the bare endpoint's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .common import ROOT, Figure, Report, cli, ensure_root_on_path

ensure_root_on_path()

import httpx  # noqa: E402

from tools.sip_peers import free_tcp_port  # noqa: E402

FLOW = '<dialplan name="Root"><play type="tts">Hello</play><hangup/></dialplan>'
GOAL = 2.0
WORKERS = 16


def _wait_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the server exited ({proc.returncode})")
        try:
            httpx.get(url, trust_env=False, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url}: the server did not start")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def open_loop(
    send: Callable[[httpx.Client, int], None], rate: float, count: int
) -> tuple[list[float], int]:
    """Send ``count`` requests at ``rate`` per second from a pool of clients; each one's latency
    (ms, from its scheduled time to its answer) and how many failed."""
    local = threading.local()
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()

    def one(i: int, due: float) -> None:
        nonlocal errors
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(trust_env=False, timeout=30)
        try:
            send(client, i)
            ok = True
        except (httpx.HTTPError, AssertionError):
            ok = False
        took = (time.perf_counter() - due) * 1000
        with lock:
            if ok:
                latencies.append(took)
            else:
                errors += 1

    with ThreadPoolExecutor(WORKERS) as pool:
        start = time.perf_counter() + 0.05
        for i in range(count):
            due = start + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            pool.submit(one, i, due)
    return latencies, errors


def percentile(values: Sequence[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run(quick: bool = False, rate: float | None = None, count: int | None = None) -> Report:
    rate = rate or (60.0 if quick else 100.0)
    count = count or (60 if quick else 2000)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        db = Path(tmp) / "service.sqlite"
        from dialplan.service.keys import create_key
        from dialplan.service.storage import Database

        _, key = create_key(Database(db), "bench", ["write"])
        api_port, bare_port = free_tcp_port(), free_tcp_port()
        common = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
        serve = ["serve", "--db", str(db), "--port", str(api_port), "--no-access-log"]
        api = subprocess.Popen(
            [sys.executable, "-m", "dialplan", *serve, "--rate-limit", "1000000"],
            cwd=tmp,
            **common,  # type: ignore[call-overload]
        )
        bare = subprocess.Popen(
            [sys.executable, "-m", "tools.bench._bare_api", str(bare_port)],
            cwd=ROOT,
            **common,  # type: ignore[call-overload]
        )
        try:
            api_url, bare_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{bare_port}"
            _wait_up(api_url + "/v1/health", api)
            _wait_up(bare_url + "/bare/calls/x", bare)
            return _measure(api_url, bare_url, key, rate, count, quick)
        finally:
            _stop(api)
            _stop(bare)


def _measure(api_url: str, bare_url: str, key: str, rate: float, count: int, quick: bool) -> Report:
    auth = {"Authorization": f"Bearer {key}"}
    flow = httpx.post(
        api_url + "/v1/flows", json={"name": "bench", "xml": FLOW}, headers=auth, trust_env=False
    ).json()["id"]
    body = {"flow_id": flow, "to": "+15555550123", "caller_id": "+15555550100", "mode": "poll"}
    ids: list[str] = []

    def api_post(c: httpx.Client, i: int) -> None:
        r = c.post(api_url + "/v1/calls", json=body, headers=auth)
        assert r.status_code == 202, r.text
        ids.append(r.json()["id"])

    def bare_post(c: httpx.Client, i: int) -> None:
        assert c.post(bare_url + "/bare/calls", json=body).status_code == 202

    def api_get(c: httpx.Client, i: int) -> None:
        assert c.get(f"{api_url}/v1/calls/{ids[i % len(ids)]}", headers=auth).status_code == 200

    def bare_get(c: httpx.Client, i: int) -> None:
        assert c.get(f"{bare_url}/bare/calls/call_{i}").status_code == 200

    warm = max(20, count // 10)
    for send in (bare_post, api_post, bare_get, api_get):  # warm up connections and caches
        open_loop(send, rate, warm)
    series = {
        "bare POST": open_loop(bare_post, rate, count),
        "api POST /v1/calls (poll)": open_loop(api_post, rate, count),
        "bare GET": open_loop(bare_get, rate, count),
        "api GET /v1/calls/{id}": open_loop(api_get, rate, count),
    }
    figures: list[Figure] = []
    details: dict[str, Any] = {"rate_per_s": rate, "requests": count, "workers": WORKERS}
    for name, (lat, errors) in series.items():
        details[name] = {"p50_ms": percentile(lat, 50), "p99_ms": percentile(lat, 99)}
        details[name]["errors"] = errors
        for p in (50, 99):
            figures.append(Figure(f"{name} p{p}", percentile(lat, p), "ms"))
    for verb, api_name, bare_name in (
        ("POST", "api POST /v1/calls (poll)", "bare POST"),
        ("GET", "api GET /v1/calls/{id}", "bare GET"),
    ):
        for p in (50, 99):
            a, b = details[api_name][f"p{p}_ms"], details[bare_name][f"p{p}_ms"]
            ratio = a / b if a is not None and b else None
            judged = p == 50 and ratio is not None
            figures.append(
                Figure(
                    f"{verb} overhead p{p} (service / bare)",
                    ratio,
                    "x",
                    target=f"<= {GOAL:g}x" if judged else None,
                    met=(ratio <= GOAL) if judged and ratio is not None else None,
                )
            )
    return Report(
        "api",
        figures,
        command="python -m tools.bench api" + (" --quick" if quick else ""),
        details=details,
    )


def main(argv: Sequence[str] | None = None) -> int:
    return cli("api", run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
