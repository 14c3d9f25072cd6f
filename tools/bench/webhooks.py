"""Webhooks and reports: event body building + signing, delivery throughput to a loopback
receiver, and HTML report rendering.

``python -m tools.bench webhooks [--json] [--quick]`` (2,000 events, 300 with ``--quick``). The
receiver listens on 127.0.0.1 only. No targets: figures for capacity planning.
"""

from __future__ import annotations

import http.server
import random
import threading
import time
from collections.abc import Sequence
from typing import Any

from .common import Figure, Report, cli, ensure_root_on_path

ensure_root_on_path()

from dialplan.broadcast import webhooks as wh  # noqa: E402
from dialplan.broadcast.reporting.report import ReportData, render_report  # noqa: E402
from dialplan.broadcast.webhooks.memory_outbox import MemoryOutbox  # noqa: E402


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def bench_delivery(n: int) -> list[Figure]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    outbox = MemoryOutbox()
    t0 = time.perf_counter()
    for i in range(n):
        event_id = wh.stable_event_id("bench", i, "disconnected")
        body = wh.disconnected(
            event_id=event_id,
            broadcast_id="bench",
            voice_id=f"v{i}",
            to="12135550000",
            timestamp=time.time(),
            call_duration=12.5,
            disconnect_reason="Normal Clearing",
            disconnect_cause_code=16,
            custom_data={"i": i},
        )
        outbox.add(event_id, url, body, time.time())
    built = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = wh.deliver_pending(outbox, "bench-secret", allow_private=True, max_wait_s=120)
    took = time.perf_counter() - t0
    server.shutdown()
    return [
        Figure("build + sign event bodies", n / built, "events/s"),
        Figure(
            "loopback delivery (keep-alive, one connection)",
            report.delivered / took,
            "events/s",
            note=f"{report.delivered} delivered, {report.pending} pending",
        ),
    ]


def bench_report() -> list[Figure]:
    rng = random.Random(1)
    codes = ["LA", "AM", "XFER", "BUSY", "NO_ANS", "DNC", "INVALID", "CARRIER_ERROR"]
    timeline = [
        (f"2026-11-30T{h // 4:02d}:{15 * (h % 4):02d}:00Z", {c: rng.randint(0, 200) for c in codes})
        for h in range(96)
    ]
    answers = {
        f"question_{q}": {f"answer {a}": rng.randint(1, 500) for a in range(6)} for q in range(20)
    }
    data = ReportData(
        campaign_name="Benchmark",
        generated_at="now",
        stats={"totalCount": 100_000},
        results={c: rng.randint(1, 10_000) for c in codes},
        answers=answers,
        timeline=timeline,
        rows=[{"n": i, "result": "LA"} for i in range(50)],
    )
    render_report(data)  # compile the template once
    t0 = time.perf_counter()
    html = render_report(data)
    took = time.perf_counter() - t0
    return [
        Figure(
            "HTML report (96 buckets, 20 questions, 50 rows)",
            took * 1000,
            "ms",
            note=f"{len(html) / 1024:.0f} KiB",
        )
    ]


def run(quick: bool = False) -> Report:
    events = 300 if quick else 2000
    return Report(
        "webhooks",
        bench_delivery(events) + bench_report(),
        command="python -m tools.bench webhooks" + (" --quick" if quick else ""),
        details={"events": events},
    )


def main(argv: Sequence[str] | None = None) -> int:
    return cli("webhooks", run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
