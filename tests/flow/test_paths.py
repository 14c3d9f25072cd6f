"""``dialplan paths``: route enumeration with bounded loops; counts derived by hand from §2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dialplan.cli import cli
from dialplan.model import build_plan
from dialplan.model.paths import LOOP_CUT, Routes, enumerate_routes
from dialplan.parse import parse_any

SMALL = Path(__file__).parent / "fixtures" / "graph_small.xml"


def routes(src: str | Path, **kw: int) -> Routes:
    return enumerate_routes(build_plan(parse_any(src)), **kw)


@pytest.mark.parametrize(("max_loops", "expected"), [(0, 8), (1, 14), (2, 20)])
def test_small_fixture_route_counts(max_loops: int, expected: int) -> None:
    # machine: 1 route. One visit of menu "main": key 1 → transfer answered / not (2), key 2 →
    # if true → transfer continue-after (2) or false (1), no input (1), default → replay (the
    # back-edge) or, once the loop budget is spent, a cut (1): f(0)=7, f(k)=6+f(k-1).
    assert len(routes(SMALL, max_loops=max_loops).routes) == expected


def test_route_details() -> None:
    found = routes(SMALL).routes
    by_inputs = {(r.amd, r.transfer, r.inputs, r.assumptions): r for r in found}
    assert len(by_inputs) == len(found)  # every route is told apart by what drives it
    machine = by_inputs[("machine", None, (), ())]
    assert machine.ending == "hangup" and machine.end_loc.line == 6
    silent = by_inputs[("live", None, ("timeout",), ())]
    assert silent.ending == "end of plan" and silent.end_loc.line == 24
    bridged = by_inputs[("live", "answered", ("1",), ())]
    assert bridged.ending == "transferred"
    assert bridged.simulate_args() == ["--amd", "live", "--transfer", "answered", "--input", "1"]
    unanswered = by_inputs[("live", "no answer", ("1",), ())]
    assert unanswered.ending == "end of plan"  # continues after the menu (spec §3.7)
    assert "--transfer" in unanswered.simulate_args()
    assert unanswered.simulate_args()[3] == "no_answer"
    cut = [r for r in found if r.ending == LOOP_CUT]
    assert [r.inputs for r in cut] == [("0", "0")]  # default twice: the replay loop is cut
    assert cut[0].simulate_args() == ["--amd", "live", "--input", "0", "--input", "0"]
    closed = by_inputs[
        (
            "live",
            None,
            ("2",),
            ('<if expr="${global.time.hour.military} < 17"> (line 15) is false',),
        )
    ]
    assert closed.ending == "end of plan"
    assert [(s.kind, s.label) for s in closed.steps] == [
        ("amd", "live"),
        ("input", "2"),
        ("assume", "false"),
    ]


def test_input_values_for_ranges_multi_digit_and_default() -> None:
    xml = """<dialplan><menu name="m" maxDigits="4"><play type="tts">x</play>
  <keypress pressed="300-315"><hangup/></keypress>
  <keypress pressed="12"><hangup/></keypress>
  <keypress pressed="#"><hangup/></keypress>
  <keypress pressed="9999"><hangup/></keypress>
  <keypress pressed="default"><hangup/></keypress></menu></dialplan>"""
    got = {r.steps[-1].label: r.inputs[-1] for r in routes(xml).routes}
    # shorter entries than maxDigits end with # (§2.3); "0" matches nothing → default
    assert got == {
        "300-315": "300#",
        "12": "12#",
        "#": "#",
        "9999": "9999",
        "default": "0#",
        "no input": "timeout",
    }


def test_one_amd_verdict_per_call() -> None:
    xml = """<dialplan>
  <amd><live><play type="tts">a</play></live><machine><play type="tts">b</play></machine></amd>
  <amd><live><hangup name="h1"/></live><machine><hangup name="h2"/></machine></amd>
