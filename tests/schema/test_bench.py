"""The benchmark harness: sub-benchmark discovery, the common report shape, the lint benchmark's JSON.

No timing is asserted (speed is measured by the benchmark, not tested); only the shape and the
consistency of what it reports.
"""

from __future__ import annotations

import functools
import json
import math

import pytest

from tools.bench import __main__ as bench
from tools.bench import lint as lint_bench
from tools.bench.common import Figure, Report, machine_info, time_call

FIGURE_KEYS = {"name", "value", "unit", "target", "met", "note"}


def test_sub_benchmarks_are_discovered_by_module_name() -> None:
    names = bench.available()
    assert "lint" in names
    assert "common" not in names and not any(n.startswith("_") for n in names)


def test_machine_info_names_cores_python_and_libxml2() -> None:
    info = machine_info()
    assert info["cpus"] >= 1
    assert info["python"].count(".") == 2
    assert info["lxml"][0].isdigit() and info["libxml2"][0].isdigit()


def test_report_targets_met_is_all_of_the_judged_figures() -> None:
    figures = [Figure("a", 1.0, "x"), Figure("b", 2.0, "x", "<= 3x", True)]
    assert Report("t", figures).targets_met is True
    figures.append(Figure("c", 9.0, "x", "<= 3x", False))
    assert Report("t", figures).targets_met is False
    assert Report("t", [Figure("a", 1.0, "x")]).targets_met is None
    assert "MISSED" in Report("t", figures).table()


def test_time_call_reports_the_median_of_runs() -> None:
    calls = []
    result = time_call(lambda: calls.append(1), repeat=5, warmup=2)
    assert len(calls) == 7 and result["runs"] == 5
    assert result["wall_s"] >= 0 and result["cpu_s"] >= 0


@pytest.fixture(scope="module")
def tiny_lint_report() -> dict:
    report = lint_bench.run(quick=True, files=6, xmlschema_files=3, cold_runs=2, repeat=1)
    return report.to_dict()


def test_lint_benchmark_json_shape(tiny_lint_report: dict) -> None:
    data = json.loads(json.dumps(tiny_lint_report))  # it is plain JSON
    assert data["benchmark"] == "lint"
    assert data["command"].startswith("python -m tools.bench lint")
    assert set(data) == {"benchmark", "command", "machine", "targets_met", "figures", "details"}
    for figure in data["figures"]:
        assert set(figure) == FIGURE_KEYS
        assert figure["value"] is None or math.isfinite(figure["value"])
        assert (figure["target"] is None) == (figure["met"] is None)
    names = {f["name"] for f in data["figures"]}
    assert "cold start: dialplan lint one.xml (wall)" in names
    assert data["details"]["files"] == 6
    stages = data["details"]["stages_per_file"]
    assert set(stages) == {"parse_us", "model_us", "rules_us", "schema_us", "total_us"}


def test_lint_benchmark_ratios_follow_from_its_measurements(tiny_lint_report: dict) -> None:
    d = tiny_lint_report["details"]
    figures = {f["name"]: f for f in tiny_lint_report["figures"]}
    per_file = d["dialplan_lint_cli"]["cpu_s"] / d["files"]
    assert figures["dialplan lint DIR, per file (CPU)"]["value"] == pytest.approx(1e6 * per_file)
    if isinstance(d["xmllint"], dict):
        ratio = figures["full lint / xmllint"]
        assert ratio["value"] == pytest.approx(per_file / (d["xmllint"]["cpu_s"] / d["files"]))
        assert ratio["met"] == (ratio["value"] <= 3)
    assert d["dialplan_lint_cli"]["exit_code"] in (0, 1)  # ran, found or did not find errors
    assert d["cold_start"]["dialplan_lint"]["runs"] == 2


def test_dispatcher_prints_one_json_object(monkeypatch, capsys) -> None:
    small = functools.partial(lint_bench.run, files=3, xmlschema_files=2, cold_runs=1, repeat=1)
    monkeypatch.setattr(lint_bench, "run", small)
    assert bench.main(["lint", "--json", "--quick"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["benchmark"] == "lint" and data["details"]["files"] == 3


def test_all_collects_every_benchmark_in_one_json_object(monkeypatch, capsys) -> None:
    small = functools.partial(lint_bench.run, files=2, xmlschema_files=2, cold_runs=1, repeat=1)
    monkeypatch.setattr(lint_bench, "run", small)
    monkeypatch.setattr(bench, "available", lambda: ["lint"])
    assert bench.main(["all", "--json", "--quick"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"machine", "benchmarks"}
    assert data["benchmarks"]["lint"]["details"]["files"] == 2


def test_modules_with_only_a_main_are_run_through_it(monkeypatch, capsys) -> None:
    import types

    def main(argv: list[str]) -> int:
        print(json.dumps({"benchmark": "fake", "argv": argv}))
        return 0

    fake = types.ModuleType("tools.bench.fake")
    fake.run = lambda calls, rate: {}  # no quick parameter: main() is used instead
    fake.main = main
    monkeypatch.setattr(bench, "available", lambda: ["fake"])
    monkeypatch.setattr(bench, "load", lambda name: fake)
    assert bench.main(["all", "--json", "--quick"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["benchmarks"]["fake"] == {"benchmark": "fake", "argv": ["--json", "--quick"]}
