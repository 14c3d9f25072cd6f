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


REPORT_KEYS = {"benchmark", "command", "machine", "targets_met", "figures", "details"}


def _check_report_shape(data: dict, name: str) -> None:
    data = json.loads(json.dumps(data))  # plain JSON
    assert set(data) == REPORT_KEYS
    assert data["benchmark"] == name
    assert data["command"].startswith("python -m tools.bench")
    assert {"cpus", "python", "lxml", "libxml2"} <= set(data["machine"])
    for figure in data["figures"]:
        assert set(figure) == FIGURE_KEYS
        assert figure["value"] is None or math.isfinite(figure["value"])
        assert (figure["target"] is None) == (figure["met"] is None)
    judged = [f["met"] for f in data["figures"] if f["met"] is not None]
    assert data["targets_met"] == (all(judged) if judged else None)


@pytest.mark.parametrize(
    "name", ["lint", "engine", "broadcast", "sip", "flow", "webhooks", "api", "stats", "controls"]
)
def test_every_sub_benchmark_exposes_run_with_quick_and_main(name: str) -> None:
    import inspect

    assert name in bench.available()
    module = bench.load(name)
    assert "quick" in inspect.signature(module.run).parameters
    assert callable(module.main)


def test_engine_report_has_a_judged_headline_and_a_calibration_peer() -> None:
    from tools.bench import engine

    data = engine.run(quick=True, seconds=0.001).to_dict()
    _check_report_shape(data, "engine")
    headline = data["figures"][0]
    if headline["value"] is not None:  # the corpus is present
        assert headline["unit"] == "calls/s/core"
        assert headline["met"] == (headline["value"] >= engine.TARGET)
        assert data["details"]["rows"][0]["calls"] >= 50
    names = [f["name"] for f in data["figures"]]
    assert "calibration: 1000 empty Python calls" in names
    assert "calibration (peer)" in engine.table(
        engine.run.__globals__["Report"](**_as_report(data))
    )


def _as_report(data: dict) -> dict:
    figures = [Figure(**f) for f in data["figures"]]
    return {
        "benchmark": data["benchmark"],
        "figures": figures,
        "command": data["command"],
        "machine": data["machine"],
        "details": data["details"],
    }


def _campaign(n: int, wall: float, cpu: float, rss: float) -> dict:
    return {
        "recipients": n,
        "elapsed_s": wall,
        "cpu_s": cpu,
        "peak_rss_mb": rss,
        "calls_placed": n,
        "virtual_days": 1.0,
        "db_mb": 1.0,
        "runner": "engine",
        "peer_csv_to_sqlite_rows_per_s": 200_000,
    }


def test_broadcast_judges_the_full_run_on_wall_time_and_rss(monkeypatch) -> None:
    from tools.bench import broadcast

    sizes = {100_000: _campaign(100_000, 15.0, 10.0, 70.0)}
    sizes[1_000_000] = _campaign(1_000_000, 160.0, 105.0, 86.0)
    monkeypatch.setattr(broadcast, "measure", lambda n, runner: sizes[n])
    report = broadcast.run()
    _check_report_shape(report.to_dict(), "broadcast")
    figures = {f.name: f for f in report.figures}
    wall = figures["1,000,000 recipients end to end (wall)"]
    assert (wall.value, wall.met) == (160.0, False)  # 160 s > 120 s
    assert figures["peak RSS of the campaign process"].met is True  # 86 MB <= 300 MB
    assert figures["recipients per second (wall)"].value == pytest.approx(6250.0)
    assert figures["peak RSS growth 100,000 -> 1,000,000"].value == pytest.approx(86 / 70)
    assert report.targets_met is False
    assert "1,000,000 recipients" in broadcast.table(report)


def test_broadcast_quick_judges_the_equivalent_rate_and_says_so(monkeypatch) -> None:
    from tools.bench import broadcast

    monkeypatch.setattr(broadcast, "measure", lambda n, runner: _campaign(n, 2.0, 1.8, 50.0))
    report = broadcast.run(quick=True)
    figures = {f.name: f for f in report.figures}
    rate = figures["recipients per second (wall)"]
    assert rate.value == pytest.approx(broadcast.QUICK_SIZES[-1] / 2.0)
    assert rate.met == (rate.value >= 1_000_000 / 120)
    assert "target is for 1,000,000" in rate.note
    assert not any("end to end" in name for name in figures)  # no 1M figure in a quick run
    assert report.command == "python -m tools.bench broadcast --quick"


def _sip_raw(up: int, requested: int, p99: float, cps: float) -> dict:
    return {
        "scheduler": "normal",
        "setup": {
            "calls": 200,
            "answered": 200,
            "failed": 0,
            "setups_per_s": cps,
            "setup_p50_ms": 10.0,
            "setup_p99_ms": 20.0,
        },
        "concurrency": {
            "requested": requested,
            "up": up,
            "hold_s": 1.0,
            "packets_per_s": up * 50,
            "expected_packets_per_s": up * 50,
            "lateness_p50_ms": 0.5,
            "lateness_p99_ms": p99,
            "lateness_max_ms": p99 * 2,
            "ramp_lateness_p99_ms": p99,
            "cpu_share_of_one_core": 0.4,
        },
        "peak_rss_mb": 40.0,
    }