</dialplan>"""
    found = routes(xml).routes
    assert sorted((r.amd, r.end_what) for r in found) == [
        ("live", '<hangup name="h1">'),
        ("machine", '<hangup name="h2">'),
    ]


def test_digit_catch_at_menu_is_a_route() -> None:
    xml = """<dialplan><catch type="digit" value="0" goto="op">
  <menu name="m"><play type="tts">x</play><keypress pressed="1"><hangup/></keypress>
  <keypress pressed="timeout"><hangup/></keypress></menu></catch>
  <transfer name="op">2135551212</transfer><hangup/></dialplan>"""
    found = routes(xml).routes
    caught = [r for r in found if any(s.kind == "catch" for s in r.steps)]
    assert {(r.inputs, r.ending) for r in caught} == {(("0",), "transferred"), (("0",), "hangup")}
    # default search skips the caught key: "no match" presses 2, not 0
    assert ("2",) in {r.inputs for r in found}


def test_input_free_loop_is_cut() -> None:
    found = routes('<dialplan><goto name="a">b</goto><goto name="b">a</goto></dialplan>').routes
    assert [(r.ending, r.steps) for r in found] == [(LOOP_CUT, ())]


def test_limit_truncates() -> None:
    found = routes(SMALL, limit=3)
    assert len(found.routes) == 3 and found.truncated


def test_cli_text_prints_simulate_command_per_route() -> None:
    res = CliRunner().invoke(cli, ["paths", str(SMALL)])
    assert res.exit_code == 0, res.output
    commands = [ln.strip() for ln in res.output.splitlines() if ln.strip().startswith("$ ")]
    assert len(commands) == 14
    assert f"$ dialplan simulate {SMALL} --amd machine" in commands
    assert res.output.rstrip().endswith("14 routes, each loop taken at most 1x")


def test_cli_json() -> None:
    res = CliRunner().invoke(cli, ["paths", str(SMALL), "--format", "json", "--max-loops", "0"])
    assert res.exit_code == 0
    doc = json.loads(res.output)
    assert doc["max_loops"] == 0 and not doc["truncated"] and len(doc["routes"]) == 8
    first = doc["routes"][0]
    assert set(first) == {
        "id", "ending", "end", "amd", "transfer", "inputs", "assumptions", "steps", "simulate"
    }  # fmt: skip
    assert first["simulate"][:3] == ["dialplan", "simulate", str(SMALL)]


def test_missing_file_is_a_usage_error() -> None:
    res = CliRunner().invoke(cli, ["paths", "/nonexistent/plan.xml"])
    assert res.exit_code == 2 and "does not exist" in res.output


def test_one_transfer_outcome_per_call() -> None:
    xml = """<dialplan>
  <transfer name="t1">2135551212</transfer>
  <transfer name="t2">2135551213</transfer>
  <hangup/>
</dialplan>"""
    found = routes(xml).routes
    # like `dialplan simulate --transfer`, every transfer of a call ends the same way
    assert sorted((r.transfer, r.ending, r.end_what) for r in found) == [
        ("answered", "transferred", '<transfer name="t1">'),
        ("no answer", "hangup", "<hangup>"),
    ]


def test_hangup_catch_at_menu_skips_line_tags() -> None:
    xml = """<dialplan><catch type="hangup" goto="save">
  <menu name="m"><play type="tts">x</play><keypress pressed="1"><hangup/></keypress>
    <keypress pressed="timeout"><hangup/></keypress></menu>
  <hangup/>
  <play type="tts" name="save">skipped</play>
  <menu name="m2"><play type="tts">skipped too</play><keypress pressed="1"><hangup/></keypress></menu>
  <stash varname="hung_up">yes</stash>
