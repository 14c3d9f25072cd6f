"""``dialplan test``: run call-test scenario files like a test runner (and report coverage)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..engine.result import CallResult
from ..errors import InvalidDialplan, UsageError
from ..model import Plan

#: What a directory contributes: call-test files only (campaign files, pyproject.toml and other
#: TOML files beside them are not scenarios).
SCENARIO_GLOB = "*.calltest.toml"


def scenario_files(paths: tuple[str, ...]) -> list[Path]:
    """Files as given (any name); directories contribute every ``*.calltest.toml`` below them."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob(SCENARIO_GLOB) if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise UsageError(f"no such file or directory: {raw}")
    if not files:
        raise UsageError(f"no call-test files ({SCENARIO_GLOB}) in {', '.join(paths)}")
    return files


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--coverage", is_flag=True, help="Report the branches the cases exercised and list the ones never reached.")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)  # fmt: skip
@click.option("-q", "--quiet", is_flag=True, help="Only print failures and the summary.")
def test(paths: tuple[str, ...], coverage: bool, fmt: str, quiet: bool) -> None:
    """Run the call tests in scenario files (TOML; see docs/testing-dialplans.md).

    PATHS are scenario files or directories (searched for *.calltest.toml).

    Exit status: 0 every case passed, 1 a case failed or a dialplan is invalid, 2 usage error.
    """
    from .._api import load
    from ..calltest import Coverage, read_scenario, run_case
    from ..calltest import coverage as measure
    from ..drivers.simwarnings import run_variable_notes

    scenarios = [read_scenario(p) for p in scenario_files(paths)]
    for scenario in scenarios:  # a missing input is a usage error, before any case runs
        if not Path(scenario.dialplan).is_file():
            raise UsageError(f"{scenario.path}: dialplan: no such file: {scenario.dialplan}")
    passed = failed = 0
    report: list[dict[str, object]] = []
    runs: dict[str, tuple[Plan, list[CallResult]]] = {}
    for scenario in scenarios:
        entry: dict[str, object] = {"file": scenario.path, "dialplan": scenario.dialplan}
        if fmt == "text":
            click.echo(f"{scenario.path} ({scenario.dialplan})")
        try:
            plan = load(scenario.dialplan)
        except (InvalidDialplan, UsageError) as exc:
            failed += len(scenario.cases)
            entry["error"] = str(exc)
            report.append(entry)
            if fmt == "text":
                click.echo(f"  ERROR  {exc}")
            continue
        cases = []
        results = runs.setdefault(scenario.dialplan, (plan, []))[1]
        notes: dict[str, None] = {}
        for case in scenario.cases:
            for note in run_variable_notes(plan, case.options.get("contact") or {}):
                notes.setdefault(note, None)
        if notes:
            entry["notes"] = list(notes)
            if fmt == "text":
                for note in notes:
                    click.echo(f"  note: {note}")
        for case in scenario.cases:
            outcome = run_case(plan, case, scenario.path)
            if outcome.result is not None:
                results.append(outcome.result)
            cases.append(
                {"name": case.name, "passed": outcome.passed, "failures": outcome.failures}
            )
            if outcome.passed:
                passed += 1
                if fmt == "text" and not quiet:
                    click.echo(f"  PASS  {case.name}")
            else:
                failed += 1
                if fmt == "text":
                    click.echo(f"  FAIL  {case.name}")
                    for failure in outcome.failures:
                        click.echo(f"        {failure}")
        entry["cases"] = cases
        report.append(entry)
    covered: dict[str, Coverage] = {}
    if coverage:
        for dialplan_path, (plan, results) in runs.items():
            covered[dialplan_path] = measure(plan, results)
    if fmt == "json":
        out: dict[str, object] = {"passed": passed, "failed": failed, "scenarios": report}
        if coverage:
            out["coverage"] = {
                path: {
                    "branches": len(c.branches),
                    "covered": len(c.branches) - len(c.missed),
                    "percent": round(c.percent, 1),
                    "missed": [
                        {"line": b.line, "where": b.where, "label": b.label} for b in c.missed
                    ],
                }
                for path, c in covered.items()
            }
        click.echo(json.dumps(out, indent=2))
    else:
        for path, c in covered.items():
            done = len(c.branches) - len(c.missed)
            click.echo(f"\ncoverage {path}: {done}/{len(c.branches)} branches ({c.percent:.0f}%)")
            for b in c.missed:
                click.echo(f"  never reached: {b.where}")
        click.echo(f"\n{passed} passed, {failed} failed")
    if failed:
        sys.exit(1)
