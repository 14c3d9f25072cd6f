"""``dialplan paths`` lists only routes the engine takes, and each replay command reproduces its
route: every route of every corpus file is replayed through the engine, in process.

The replay command is read from ``paths --format json`` exactly as printed; its options are
parsed by the ``simulate`` command's own option parser, and the call is run by the engine. The
decisions it makes are compared with the route's steps (a prefix, for a route cut at a loop),
and so are its transfer outcome and how it ends. Replays that set data (``--var``,
``--callerid``, ``--now``…) also run as the whole ``dialplan simulate`` command.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dialplan.cli.simulate import pairs
from dialplan.cli.simulate import simulate as simulate_command
from dialplan.drivers.simulate import DEFAULT_CALLERID, DEFAULT_PHONENUMBER, simulate
from dialplan.model import Plan, build_plan
from dialplan.parse import parse_any
from tests.clirun import run
from tests.conftest import corpus_files

FIXTURES = Path(__file__).parent / "fixtures"
#: how a route ends → the engine's outcome
OUTCOME = {
    "hangup": "hangup",
    "end of plan": "hangup",
    "transferred": "transfer",
    "caller hangup": "caller_hangup",
}
CUT = ("loop cut", "length cut")
DATA_OPTIONS = ("--var", "--contact", "--callerid", "--phonenumber", "--dnis", "--now")


def paths_json(capsys: pytest.CaptureFixture[str], path: Path, *args: str) -> dict[str, Any]:
    code, out, err = run(capsys, "paths", str(path), "--format", "json", *args)
    assert code == 0, err
    doc: dict[str, Any] = json.loads(out)
    return doc


def replay(plan: Plan, argv: list[str]) -> tuple[list[tuple[int, str]], str, str | None]:
    """The printed ``dialplan simulate FILE OPTIONS…`` run by the engine: (decisions, outcome,
    transfer outcome)."""
    assert argv[:2] == ["dialplan", "simulate"]
    ctx = simulate_command.make_context("simulate", argv[2:])
    p = ctx.params
    variables = pairs(p["variables"], "--var")
    assert all("." not in name for name in variables)  # call.*/contact.* have their own options
    result = simulate(
        plan,
        amd=p["amd"],
        inputs=list(p["inputs"]),
        transfer=p["transfer"],
        variables=variables,
        contact=pairs(p["contact"], "--contact"),
        callerid=p["callerid"] or DEFAULT_CALLERID,
        phonenumber=p["phonenumber"] or DEFAULT_PHONENUMBER,
        dnis=p["dnis"] or "",
        now=p["now"],
        max_steps=p["max_steps"],
    )
    transfer = result.transfer["outcome"] if result.transfer else None
    return list(result.decisions), result.outcome, transfer


def expected(route: dict[str, Any]) -> list[tuple[int, str]]:
    return [(s["node_index"], s["label"]) for s in route["steps"] if s["kind"] != "transfer"]


def check_routes(capsys: pytest.CaptureFixture[str], path: Path) -> int:
    doc = paths_json(capsys, path)
    plan = build_plan(parse_any(path))
    for route in doc["routes"]:
        decisions, outcome, transfer = replay(plan, route["simulate"])
        want = expected(route)
        where = (path.name, route["id"], route["simulate"][3:])
        if route["ending"] in CUT:
            assert decisions[: len(want)] == want, where
            continue
        assert decisions == want, where
        assert outcome == OUTCOME.get(route["ending"], outcome), where
        if route["transfer"] is not None:
            assert transfer == route["transfer"].replace(" ", "_"), where
        if any(option in route["simulate"] for option in DATA_OPTIONS):
            # the whole command, as a user types it
            code, out, err = run(capsys, *route["simulate"][1:], "--format", "json")
            assert code == 0, (where, err)
            got = [tuple(d) for d in json.loads(out)["decisions"]]
            assert got == want, where
    return len(doc["routes"])


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.stem)
def test_every_corpus_route_replays(capsys: pytest.CaptureFixture[str], path: Path) -> None:
    assert check_routes(capsys, path) > 0


def test_corpus_is_there_or_skipped() -> None:
    if not corpus_files():
        pytest.skip("../shared/corpus is not available")


CONTRADICTIONS = """<dialplan name="Root">
  <setvar varname="tries">0</setvar>
  <menu name="m" maxDigits="1" timeout="3000">
    <play type="tts">Press 1 or 2</play>
    <keypress pressed="1">
      <if expr="${call.lastinput} == 2"><play type="tts">never: 1 was pressed</play></if>
      <hangup/>
    </keypress>
    <keypress pressed="2"><hangup/></keypress>
  </menu>
  <if expr="${tries} == 0"><play type="tts">first try</play></if>
  <if expr="${tries} != 0"><play type="tts">never: tries is 0</play></if>
  <if expr="${global.date.dayOfWeek} == 2"><play type="tts">Monday</play></if>
  <if expr="${global.date.dayOfWeek} == 3"><play type="tts">Tuesday</play></if>
  <hangup/>
