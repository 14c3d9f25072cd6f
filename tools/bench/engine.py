"""Engine benchmark: complete simulated calls per second per core.

    python -m tools.bench.engine [--json] [--quick]

Each row runs whole calls through ``dialplan.simulate`` (engine + simulated driver, virtual
clock) and divides the number of calls by the CPU time of this process (``time.process_time``),
so the figure is per core and less sensitive to other load on the machine than wall time
(wall-clock calls/s are printed too). The headline row is PoliticalSurvey.xml, live, three
answers (target: 20,000 calls/s per core).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import dialplan  # noqa: E402
from dialplan.drivers.simulate import simulate  # noqa: E402
from tools.bench.common import Figure, Report  # noqa: E402


def _find_shared() -> Path:
    """``$DIALPLAN_SHARED``, else the nearest ``shared/`` beside the checkout or above it."""
    if os.environ.get("DIALPLAN_SHARED"):
        return Path(os.environ["DIALPLAN_SHARED"])
    for folder in ROOT.parents:
        if (folder / "shared" / "corpus").is_dir():
            return folder / "shared"
    return ROOT.parent / "shared"


CORPUS = _find_shared() / "corpus"
TARGET = 20_000

#: (label, corpus path, options); the first row is the headline figure
SCENARIOS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "PoliticalSurvey live, three answers",
        "callfire-ivr-samples/Polls and Surveys/PoliticalSurvey.xml",
        {"amd": "live", "inputs": ["1", "5", "3"]},
    ),
    (
        "PoliticalSurvey machine",
        "callfire-ivr-samples/Polls and Surveys/PoliticalSurvey.xml",
        {"amd": "machine"},
    ),
    (
        "charity seed live, 1 -> transfer",
        "seeds/nonprofit-charity-ivr.xml",
        {"amd": "live", "inputs": ["1"], "contact": {"firstName": "Ann"}},
    ),
    (
        "TimeoutCounter three silences (JS counter)",
        "callfire-ivr-samples/Utilities/TimeoutCounter.xml",
        {},
    ),
    (
        "SendSMS (JS split/join, SMS)",
        "callfire-ivr-samples/Utilities/SendSMS.xml",
        {"inputs": ["5551234567#", "1"]},
    ),
]


def measure(plan: dialplan.Plan, options: dict[str, Any], seconds: float) -> dict[str, float]:
    """Run calls for about ``seconds`` of CPU time; calls/s by CPU time and by wall time."""
    simulate(plan, **options)  # warm-up: compiled program, caches
    calls = 0
    batch = 50
    cpu0, wall0 = time.process_time(), time.perf_counter()
    while True:
        for _ in range(batch):
            simulate(plan, **options)
        calls += batch
        cpu = time.process_time() - cpu0
        if cpu >= seconds:
            break
    wall = time.perf_counter() - wall0
    return {
        "calls": calls,
        "cpu_s": cpu,
        "calls_per_s_cpu": calls / cpu,
        "calls_per_s_wall": calls / wall,
        "us_per_call": 1e6 * cpu / calls,
    }


def calibration() -> float:
    """Microseconds for 1000 calls of an empty Python function: how fast this machine is now
    (about 30-40 µs on a quiet current laptop core), to compare figures between machines."""
    import timeit

    def f(x: int) -> int:
        return x

    timer = timeit.Timer("for i in range(1000): f(i)", globals={"f": f})
    return 1e6 * min(timer.repeat(repeat=5, number=200)) / 200


def run(quick: bool = False, seconds: float | None = None) -> Report:
    """Every scenario for about ``seconds`` of CPU time (0.5 s with ``quick``, else 3 s)."""
    seconds = seconds or (0.5 if quick else 3.0)
    rows: list[dict[str, Any]] = []
    for label, relative, options in SCENARIOS:
        path = CORPUS / relative
        if not path.is_file():
            rows.append({"scenario": label, "skipped": f"{relative} not found under {CORPUS}"})
            continue
        plan = dialplan.load(path)
        result = simulate(plan, **options)
        measured = measure(plan, options, seconds)
        rows.append(
            {
                "scenario": label,
                "outcome": result.outcome,
                "steps": result.steps,
                "effects": len(result.effects),
                **{k: round(v, 1) for k, v in measured.items()},
            }
        )
    calib = round(calibration(), 1)
    headline = rows[0].get("calls_per_s_cpu")
    figures: list[Figure] = [
        Figure(
            f"{rows[0]['scenario']} (headline)",
            headline,
            "calls/s/core",
            f">= {TARGET:,} calls/s/core",
            bool(headline and headline >= TARGET),
            note=rows[0].get(
                "skipped", f"CPU time; wall {rows[0].get('calls_per_s_wall', 0):,.0f}/s"
            ),
        )
    ]
    for row in rows[1:]:
        figures.append(
            Figure(
                row["scenario"],
                row.get("calls_per_s_cpu"),
                "calls/s/core",
                note=row.get("skipped", f"{row.get('us_per_call', 0):.1f} us/call"),
            )
        )
    # peer line: how fast this machine runs plain Python right now, and the headline call
    # expressed in units of it (machine-independent-ish: empty calls per simulated call)
    figures.append(Figure("calibration: 1000 empty Python calls", calib, "us"))
    if headline:
        us_per_call = 1e6 / headline
        figures.append(
            Figure(
                "headline call / 1000 empty Python calls",
                us_per_call / calib if calib else None,
                "x",
                note=f"{us_per_call:.1f} us per simulated call",
            )
        )
    return Report(
        "engine",
        figures,
        command="python -m tools.bench engine" + (" --quick" if quick else ""),
        details={
            "cpu_seconds_per_scenario": seconds,
            "calibration_us_per_1000_calls": calib,
            "target_calls_per_s": TARGET,
            "headline_calls_per_s": headline,
            "rows": rows,
        },
    )


def table(report: Report) -> str:
    """The per-scenario table (steps, calls/s by CPU and wall, µs per call) and the verdict."""
    m, d = report.machine, report.details
    load = m.get("load_average")
    lines = [
        f"engine benchmark (Python {m['python']}, {m['cpus']} CPUs"
        + (f", load {load[0]:.1f})" if load else ")"),
        f"{'scenario':<44} {'steps':>5} {'calls/s/core':>13} {'calls/s wall':>13} {'us/call':>8}",
    ]
    for row in d["rows"]:
        if "skipped" in row:
            lines.append(f"{row['scenario']:<44} skipped: {row['skipped']}")
            continue
        lines.append(
            f"{row['scenario']:<44} {row['steps']:>5} {row['calls_per_s_cpu']:>13,.0f} "
            f"{row['calls_per_s_wall']:>13,.0f} {row['us_per_call']:>8.1f}"
        )
    lines.append(
        f"calibration (peer): 1000 empty Python function calls take "
        f"{d['calibration_us_per_1000_calls']:.0f} us on this machine right now"
    )
    headline = d["headline_calls_per_s"]
    if headline:
        verdict = "met" if report.targets_met else "MISSED"
        lines.append(
            f"target {TARGET:,} calls/s/core on the first row: {verdict} ({headline:,.0f})"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench engine", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--quick", action="store_true", help="short runs (smoke test)")
    parser.add_argument("--seconds", type=float, help="CPU seconds per scenario")
    args = parser.parse_args(argv)
    report = run(quick=args.quick, seconds=args.seconds)
    print(json.dumps(report.to_dict(), indent=2) if args.json else table(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
