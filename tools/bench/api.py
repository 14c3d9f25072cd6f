"""The service's overhead against a bare endpoint of the same framework, side by side in one run.

``python -m tools.bench api [--json] [--quick]`` starts ``dialplan serve`` (SQLite, simulated
calls) and a bare FastAPI app (``_bare_api.py``: same framework and server, a validated body, no
key, database or call) as two uvicorn processes on 127.0.0.1, and sends each the same open-loop
load at a fixed request rate: ``POST`` a single call in poll mode (``/v1/calls``: key check,
idempotency-free insert, the simulated call placed on the runner), ``GET`` its status
(``/v1/calls/{id}``) and ``GET /v2/calls/broadcasts/{id}/stats`` of two 1,000,000-recipient
broadcasts (one finished, one half-finished; 20,000 with ``--quick``), created through the API
and then seeded straight into the service's campaign store by :mod:`._stats_data` in a child
process under a memory cap (no calls are run: the rows a run would leave). Latency is counted
from each request's *scheduled* send time, so a server that falls behind is charged for the
queue (no coordinated omission). Goals: the service's p50 ≤ 2× the bare endpoint's; the stats
of the 1,000,000-recipient broadcast ≤ 50 ms (p50).
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
STATS_GOAL_MS = 50.0
WORKERS = 16
#: address space of the seeding child and of the servers (bytes)
MEMORY_CAP = 3_000_000_000


def _capped() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


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


def run(
    quick: bool = False,
    rate: float | None = None,
    count: int | None = None,
    recipients: int | None = None,
) -> Report:
    rate = rate or (60.0 if quick else 100.0)
    count = count or (60 if quick else 2000)
    recipients = recipients or (20_000 if quick else 1_000_000)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        db = Path(tmp) / "service.sqlite"
        from dialplan.service.keys import create_key
        from dialplan.service.storage import Database

        _, key = create_key(Database(db), "bench", ["write"])
        api_port, bare_port = free_tcp_port(), free_tcp_port()
        common = {
            "stdout": subprocess.DEVNULL,
            "stderr": subprocess.DEVNULL,
            "env": env,
            "preexec_fn": _capped,
        }
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
            stats = _seed_broadcasts(api_url, key, db, recipients, env)
            return _measure(api_url, bare_url, key, rate, count, quick, stats)
        finally:
            _stop(api)
            _stop(bare)


def _seed_broadcasts(
    api_url: str, key: str, db: Path, recipients: int, env: dict[str, str]
) -> dict[str, Any]:
    """Two call broadcasts created through the API (not started), then seeded with
    ``recipients`` each (finished, half-finished); returns their ids and the seeding times."""
    auth = {"Authorization": f"Bearer {key}"}
    store = db.with_suffix(".broadcasts") / "campaigns.sqlite"
    out: dict[str, Any] = {"recipients": recipients}
    for shape in ("finished", "half"):
        body = {
            "name": f"bench {shape}",
            "fromNumber": "+15555550100",
            "dialplanXml": FLOW,
            "recipients": [{"phoneNumber": "+15555550100"}],
        }
        r = httpx.post(
            api_url + "/v2/calls/broadcasts", json=body, headers=auth, trust_env=False, timeout=60
        )
        assert r.status_code == 200, r.text
        bid = r.json()["id"]
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "tools.bench._stats_data", str(store), f"broadcast-{bid}",
             str(recipients - 1), shape],
            cwd=ROOT, env=env, check=True, preexec_fn=_capped,
        )  # fmt: skip
        out[shape] = {"id": bid, "seed_s": round(time.perf_counter() - started, 1)}
        got = httpx.get(
            f"{api_url}/v2/calls/broadcasts/{bid}/stats", headers=auth, trust_env=False
        ).json()
        assert got["totalCount"] == recipients, got
        out[shape]["stats"] = got
    return out


def _measure(
    api_url: str,
    bare_url: str,
    key: str,
    rate: float,
    count: int,
    quick: bool,
    stats: dict[str, Any],
) -> Report:
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

    def stats_of(shape: str) -> Callable[[httpx.Client, int], None]:
        url = f"{api_url}/v2/calls/broadcasts/{stats[shape]['id']}/stats"

        def get(c: httpx.Client, i: int) -> None:
            assert c.get(url, headers=auth).status_code == 200

        return get

    def bare_stats(c: httpx.Client, i: int) -> None:
        assert c.get(f"{bare_url}/bare/stats/{i}").status_code == 200

    warm = max(20, count // 10)
    sends = (bare_post, api_post, bare_get, api_get, bare_stats, stats_of("finished"))
    for send in sends:  # warm up connections and caches
        open_loop(send, rate, warm)
    n = stats["recipients"]
    series = {
        "bare POST": open_loop(bare_post, rate, count),
        "api POST /v1/calls (poll)": open_loop(api_post, rate, count),
        "bare GET": open_loop(bare_get, rate, count),
        "api GET /v1/calls/{id}": open_loop(api_get, rate, count),
        "bare GET stats": open_loop(bare_stats, rate, count),
        f"api GET stats, {n:,} finished": open_loop(stats_of("finished"), rate, count),
        f"api GET stats, {n:,} half-finished": open_loop(stats_of("half"), rate, count),
    }
    figures: list[Figure] = []
    details: dict[str, Any] = {"rate_per_s": rate, "requests": count, "workers": WORKERS}
    details["broadcasts"] = stats
    for name, (lat, errors) in series.items():
        details[name] = {"p50_ms": percentile(lat, 50), "p99_ms": percentile(lat, 99)}
        details[name]["errors"] = errors
        for p in (50, 99):
            value = percentile(lat, p)
            judged = name.startswith("api GET stats") and p == 50 and value is not None
            figures.append(
                Figure(
                    f"{name} p{p}",
                    value,
                    "ms",
                    target=f"<= {STATS_GOAL_MS:g} ms" if judged else None,
                    met=(value <= STATS_GOAL_MS) if judged and value is not None else None,
                )
            )
    for verb, api_name, bare_name in (
        ("POST", "api POST /v1/calls (poll)", "bare POST"),
        ("GET", "api GET /v1/calls/{id}", "bare GET"),
        ("GET stats", f"api GET stats, {n:,} finished", "bare GET stats"),
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