def test_sip_verdicts_follow_the_targets(monkeypatch) -> None:
    from tools.bench import sip

    monkeypatch.setattr(sip, "measure", lambda *a: _sip_raw(500, 500, 6.2, 800.0))
    report = sip.run()
    _check_report_shape(report.to_dict(), "sip")
    figures = {f.name: f for f in report.figures}
    assert figures["call setups per second (vs SIPp UAS)"].met is True
    assert figures["concurrent calls up"].met is True
    assert figures["RTP send lateness p99"].met is False  # 6.2 ms > 5 ms
    assert report.targets_met is False
    monkeypatch.setattr(sip, "measure", lambda *a: _sip_raw(480, 500, 2.0, 800.0))
    assert {f.name: f for f in sip.run().figures}["concurrent calls up"].met is False
    assert "RTP send lateness p99" in sip.table(sip.run())


def test_sip_without_sipp_still_reports_the_uniform_shape(monkeypatch) -> None:
    from tools.bench import sip

    monkeypatch.setattr(sip, "measure", lambda *a: {"scheduler": "normal", "skipped": "no sipp"})
    report = sip.run(quick=True)
    _check_report_shape(report.to_dict(), "sip")
    assert report.targets_met is None and "skipped" in sip.table(report)


def test_all_prints_a_module_s_own_table_when_it_has_one() -> None:
    from tools.bench import engine

    report = Report(
        "engine",
        [Figure("x", 1.0, "y")],
        details={"rows": [], "calibration_us_per_1000_calls": 40.0, "headline_calls_per_s": None},
    )
    assert bench.as_text(engine, report).startswith("engine benchmark (Python")
    assert bench.as_text(lint_bench, report) == report.table()


def test_a_sub_benchmark_s_own_options_reach_its_main(monkeypatch) -> None:
    import types

    seen: list[list[str]] = []
    fake = types.ModuleType("tools.bench.fake")
    fake.run = lambda quick=False: Report("fake", [])
    fake.main = lambda argv: seen.append(list(argv)) or 0
    monkeypatch.setattr(bench, "available", lambda: ["fake"])
    monkeypatch.setattr(bench, "load", lambda name: fake)
    assert bench.main(["fake", "--quick", "--realtime", "--calls", "5"]) == 0
    assert seen == [["--quick", "--realtime", "--calls", "5"]]
    with pytest.raises(SystemExit):
        bench.main(["all", "--realtime"])  # options of one benchmark are not for all of them


def test_sip_command_names_the_sizes_it_ran(monkeypatch) -> None:
    from tools.bench import sip

    monkeypatch.setattr(sip, "measure", lambda *a: _sip_raw(50, 50, 1.0, 300.0))
    report = sip.run(quick=True, calls=100, hold_s=0.5)
    assert report.command == "python -m tools.bench sip --quick --calls 100 --hold 0.5"
    assert report.details["sizes"]["concurrent"] == sip.QUICK["concurrent"]


def test_broadcast_judges_the_ratio_to_the_floor_of_the_same_run(monkeypatch) -> None:
    from tools.bench import broadcast

    big = {**_campaign(1_000_000, 30.0, 28.0, 80.0), "floor_s": 20.0, "floor_ratio": 1.5}
    sizes = {100_000: _campaign(100_000, 3.0, 2.8, 70.0), 1_000_000: big}
    monkeypatch.setattr(broadcast, "measure", lambda n, runner: sizes[n])
    figures = {f.name: f for f in broadcast.run().figures}
    ratio = figures["campaign / floor (phonenumbers + executemany of the same rows)"]
    assert (ratio.value, ratio.met) == (1.5, False)  # 1.5x > 1.2x


def test_broadcast_floor_writes_the_same_rows(tmp_path) -> None:
    import sqlite3

    from tools.bench import broadcast

    broadcast.write_inputs(tmp_path, 300, "fake")
    wall, cpu = broadcast.floor_s(tmp_path, 450)
    assert wall > 0 and cpu > 0
    db = sqlite3.connect(tmp_path / "floor.sqlite")
    counts = [
        db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("recipients", "attempts")
    ]
    assert counts == [300, 450]
    assert db.execute("SELECT e164 FROM recipients WHERE id = 2").fetchone()[0].startswith("+1")


def test_api_benchmark_measures_both_servers_side_by_side() -> None:
    from tools.bench import api

    data = api.run(quick=True, rate=40, count=20, recipients=2000).to_dict()
    _check_report_shape(data, "api")
    names = [f["name"] for f in data["figures"]]
    assert "bare POST p50" in names and "api POST /v1/calls (poll) p50" in names
    judged = [f for f in data["figures"] if f["target"] is not None]
    assert [f["name"] for f in judged] == [
        "api GET stats, 2,000 finished p50",
        "api GET stats, 2,000 half-finished p50",
        "POST overhead p50 (service / bare)",
        "GET overhead p50 (service / bare)",
        "GET stats overhead p50 (service / bare)",
    ]
    series = ("bare POST", "api POST /v1/calls (poll)", "bare GET", "api GET /v1/calls/{id}")
    series += ("bare GET stats", "api GET stats, 2,000 finished")
    for name in series:
        assert data["details"][name]["errors"] == 0, data["details"][name]
    seeded = data["details"]["broadcasts"]
    assert seeded["finished"]["stats"]["totalCount"] == 2000
    assert seeded["half"]["stats"]["callsRemaining"] == 1000  # half of them not final yet
