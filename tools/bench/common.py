"""The small API every sub-benchmark of ``python -m tools.bench`` shares.

A sub-benchmark is a module ``tools/bench/<name>.py`` with ``run(quick: bool) -> Report | dict``
(and, optionally, ``table(report) -> str`` for its own human output); ``main(argv)`` built with
:func:`cli` makes it runnable on its own too (``python -m tools.bench.<name>``). A :class:`Report`
holds :class:`Figure` rows — a measured value with its unit and, for headline figures, the target
and whether it was met — plus machine information and free-form details, and renders as a table
or as one JSON object.

Timing helpers measure with ``time.perf_counter`` (wall) and ``time.process_time`` or child
``rusage`` (CPU), take the median of repetitions, and read peak RSS with ``resource``. Nothing
here asserts a timing: benchmarks print figures, tests only check shapes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("DIALPLAN_SHARED", ROOT.parent / "shared"))
if not SHARED.is_dir() and Path("/work/shared").is_dir():
    SHARED = Path("/work/shared")
CORPUS = SHARED / "corpus"


@dataclass(slots=True)
class Figure:
    """One measured value; ``target``/``met`` are set for the figures that have a target."""

    name: str
    value: float | None
    unit: str
    target: str | None = None
    met: bool | None = None
    note: str = ""


@dataclass(slots=True)
class Report:
    """What a sub-benchmark returns."""

    benchmark: str
    figures: list[Figure]
    command: str = ""
    machine: dict[str, Any] = field(default_factory=lambda: machine_info())
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def targets_met(self) -> bool | None:
        judged = [f.met for f in self.figures if f.met is not None]
        return all(judged) if judged else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "command": self.command,
            "machine": self.machine,
            "targets_met": self.targets_met,
            "figures": [asdict(f) for f in self.figures],
            "details": self.details,
        }

    def table(self) -> str:
        m = self.machine
        lines = [
            f"{self.benchmark} benchmark — {m['cpus']} CPUs, Python {m['python']}, "
            f"lxml {m['lxml']}, libxml2 {m['libxml2']}, load {m.get('load_average', '?')}",
        ]
        if self.command:
            lines.append(f"command: {self.command}")
        width = max((len(f.name) for f in self.figures), default=10)
        for f in self.figures:
            value = "n/a" if f.value is None else _fmt(f.value)
            verdict = ""
            if f.target is not None:
                verdict = f"  target {f.target}: " + ("met" if f.met else "MISSED")
            note = f"  ({f.note})" if f.note else ""
            lines.append(f"  {f.name:<{width}}  {value:>12} {f.unit:<8}{verdict}{note}")
        return "\n".join(lines)


def _fmt(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def machine_info() -> dict[str, Any]:
    """Cores, Python, lxml/libxml2 versions (compiled and run-time) and the load average."""
    from lxml import etree

    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(terse=True),
        "machine": platform.machine(),
        "lxml": ".".join(map(str, etree.LXML_VERSION)),
        "libxml2": ".".join(map(str, etree.LIBXML_VERSION)),
        "libxml2_compiled": ".".join(map(str, etree.LIBXML_COMPILED_VERSION)),
        "load_average": [round(x, 2) for x in os.getloadavg()]
        if hasattr(os, "getloadavg")
        else None,
    }


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def time_call(fn: Callable[[], Any], repeat: int = 5, warmup: int = 1) -> dict[str, float]:
    """Median wall and CPU seconds of ``fn()`` over ``repeat`` runs (after ``warmup`` runs)."""
    for _ in range(warmup):
        fn()
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return {"wall_s": median(wall), "cpu_s": median(cpu), "runs": repeat}


def time_process(
    argv: Sequence[str],
    repeat: int = 5,
    warmup: int = 1,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, float]:
    """Median wall and CPU seconds (user+sys of the child and its children) of a command, and
    its peak RSS.

    The peak RSS is the child's ``VmHWM`` sampled from ``/proc`` while it runs (``wait4``'s
    ``ru_maxrss`` would include this benchmark process's own size, inherited across fork/exec);
    it is ``None`` where ``/proc`` is unavailable.
    """
    for _ in range(warmup):
        subprocess.run(list(argv), cwd=cwd, env=env, capture_output=True, check=False)
    wall: list[float] = []
    cpu: list[float] = []
    rss: float | None = None
    code = 0
    for _ in range(repeat):
        w0 = time.perf_counter()
        proc = subprocess.Popen(
            list(argv), cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            hwm = _vm_hwm_mb(proc.pid)
            if hwm is not None:
                rss = max(rss or 0.0, hwm)
            time.sleep(0.002 if time.perf_counter() - w0 < 0.5 else 0.05)
        wall.append(time.perf_counter() - w0)
        cpu.append(usage.ru_utime + usage.ru_stime)
        code = os.waitstatus_to_exitcode(status)
        proc.returncode = code
    return {
        "wall_s": median(wall),
        "cpu_s": median(cpu),
        "max_rss_mb": None if rss is None else round(rss, 1),
        "runs": repeat,
        "exit_code": code,
    }


def _vm_hwm_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (MiB; Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def subprocess_env() -> dict[str, str]:
    """The environment for child Pythons: this checkout's package first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    env.setdefault("DIALPLAN_SHARED", str(SHARED))
    # An installed package has its bytecode compiled (pip does it); measure that, not a start-up
    # that recompiles every module because this environment forbids writing .pyc files.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def compile_bytecode(env: dict[str, str]) -> None:
    """Write the package's ``__pycache__`` (as an install would) before timing start-ups."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "dialplan")],
        env=env,
        capture_output=True,
        check=False,
    )


def cli(
    name: str, run: Callable[..., Report | dict[str, Any]], argv: Sequence[str] | None = None
) -> int:
    """``main()`` of a sub-benchmark: ``[--json] [--quick]``, table or one JSON object."""
    parser = argparse.ArgumentParser(prog=f"python -m tools.bench {name}")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="small, fast run (smoke test)")
    args = parser.parse_args(argv)
    report = run(quick=args.quick)
    if args.json:
        data = report.to_dict() if isinstance(report, Report) else report
        print(json.dumps(data, indent=2))
    else:
        print(report.table() if isinstance(report, Report) else json.dumps(report, indent=2))
    return 0


def ensure_root_on_path() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
