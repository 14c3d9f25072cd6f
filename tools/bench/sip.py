"""SIP benchmark: call setups per second and concurrent RTP streams from one process.

    python -m tools.bench.sip [--json] [--quick] [--calls N] [--concurrent N] [--hold S]

Against a local SIPp UAS on 127.0.0.1 (started and stopped by this script):

1. **setup rate**: ``--calls`` calls with up to 100 in flight, each INVITE → 200 → ACK → BYE
   (then RTP until the BYE), through the same :class:`~dialplan.drivers.sip.ua.SipEndpoint` the driver uses;
   figure: answered calls per second, setup latency p50/p99.
2. **concurrency**: ``--concurrent`` calls ramped up at ``--rate`` calls/s, each streaming a
   PCMU prompt (espeak-ng speech when available, else a tone) on the shared absolute 20 ms
   clock; once all are up, the send lateness of every RTP packet (send time − due time) is
   measured for ``--hold`` seconds. Targets: ≥ 500 concurrent with p99 lateness ≤ 5 ms, and
   ≥ 100 call setups per second.
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

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dialplan.drivers.sip.codec import tone  # noqa: E402
from dialplan.drivers.sip.rtp import LatenessStats, Pacer  # noqa: E402
from dialplan.drivers.sip.ua import Call, SipConfig, SipEndpoint  # noqa: E402
from tools.bench.common import Figure, Report, peak_rss_mb  # noqa: E402
from tools.sip_peers import Sipp, sipp_uas_scenario  # noqa: E402

TARGET_CONCURRENT = 500
TARGET_P99_MS = 5.0
TARGET_CPS = 100.0
IN_FLIGHT = 100  # call setups in flight in the setup-rate run


def _pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def setup_rate(uri: str, calls: int, in_flight: int) -> dict[str, Any]:
    ep = await SipEndpoint.create(SipConfig())
    gate = asyncio.Semaphore(in_flight)
    latencies: list[float] = []
    failures = 0

    async def one() -> None:
        nonlocal failures
        async with gate:
            call = ep.call(uri)
            t = time.perf_counter()
            if await call.invite(10):
                latencies.append(time.perf_counter() - t)
                await call.bye(wait=True)
            else:
                failures += 1

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(calls)))
    elapsed = time.perf_counter() - started
    ep.close()
    return {
        "calls": calls,
        "answered": len(latencies),
        "failed": failures,
        "elapsed_s": round(elapsed, 3),
        "setups_per_s": round(len(latencies) / elapsed, 1),
        "setup_p50_ms": round(_pct(latencies, 50) * 1000, 2),
        "setup_p99_ms": round(_pct(latencies, 99) * 1000, 2),
    }


async def prompt_audio() -> bytes:
    """About 5 s of speech (espeak-ng + sox) or, without them, a 5 s tone."""
    if shutil.which("espeak-ng") and shutil.which("sox"):
        from dialplan.drivers.sip.tts import PromptCache

        cache = PromptCache(Path(tempfile.gettempdir()) / "dialplan-bench-prompts")
        return await cache.tts(
            "Hello, this is a reminder about your appointment tomorrow morning at nine. "
            "Press one to confirm or two to talk to us."
        )
    return tone(440, 5000)


async def concurrency(uri: str, count: int, rate: float, hold_s: float) -> dict[str, Any]:
    ep = await SipEndpoint.create(SipConfig(rtp_timeout_s=3600))
    audio = await prompt_audio()
    calls: list[Call] = []
    failures = 0

    def loop_prompt(call: Call) -> None:
        if call.rtp is not None and call.state == "confirmed":
            call.rtp.play(audio, lambda: loop_prompt(call))

    async def one() -> None:
        nonlocal failures
        call = ep.call(uri)
        if await call.invite(10):
            loop_prompt(call)
            calls.append(call)
        else:
            failures += 1

    pacer = Pacer.for_loop()
    pacer.stats = LatenessStats()
    ramp_started = time.perf_counter()
    tasks = []
    for i in range(count):
        due = ramp_started + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one()))
    await asyncio.gather(*tasks)
    ramp_s = time.perf_counter() - ramp_started
    ramp_stats = pacer.stats.reset()
    cpu0 = time.process_time()
    await asyncio.sleep(hold_s)
    cpu = time.process_time() - cpu0
    steady = pacer.stats
    sent = sum(c.rtp.packets_sent for c in calls if c.rtp is not None)
    active = pacer.streams
    for call in calls:
        await call.bye()
    await ep.drain(5.0)
    ep.close()
    return {
        "requested": count,
        "up": len(calls),
        "failed": failures,
        "ramp_rate_per_s": rate,
        "ramp_s": round(ramp_s, 2),
        "streams_on_clock": active,
        "hold_s": hold_s,
        "packets_measured": len(steady.samples),
        "packets_per_s": round(len(steady.samples) / hold_s),
        "expected_packets_per_s": len(calls) * 50,
        "lateness_p50_ms": round(steady.percentile(50) * 1000, 3),
        "lateness_p99_ms": round(steady.percentile(99) * 1000, 3),
        "lateness_max_ms": round(max(steady.samples, default=0.0) * 1000, 3),
        "ramp_lateness_p99_ms": round(ramp_stats.percentile(99) * 1000, 3),
        "cpu_share_of_one_core": round(cpu / hold_s, 3),
        "packets_sent_total": sent,
    }


def measure(calls: int, concurrent: int, rate: float, hold_s: float) -> dict[str, Any]:
    """Both runs against SIPp; the raw figures (``skipped`` when SIPp is not installed)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    report: dict[str, Any] = {
        "scheduler": "SCHED_RR" if os.sched_getscheduler(0) == os.SCHED_RR else "normal",
        "peer": "SIPp UAS on 127.0.0.1",
        "targets": {
            "concurrent": TARGET_CONCURRENT,
            "p99_lateness_ms": TARGET_P99_MS,
            "setups_per_s": TARGET_CPS,
        },
    }
    if shutil.which("sipp") is None:
        report["skipped"] = "sipp is not installed (apt-get install sip-tester)"
        return report
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        scenario = directory / "uas.xml"
        scenario.write_text(sipp_uas_scenario(200))
        peer = Sipp(scenario, directory / "a", max_calls=calls, timeout_s=600).start()
        try:
            report["setup"] = asyncio.run(setup_rate(peer.uri(), calls, IN_FLIGHT))
        finally:
            peer.stop()
        peer = Sipp(scenario, directory / "b", max_calls=concurrent, timeout_s=600).start()
        try:
            report["concurrency"] = asyncio.run(concurrency(peer.uri(), concurrent, rate, hold_s))
        finally:
            peer.stop()
    report["peak_rss_mb"] = round(peak_rss_mb(), 1)
    return report