</catch></dialplan>"""
    found = routes(xml).routes
    caught = [r for r in found if "hangup" in r.inputs]
    assert len(caught) == 1
    route = caught[0]
    # the handler's play and menu need the line: the route runs on to the stash and the end
    assert route.ending == "caller hangup" and route.end_loc.line == 7
    assert route.simulate_args() == ["--input", "hangup"]
    assert [(s.kind, s.label) for s in route.steps] == [("catch", "fired")]


def test_routes_replay_in_the_engine() -> None:
    """Every route without data assumptions, simulated with its own inputs, takes exactly the
    predicted decisions and ends the predicted way (needs the engine, merged from main)."""
    engine = pytest.importorskip("dialplan.drivers.simulate")
    from tests.conftest import corpus_files

    outcome = {"hangup": "hangup", "end of plan": "hangup", "transferred": "transfer",
               "caller hangup": "caller_hangup"}  # fmt: skip
    flow_rule_fixtures = Path(__file__).parents[1] / "lint" / "fixtures"
    files = [
        *corpus_files(),
        *sorted((Path(__file__).parent / "fixtures").glob("*.xml")),
        *sorted(flow_rule_fixtures.glob("[EWI]07*.xml")),
    ]
    checked = 0
    for path in files:
        plan = build_plan(parse_any(path))
        for route in enumerate_routes(plan, limit=300).routes:
            if route.assumptions or route.ending == LOOP_CUT:
                continue
            transfer = (route.transfer or "answered").replace(" ", "_")
            result = engine.simulate(
                plan, amd=route.amd or "live", inputs=list(route.inputs), transfer=transfer
            )
            want = [(s.node_index, s.label) for s in route.steps if s.kind != "transfer"]
            assert (list(result.decisions), result.outcome) == (want, outcome[route.ending]), (
                path.name,
                route.simulate_args(),
            )
            checked += 1
    assert checked > 50


def test_simulating_every_route_covers_every_branch() -> None:
    """paths → simulate → coverage: the routes of the charity seed leave no branch untaken."""
    engine = pytest.importorskip("dialplan.drivers.simulate")
    from dialplan.model.flow import branch_points, coverage
    from tests.conftest import corpus_file

    plan = build_plan(parse_any(corpus_file("seeds/nonprofit-charity-ivr.xml")))
    found = enumerate_routes(plan).routes
    assert not any(r.assumptions for r in found)  # no if/equal: every route is replayable
    taken: list[tuple[int, str]] = []
    for route in found:
        transfer = (route.transfer or "answered").replace(" ", "_")
        result = engine.simulate(
            plan, amd=route.amd or "live", inputs=list(route.inputs), transfer=transfer
        )
        taken.extend(result.decisions)
    assert len(branch_points(plan)) == 8
    assert coverage(plan, taken) == []
    # one call alone leaves the other branches untaken
    only_machine = engine.simulate(plan, amd="machine").decisions
    assert len(coverage(plan, only_machine)) == 7


def test_printed_commands_run_in_the_simulate_cli() -> None:
    """The `dialplan simulate` lines that `paths --format json` prints are valid commands."""
    pytest.importorskip("dialplan.cli.simulate")
    from tests.conftest import corpus_file

    seed = str(corpus_file("seeds/nonprofit-charity-ivr.xml"))
    res = CliRunner().invoke(cli, ["paths", seed, "--format", "json"])
    routes_doc = json.loads(res.stdout)["routes"]
    outcome = {"hangup": "hangup", "transferred": "transfer", "end of plan": "hangup"}
    checked = 0
    for route in routes_doc:
        if route["ending"] not in outcome:
            continue
        argv = [*route["simulate"][1:], "--format", "json"]
        run = CliRunner().invoke(cli, argv)
        assert run.exit_code == 0, (argv, run.output)
        result = json.loads(run.stdout)
        assert result["outcome"] == outcome[route["ending"]], argv
        checked += 1
    assert checked == 15  # every route but the cut loop


def test_max_loops_is_capped_at_ten() -> None:
    ok = CliRunner().invoke(cli, ["paths", str(SMALL), "--format", "json", "--max-loops", "10"])
    assert ok.exit_code == 0 and json.loads(ok.output)["max_loops"] == 10
    res = CliRunner().invoke(cli, ["paths", str(SMALL), "--max-loops", "11"])
    assert res.exit_code == 2
    assert "--max-loops" in res.output and "0<=x<=10" in res.output
    assert "0<=x<=10" in CliRunner().invoke(cli, ["paths", "--help"]).output
