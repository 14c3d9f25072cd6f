"""``python -m tools.bench SUB [--json] [--quick] [SUB's own options]`` and ``python -m tools.bench all``.

Sub-benchmarks are the modules of this package (``lint``, ``engine``, ``broadcast``, ``sip`` …)
that define ``run(quick=...)`` (preferred: see ``common.py``) or at least ``main(argv)`` accepting
``--json`` and ``--quick``; they are found by module name, so adding a file adds a command.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import io
import json
import pkgutil
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

if __package__ in (None, ""):  # run as a script: make "tools.bench" importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.bench.common import Report, ensure_root_on_path, machine_info

ensure_root_on_path()

_NOT_BENCHMARKS = {"common"}


def available() -> list[str]:
    """Names of the sub-benchmark modules in this package."""
    here = str(Path(__file__).resolve().parent)
    return sorted(
        m.name
        for m in pkgutil.iter_modules([here])
        if not m.name.startswith("_") and m.name not in _NOT_BENCHMARKS
    )


def load(name: str) -> ModuleType:
    module = importlib.import_module(f"tools.bench.{name}")
    if not (_takes_quick(module) or callable(getattr(module, "main", None))):
        raise SystemExit(f"tools.bench.{name} has neither run(quick=...) nor main(argv)")
    return module


def _takes_quick(module: ModuleType) -> bool:
    run = getattr(module, "run", None)
    return callable(run) and "quick" in inspect.signature(run).parameters


def run_module(module: ModuleType, quick: bool, as_json: bool) -> tuple[dict[str, Any], str]:
    """One sub-benchmark: its JSON object and its human text.

    Modules with ``run(quick=...)`` are called directly; others through their own
    ``main(["--json", "--quick"])``, whose printed JSON is captured.
    """
    if _takes_quick(module):
        report = module.run(quick=quick)
        return as_dict(report), as_text(module, report)
    argv = (["--json"] if as_json else []) + (["--quick"] if quick else [])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        module.main(argv)
    text = out.getvalue()
    return (json.loads(text) if as_json else {}), text.rstrip("\n")


def as_dict(report: Report | dict[str, Any]) -> dict[str, Any]:
    return report.to_dict() if isinstance(report, Report) else report


def as_text(module: ModuleType, report: Report | dict[str, Any]) -> str:
    """The module's own ``table(report)`` when it has one, else the uniform Report table."""
    table = getattr(module, "table", None)
    if callable(table):
        return str(table(report))
    return report.table() if isinstance(report, Report) else json.dumps(report, indent=2)


def main(argv: Sequence[str] | None = None) -> int:
    names = available()
    parser = argparse.ArgumentParser(
        prog="python -m tools.bench", description="Run project benchmarks and print figures."
    )
    parser.add_argument("benchmark", choices=[*names, "all"], help="which benchmark")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="small, fast runs (smoke test)")
    args, extra = parser.parse_known_args(argv)
    if extra:
        # options of one sub-benchmark (``sip --realtime --calls 500``): its own main() parses them
        module = load(args.benchmark) if args.benchmark != "all" else None
        if module is None or not callable(getattr(module, "main", None)):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        flags = (["--json"] if args.json else []) + (["--quick"] if args.quick else [])
        return int(module.main([*flags, *extra]) or 0)
    chosen = names if args.benchmark == "all" else [args.benchmark]
    results: dict[str, dict[str, Any]] = {}
    for name in chosen:
        data, text = run_module(load(name), args.quick, args.json)
        if args.json:
            results[name] = data
        else:
            print(text, flush=True)
            if len(chosen) > 1:
                print()
    if args.json:
        if args.benchmark == "all":
            print(json.dumps({"machine": machine_info(), "benchmarks": results}, indent=2))
        else:
            print(json.dumps(results[chosen[0]], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