QUICK = {"calls": 200, "concurrent": 50, "rate": 100.0, "hold_s": 1.0}
FULL = {"calls": 2000, "concurrent": 500, "rate": 100.0, "hold_s": 10.0}


def run(
    quick: bool = False,
    calls: int | None = None,
    concurrent: int | None = None,
    rate: float | None = None,
    hold_s: float | None = None,
) -> Report:
    """The setup-rate and concurrency runs (``QUICK`` or ``FULL`` sizes unless given).

    Headline figures: call setups/s (≥ 100), concurrent calls up (≥ 500; a quick run asks for
    50, so it is judged on what it asked for and says so), RTP send lateness p99 (≤ 5 ms). The peer
    is SIPp: it answers every call, and the setups/s is the rate the pair reaches together.
    """
    sizes = dict(QUICK if quick else FULL)
    given = {"calls": calls, "concurrent": concurrent, "rate": rate, "hold_s": hold_s}
    sizes.update({k: v for k, v in given.items() if v is not None})
    raw = measure(int(sizes["calls"]), int(sizes["concurrent"]), sizes["rate"], sizes["hold_s"])
    raw["sizes"] = sizes
    flag = " --quick" if quick else ""
    flag += "".join(
        f" --{'hold' if k == 'hold_s' else k} {v:g}" for k, v in given.items() if v is not None
    )
    realtime = " --realtime" if raw["scheduler"] == "SCHED_RR" else ""
    command = f"python -m tools.bench sip{realtime}{flag}"
    if "skipped" in raw:
        note = raw["skipped"]
        figures = [
            Figure("call setups per second", None, "calls/s", note=note),
            Figure("concurrent calls up", None, "calls", note=note),
            Figure("RTP send lateness p99", None, "ms", note=note),
        ]
        return Report("sip", figures, command=command, details=raw)
    s, c = raw["setup"], raw["concurrency"]
    wanted = min(TARGET_CONCURRENT, c["requested"])
    figures = [
        Figure(
            "call setups per second (vs SIPp UAS)",
            s["setups_per_s"],
            "calls/s",
            f">= {TARGET_CPS:g}/s",
            s["setups_per_s"] >= TARGET_CPS and s["failed"] == 0,
            note=f"{s['answered']}/{s['calls']} answered, {IN_FLIGHT} in flight",
        ),
        Figure(
            "setup latency p99", s["setup_p99_ms"], "ms", note=f"p50 {s['setup_p50_ms']:.1f} ms"
        ),
        Figure(
            "concurrent calls up",
            c["up"],
            "calls",
            f">= {wanted}" + ("" if wanted == TARGET_CONCURRENT else " (quick; full: 500)"),
            c["up"] >= wanted,
            note=f"of {c['requested']} requested",
        ),
        *stream_figures(c, raw),
        Figure("peak RSS", raw["peak_rss_mb"], "MiB"),
    ]
    return Report("sip", figures, command=command, details=raw)


