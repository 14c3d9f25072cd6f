"""Inbound benchmark: call setups per second and concurrent answered calls one process sustains.

    python -m tools.bench inbound [--json] [--quick]

The real :class:`~dialplan.inbound.server.InboundServer` (SQLite store included) runs in this
process on 127.0.0.1; SIPp is the caller (started and stopped by this script).

1. **setup rate**: ``calls`` calls at SIPp's ``-r`` rate, up to 100 in flight, to a number
   whose dialplan hangs up at once (INVITE → 100/180/200 → ACK → our BYE, each call stored
   twice); figure: calls answered per second over the run.
2. **concurrency**: ``concurrent`` calls ramped at ``rate``/s to a number whose dialplan
   plays a TTS prompt in a loop; once all are up, the send lateness of every RTP packet is
   measured for ``hold_s`` seconds (target p99 ≤ 5 ms, normal scheduling), then SIPp hangs up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dialplan.drivers.sip.rtp import LatenessStats, Pacer
from dialplan.inbound.numbers import load_numbers
from dialplan.inbound.server import InboundServer
from dialplan.inbound.store import InboundStore
from tools.bench.common import Figure, Report, peak_rss_mb
from tools.bench.sip import stream_figures
from tools.sip_peers import Sipp, sipp_uac_scenario

QUICK = {"calls": 200, "rate_setup": 200, "concurrent": 50, "rate": 50.0, "hold_s": 2.0}
FULL = {"calls": 2000, "rate_setup": 400, "concurrent": 500, "rate": 100.0, "hold_s": 10.0}
PROMPT = (
    "Thank you for calling Springfield Pharmacy. For refills press one, for opening hours "
    "press two, to speak with a pharmacist press zero."
)


def _numbers(directory: Path) -> Path:
    (directory / "bye.xml").write_text("<dialplan><hangup/></dialplan>\n")
    (directory / "loop.xml").write_text(
        f'<dialplan><play name="p" type="tts">{PROMPT}</play><goto>p</goto></dialplan>\n'
    )
    path = directory / "numbers.toml"
    path.write_text(
        f'[sip]\nprompt_cache_dir = "{directory / "prompts"}"\nrtp_timeout_s = 3600\n'
        '[numbers."15550000001"]\ndialplan = "bye.xml"\nmax_concurrent = 100000\n'
        '[numbers."15550000002"]\ndialplan = "loop.xml"\nmax_concurrent = 100000\n'
    )
    return path


async def _measure(directory: Path, sizes: dict[str, float]) -> dict[str, Any]:
    store = InboundStore(directory / "bench.sqlite")
    server = InboundServer(load_numbers(_numbers(directory)), store, local_port=0)
    await server.start()
    hostport = f"127.0.0.1:{server.address[1]}"
    await server.driver.prompts.tts(PROMPT)  # synthesised once, before the clock starts
    out: dict[str, Any] = {}
    try:
        calls = int(sizes["calls"])
        scenario = directory / "setup.xml"
        scenario.write_text(sipp_uac_scenario(hangup="callee"))
        peer = Sipp(
            scenario,
            directory / "setup",
            remote=hostport,
            max_calls=calls,
            timeout_s=600,
            media=False,
            extra=["-s", "15550000001", "-r", str(int(sizes["rate_setup"])), "-l", "100"],
        )
        started = time.perf_counter()
        peer.start()
        while server.stats.finished < calls and peer.proc is not None and peer.proc.poll() is None:
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        peer.stop()
        out["setup"] = {
            "calls": calls,
            "answered": server.stats.answered,
            "elapsed_s": round(elapsed, 2),
            "setups_per_s": round(server.stats.answered / elapsed, 1),
            "sipp_rate": int(sizes["rate_setup"]),
        }
        count, rate, hold_s = int(sizes["concurrent"]), sizes["rate"], sizes["hold_s"]
        ramp_s = count / rate
        scenario = directory / "hold.xml"
        scenario.write_text(
            sipp_uac_scenario(hangup="caller", hold_ms=int((ramp_s + hold_s + 3) * 1000))
        )
        before = server.stats.answered
        peer = Sipp(
            scenario,
            directory / "hold",
            remote=hostport,
            max_calls=count,
            timeout_s=600,
            media=False,
            extra=["-s", "15550000002", "-r", f"{rate:g}", "-l", str(count)],
        )
        pacer = Pacer.for_loop()
        peer.start()
        deadline = time.monotonic() + ramp_s + 20
        while server.stats.answered - before < count and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        up = server.stats.answered - before
        pacer.stats = LatenessStats()
        cpu0 = time.process_time()
        await asyncio.sleep(hold_s)
        cpu = time.process_time() - cpu0
        steady = pacer.stats
        pacer.stats = None
        out["concurrency"] = {
            "requested": count,
            "up": up,
            "streams_on_clock": pacer.streams,
            "hold_s": hold_s,
            "packets_per_s": round(len(steady.samples) / hold_s),
            "expected_packets_per_s": up * 50,
            "lateness_p50_ms": round(steady.percentile(50) * 1000, 3),
            "lateness_p99_ms": round(steady.percentile(99) * 1000, 3),
            "lateness_max_ms": round(max(steady.samples, default=0.0) * 1000, 3),
            "cpu_share_of_one_core": round(cpu / hold_s, 3),
        }
        peer.wait(30)
        peer.stop()
    finally:
        await server.close()
        store.close()
    return out


def run(quick: bool = False, **given: float | None) -> Report:
    """The two runs, ``QUICK`` or ``FULL`` sizes unless given (``calls``, ``rate_setup``,
    ``concurrent``, ``rate``, ``hold_s``)."""
    sizes = dict(QUICK if quick else FULL)
    sizes.update({k: float(v) for k, v in given.items() if v is not None})
    command = "python -m tools.bench inbound" + (" --quick" if quick else "")
    if os.sched_getscheduler(0) == os.SCHED_RR:
        command += " --realtime"
    command += "".join(f" --{k.replace('_', '-')} {v:g}" for k, v in given.items() if v is not None)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    raw: dict[str, Any] = {
        "sizes": sizes,
        "scheduler": "SCHED_RR" if os.sched_getscheduler(0) == os.SCHED_RR else "normal",
    }
    missing = [t for t in ("sipp", "espeak-ng", "sox") if shutil.which(t) is None]
    if missing:
        note = f"missing: {', '.join(missing)}"
        figures = [Figure("inbound call setups per second", None, "calls/s", note=note)]
        return Report("inbound", figures, command=command, details={**raw, "skipped": note})
    with tempfile.TemporaryDirectory() as tmp:
        raw.update(asyncio.run(_measure(Path(tmp), sizes)))
    raw["peak_rss_mb"] = round(peak_rss_mb(), 1)
    s, c = raw["setup"], raw["concurrency"]
    figures = [
        Figure(
            "inbound call setups per second (SIPp caller)",
            s["setups_per_s"],
            "calls/s",
            note=f"{s['answered']}/{s['calls']} answered and stored, SIPp -r {s['sipp_rate']}",
        ),
        Figure(
            "concurrent inbound calls up",
            c["up"],
            "calls",
            f">= {c['requested']}",
            c["up"] >= c["requested"],
        ),
        *stream_figures(c, raw),
        Figure("peak RSS", raw["peak_rss_mb"], "MiB"),
    ]
    return Report("inbound", figures, command=command, details=raw)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench inbound", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--quick", action="store_true", help="small run (smoke test)")
    parser.add_argument("--calls", type=int, help="calls of the setup-rate run (2000)")
    parser.add_argument("--rate-setup", type=float, help="SIPp calls/s of that run (400)")
    parser.add_argument("--concurrent", type=int, help="concurrent calls (500)")
    parser.add_argument("--rate", type=float, help="ramp-up calls per second (100)")
    parser.add_argument("--hold-s", type=float, help="seconds measured at full load (10)")
    parser.add_argument(
        "--realtime", action="store_true", help="run with SCHED_RR real-time priority (root)"
    )
    args = parser.parse_args(argv)
    if args.realtime:
        try:
            os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(10))
        except (AttributeError, PermissionError, OSError) as exc:
            print(f"--realtime: cannot set SCHED_RR: {exc}", file=sys.stderr)
    report = run(
        args.quick,
        calls=args.calls,
        rate_setup=args.rate_setup,
        concurrent=args.concurrent,
        rate=args.rate,
        hold_s=args.hold_s,
    )
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.table())
    return 0
