"""Benchmark: text campaigns — 1,000,000 texts in virtual time, and submits/s to a real SMSC.

    python -m tools.bench sms [--json] [--quick]

1. A text campaign of N recipients (a ``${contact.first}`` message, some recipients with a long
   own message in UCS-2, 1 % duplicates, retries of temporary submit errors) runs end to end in
   virtual time with the simulated messaging driver, in a child process under a 2 GB address
   space cap: wall time, CPU, peak RSS (flat from 10^5 to 10^6?). Goal: 1,000,000 in ≤ 60 s.
2. The SMPP driver against the loopback SMSC (``tools/smsc_peer.py``, smpp34's server) on the
   real clock: submits per second with window 1 and a wider window, and with the SMSC limiting
   itself (it answers ``ESME_RTHROTTLED`` above its rate) to show the campaign settles at it.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script (also the --child): make "tools" importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.bench.common import Figure, Report

TARGET_N = 1_000_000
TARGET_WALL_S = 60.0
TARGET_RSS_MB = 300.0
MEMORY_CAP = 2_000_000_000
NAMES = ["Ann", "Bob", "Cy", "Di", "Ed", "Flo", "Gus", "Hal", "Ivy", "Jo"]
LONG = "Zażółć gęślą jaźń — dziękujemy za zamówienie, odbiór jutro od 9:00 😀 " * 2


def write_inputs(tmp: Path, n: int) -> Path:
    rng = random.Random(7)
    with (tmp / "recipients.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["phone_number", "first", "message"])
        for i in range(n):
            phone = f"+1212{200 + (i // 10000) % 800:03d}{i % 10000:04d}"
            if rng.random() < 0.01:
                phone = f"+1212{200 + ((i - 1) // 10000) % 800:03d}{(i - 1) % 10000:04d}"
            w.writerow([phone, NAMES[i % 10], LONG if i % 50 == 0 else ""])
    (tmp / "campaign.toml").write_text(
        'name = "sms-bench"\nchannel = "sms"\nrecipients = "recipients.csv"\n'
        'from_number = "+12125550100"\nmax_active = 100\nmessages_per_second = 100\n'
        'message = "Hi ${contact.first}, your order is ready for pickup. Reply STOP to opt out."\n'
        "[retry_config]\nmax_attempts = 2\nminutes_between_attempts = 10\n"
        '[simulation]\nseed = 1\nstart = "2026-12-01T12:00:00Z"\n'
    )
    return tmp / "campaign.toml"


def child(campaign_path: str, db: str) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    from dialplan.broadcast.campaign import load_campaign
    from dialplan.broadcast.reporting.stats import campaign_stats
    from dialplan.broadcast.service import run_campaign
    from dialplan.broadcast.store.sqlite import Store

    campaign = load_campaign(campaign_path)
    t0 = time.perf_counter()
    run_campaign(campaign, db, deliver=False)
    elapsed = time.perf_counter() - t0
    store = Store(db)
    stats = campaign_stats(store, "sms-bench")
    store.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "elapsed_s": round(elapsed, 2),
                "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
                "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
                "texts": stats["totalOutboundCount"],
                "segments": stats["segmentsCount"],
                "total": stats["totalCount"],
            }
        )
    )


def measure(n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="dialplan-bench-sms-") as tmp_s:
        tmp = Path(tmp_s)
        campaign = write_inputs(tmp, n)
        root = Path(__file__).resolve().parents[2]
        env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(campaign), str(tmp / "db.sqlite")],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if out.returncode != 0:
            raise SystemExit(f"benchmark child failed:\n{out.stderr}")
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        result["recipients"] = n
        return result


def smpp_rate(texts: int, window: int, smsc_limit: float) -> dict[str, Any]:
    """Submit ``texts`` one-segment texts through the SMPP driver (``window`` in flight) to the
    loopback SMSC (limiting itself to ``smsc_limit``/s, 0: no limit): submits per second."""
    from dialplan.messaging.encoding import segment
    from dialplan.messaging.port import OutboundText
    from dialplan.messaging.smpp import SmppMessaging
    from dialplan.messaging.smpp_config import SmppConfig
    from tools.smsc_peer import LoopbackSmsc

    async def go(smsc: LoopbackSmsc) -> tuple[float, int]:
        port = SmppMessaging(
            SmppConfig(port=smsc.port, system_id="bench", window=window, receipt_wait_s=0.0,
                       throttle_wait_s=0.01, throttle_retries=1000)
        )  # fmt: skip
        await port.open()
        body = segment("Hi, your order is ready for pickup.")
        queue = list(range(texts))

        async def worker() -> None:
            while queue:
                i = queue.pop()
                msg = OutboundText(i, 1, f"+1212555{i % 10000:04d}", "+12125550100", body)
                await port.send(msg, 0.0)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(window)))
        elapsed = time.perf_counter() - t0
        await port.close()
        return elapsed, port.counters.throttled

    with LoopbackSmsc(max_per_s=smsc_limit, receipts=False) as smsc:
        elapsed, throttled = asyncio.run(go(smsc))
        accepted = len(smsc.segs)
    return {
        "texts": texts,
        "window": window,
        "smsc_limit": smsc_limit,
        "accepted": accepted,
        "submits_per_s": round(accepted / elapsed, 1),
        "throttled": throttled,
    }


def run(quick: bool = False) -> Report:
    sizes = [20_000] if quick else [100_000, TARGET_N]
    results = [measure(n) for n in sizes]
    big = results[-1]
    full = big["recipients"] >= TARGET_N
    rate_target = TARGET_N / TARGET_WALL_S
    figures = [Figure(f"{r['recipients']:,} texts: wall", r["elapsed_s"], "s",
                      note=f"CPU {r['cpu_s']:.1f} s, {r['segments']:,} segments")
               for r in results]  # fmt: skip
    wall_rate = big["recipients"] / big["elapsed_s"]
    if full:
        figures.append(Figure(f"{TARGET_N:,} texts in virtual time", big["elapsed_s"], "s",
                              f"<= {TARGET_WALL_S:g} s", big["elapsed_s"] <= TARGET_WALL_S))  # fmt: skip
    figures.append(Figure("texts per second (wall)", wall_rate, "texts/s", f">= {rate_target:,.0f}/s",
                          wall_rate >= rate_target))  # fmt: skip
    figures.append(Figure("peak RSS", big["peak_rss_mb"], "MB", f"<= {TARGET_RSS_MB:g} MB",
                          big["peak_rss_mb"] <= TARGET_RSS_MB))  # fmt: skip
    if len(results) > 1:
        figures.append(Figure("peak RSS growth 10^5 -> 10^6",
                              big["peak_rss_mb"] / results[0]["peak_rss_mb"], "x"))  # fmt: skip
    n = 500 if quick else 5000
    smpp = [smpp_rate(n, 1, 0), smpp_rate(n, 10, 0), smpp_rate(n, 10, 200 if quick else 1000)]
    for s in smpp:
        limit = f"SMSC limit {s['smsc_limit']:g}/s" if s["smsc_limit"] else "SMSC unlimited"
        figures.append(Figure(f"SMPP submits/s, window {s['window']}, {limit}", s["submits_per_s"],
                              "submits/s", note=f"{s['throttled']} throttled answers retried"))  # fmt: skip
    return Report(
        "sms",
        figures,
        command=f"python -m tools.bench sms{' --quick' if quick else ''}",
        details={"campaigns": results, "smpp": smpp},
    )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        child(argv[1], argv[2])
        return 0
    from tools.bench.common import cli

    return cli("sms", run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