</dialplan>
"""


def test_contradictory_assumptions_are_left_out(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "contradictions.xml"
    path.write_text(CONTRADICTIONS, encoding="utf-8")
    doc = paths_json(capsys, path)
    listed = [set(r["assumptions"]) for r in doc["routes"]]
    assert listed, "the feasible routes are listed"

    def holds(route: set[str], line: int, value: str) -> bool:
        return any(f"(line {line}) is {value}" in a for a in route)

    for route in listed:
        assert not holds(route, 6, "true")  # 1 pressed, yet lastinput == 2
        assert not (holds(route, 11, "true") and holds(route, 12, "true"))  # tries 0 and not 0
        assert not (holds(route, 11, "false") and holds(route, 12, "false"))
        assert not (holds(route, 13, "true") and holds(route, 14, "true"))  # Monday and Tuesday
    # the feasible ones stay: Monday, Tuesday, neither
    assert any(holds(r, 13, "true") for r in listed)
    assert any(holds(r, 14, "true") for r in listed)
    assert any(holds(r, 13, "false") and holds(r, 14, "false") for r in listed)
    assert doc["left_out"], "the infeasible routes are counted, not dropped silently"
    assert check_routes(capsys, path) == len(listed)
    code, out, _ = run(capsys, "paths", str(path))
    assert code == 0 and "left out: no replay makes the engine take them" in " ".join(out.split())


def test_replay_sets_the_data_a_condition_reads(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "area.xml"
    path.write_text(
        '<dialplan name="Root">\n'
        "  <setvar varname=\"areaCode\">'${call.callerid}'.substring(1,4);</setvar>\n"
        '  <if expr="${areaCode} == 323"><hangup/></if>\n'
        '  <menu name="pin" maxDigits="4" timeout="3000"><play type="tts">PIN</play>\n'
        '    <keypress pressed="default">\n'
        '      <if expr="${call.lastinput} == 1234"><transfer>5551234567</transfer></if>\n'
        "    </keypress></menu>\n"
        "  <hangup/>\n</dialplan>\n",
        encoding="utf-8",
    )
    doc = paths_json(capsys, path)
    commands = [r["simulate"] for r in doc["routes"]]
    assert any("--callerid" in c and c[c.index("--callerid") + 1][1:4] == "323" for c in commands)
    assert any("1234" in c for c in commands)  # the PIN the condition wants is pressed
    assert doc["left_out"] == []
    assert check_routes(capsys, path) == len(commands)


def test_fixture_routes_replay(capsys: pytest.CaptureFixture[str]) -> None:
    for path in sorted(FIXTURES.glob("*.xml")):
        assert check_routes(capsys, path) > 0


def test_replays_stop_at_their_budget_and_say_so() -> None:
    """However many routes and candidate values a plan has, the replays of one listing take at
    most ``replay_steps`` engine steps; the routes left then are left out untried, and counted."""
    from dialplan.model.paths import enumerate_routes
    from dialplan.replay import confirm

    plan = build_plan(parse_any(CONTRADICTIONS))
    found = enumerate_routes(plan)
    full = confirm(plan, found)
    assert full.untried == 0 and full.routes
    cut = confirm(plan, found, replay_steps=1)  # the first call spends it all
    assert len(cut.routes) + len(cut.left_out) == len(found.routes)
    assert len(cut.routes) <= 1 and cut.untried >= len(found.routes) - 1
    # what is listed is still confirmed: its replay reproduces it
    for taken in cut.routes:
        assert taken in full.routes