def table(report: Report) -> str:
    raw = report.details
    if "skipped" in raw:
        return f"sip benchmark skipped: {raw['skipped']}"
    s, c, m = raw["setup"], raw["concurrency"], report.machine
    load = m["load_average"][0] if m.get("load_average") else 0.0
    return "\n".join(
        [
            f"sip benchmark (Python {m['python']}, {m['cpus']} CPUs, load {load:.1f}, "
            f"{raw['scheduler']} scheduling), one process vs SIPp (peer) on 127.0.0.1",
            f"{'figure':<42} {'value':>12}  target",
            f"{'call setups per second':<42} {s['setups_per_s']:>12,.1f}  >= {TARGET_CPS:g}",
            f"{'setup latency p50 / p99 (ms)':<42} {s['setup_p50_ms']:>5.1f} / {s['setup_p99_ms']:<5.1f}",
            f"{'concurrent calls up (of requested)':<42} {c['up']:>6} / {c['requested']:<5}  >= {TARGET_CONCURRENT}",
            f"{'RTP packets/s sent (expected)':<42} {c['packets_per_s']:>6} / {c['expected_packets_per_s']:<5}",
            f"{'RTP send lateness p50 (ms)':<42} {c['lateness_p50_ms']:>12.2f}",
            f"{'RTP send lateness p99 (ms)':<42} {c['lateness_p99_ms']:>12.2f}  <= {TARGET_P99_MS:g}",
            f"{'RTP send lateness max (ms)':<42} {c['lateness_max_ms']:>12.2f}",
            f"{'lateness p99 during the ramp (ms)':<42} {c['ramp_lateness_p99_ms']:>12.2f}",
            f"{'CPU (share of one core) while streaming':<42} {c['cpu_share_of_one_core']:>12.2f}",
            f"targets met: {'yes' if report.targets_met else 'NO'}"
            + ("" if c["requested"] >= TARGET_CONCURRENT else " (quick run: fewer calls)"),
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench sip", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--quick", action="store_true", help="small run (smoke test)")
    parser.add_argument("--calls", type=int, help="calls for the setup-rate run (2000)")
    parser.add_argument("--concurrent", type=int, help="concurrent calls (500)")
    parser.add_argument("--rate", type=float, help="ramp-up calls per second (100)")
    parser.add_argument("--hold", type=float, help="seconds measured at full load (10)")
    parser.add_argument(
        "--realtime",
        action="store_true",
        help="run with SCHED_RR real-time priority (as `asterisk -p` does; needs root)",
    )
    args = parser.parse_args(argv)
    if args.realtime:
        try:
            os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(10))
        except (AttributeError, PermissionError, OSError) as exc:
            print(f"--realtime: cannot set SCHED_RR: {exc}", file=sys.stderr)
    report = run(args.quick, args.calls, args.concurrent, args.rate, args.hold)
    print(json.dumps(report.to_dict(), indent=2) if args.json else table(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def stream_figures(c: dict[str, Any], raw: dict[str, Any]) -> list[Figure]:
    """The RTP figures of a streaming run (``c``: its counts; ``raw``: the report's details),
    shared by the outbound and the inbound benchmark: send lateness, packet rate, CPU."""
    return [
        Figure(
            "RTP send lateness p99",
            c["lateness_p99_ms"],
            "ms",
            f"<= {TARGET_P99_MS:g} ms",
            c["lateness_p99_ms"] <= TARGET_P99_MS,
            note=f"{c['up']} streams, {raw['scheduler']} scheduling, hold {c['hold_s']:g} s",
        ),
        Figure("RTP send lateness p50", c["lateness_p50_ms"], "ms"),
        Figure("RTP send lateness max", c["lateness_max_ms"], "ms"),
        Figure(
            "RTP packets/s sent / expected",
            c["packets_per_s"] / c["expected_packets_per_s"]
            if c["expected_packets_per_s"]
            else None,
            "x",
            note=f"{c['packets_per_s']} of {c['expected_packets_per_s']}",
        ),
        Figure("CPU while streaming (share of one core)", c["cpu_share_of_one_core"], "core"),
    ]
