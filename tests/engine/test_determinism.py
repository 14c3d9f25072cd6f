"""No hidden clock, no unseeded randomness (spec §5.4, 2026-12): ``Date`` reads the call's clock,
``Math.random`` is seeded per call, and results that may differ are never reused from a cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dialplan import load
from dialplan.broadcast.reporting.stats import export_rows
from dialplan.broadcast.service import run_campaign
from dialplan.broadcast.store.sqlite import Store
from dialplan.broadcast.telephony.engine import EngineRunner
from dialplan.drivers.simulate import simulate
from dialplan.engine.inputs import plan_inputs
from tests.broadcast.helpers import campaign
from tests.engine.util import plan_of

DATE = """<dialplan>
  <setvar varname="iso">new Date().toISOString()</setvar>
  <setvar varname="now">Date.now()</setvar>
  <play type="tts">wait</play>
  <setvar varname="later">new Date().toISOString()</setvar>
  <setvar varname="fixed">new Date(0).toISOString()</setvar>
  <setvar varname="isdate">new Date() instanceof Date</setvar>
</dialplan>"""


def test_date_reads_the_virtual_clock() -> None:
    result = simulate(plan_of(DATE), now="2026-03-08T09:05:07Z")
    v = result.variables
    assert v["iso"] == "2026-03-08T09:05:07.000Z"
    assert v["now"] == "1772960707000"
    assert v["later"] > v["iso"]  # the prompt took virtual time
    assert v["fixed"] == "1970-01-01T00:00:00.000Z"
    assert v["isdate"] == "true"
    assert simulate(plan_of(DATE), now="2026-03-08T09:05:07Z").variables == v


def test_date_is_utc_whatever_the_hosts_time_zone() -> None:
    import json
    import os
    import subprocess
    import sys

    code = (
        "import json; from dialplan.drivers.simulate import simulate;"
        "from tests.engine.util import plan_of;"
        'x = \'<dialplan><setvar varname="h">new Date().getHours() + ":" +'
        ' new Date().getTimezoneOffset() + ":" + new Date().getDate()</setvar></dialplan>\';'
        "print(json.dumps(simulate(plan_of(x), now='2026-03-08T23:30:00Z').variables))"
    )
    root = Path(__file__).resolve().parents[2]
    for tz in ("UTC", "America/New_York", "Asia/Tokyo"):
        env = {**os.environ, "TZ": tz, "PYTHONPATH": str(root)}
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=root
        )
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout) == {"h": "23:0:8"}, tz


RANDOM = """<dialplan>
  <setvar varname="r">Math.random()</setvar>
  <if expr="Math.random() &lt; 0.5"><stash varname="branch">a</stash>
    <else><stash varname="branch">b</stash></else></if>
</dialplan>"""


def test_math_random_is_seeded_per_call() -> None:
    plan = plan_of(RANDOM)
    first = simulate(plan, seed=7).variables["r"]
    assert simulate(plan, seed=7).variables["r"] == first
    draws = {simulate(plan, seed=s).variables["r"] for s in range(50)}
    assert len(draws) == 50
    assert all(0 <= float(d) < 1 for d in draws)
    branches = {simulate(plan, seed=s).stash["branch"] for s in range(50)}
    assert branches == {"a", "b"}


def test_plan_inputs_come_from_the_model() -> None:
    plan = load(
        """<dialplan><play type="tts">${contact.firstName} ${contact.b} ${call.callerid}</play>
        <setvar varname="x">'contact.C Date random'</setvar></dialplan>"""
    )
    got = plan_inputs(plan)
    # text inside the author's string literals is still scanned conservatively for JavaScript
    assert got.contact_keys == ("b", "firstName")
    assert got.call_keys == ("callerid",)
    assert not got.whole_contact and not got.all_call
    plain = plan_inputs(
        load("<dialplan><play type='tts'>contact.A global.date Date</play></dialplan>")
    )
    assert plain == type(plain)((), False, (), False, False, False)  # TTS text is not code
    dynamic = plan_inputs(load("<dialplan><play type='tts'>${contact.${col}}</play></dialplan>"))
    assert dynamic.whole_contact and not dynamic.all_call
    clock = plan_inputs(load("<dialplan><play type='tts'>${global.time}</play></dialplan>"))
    assert clock.clock and not clock.random


def _branch_campaign(tmp_path: Path, name: str) -> dict[str, Any]:
    rows = [
        {"phone_number": f"212555{i:04d}", "first": "Ann", "sim_result": "LA", "sim_inputs": ""}
        for i in range(300)
    ]
    c = campaign(tmp_path, rows, name=name)
    c.dialplan.write_text(RANDOM)
    db = tmp_path / f"{name}.sqlite"
    run_campaign(c, db)
    store = Store(db)
    try:
        return {
            r["phone_number"]: [x["response"] for x in r["responses"]]
            for r in export_rows(store, c.name)
        }
    finally:
        store.close()


def test_a_campaign_branching_on_math_random_takes_both_branches_reproducibly(
    tmp_path: Path,
) -> None:
    first = _branch_campaign(tmp_path / "one", "rand")
    branches = [b for answers in first.values() for b in answers]
    assert len(branches) == 300
    assert 100 < branches.count("a") < 200 and 100 < branches.count("b") < 200
    assert _branch_campaign(tmp_path / "two", "rand") == first


def test_random_and_clock_plans_are_not_reused_from_the_cache() -> None:
    from dialplan.broadcast.telephony.port import CallSpec

    def spec(seed: int, now: float) -> CallSpec:
        return CallSpec("live", (), {}, {}, now, seed)

    runner = EngineRunner(load(RANDOM))
    answers = {runner(spec(s, 0.0)).responses for s in range(40)}
    assert len(answers) == 2 and runner.hits == 0
    timed = EngineRunner(load(DATE.replace('<play type="tts">wait</play>', "")))
    a = timed(spec(0, 1_000_000.0))
    b = timed(spec(0, 1_000_000.5))
    assert timed.hits == 0 and a == timed(spec(0, 1_000_000.0)) and timed.hits == 1
    assert a != b or a.responses == b.responses  # different start, computed afresh
    plain = EngineRunner(load("<dialplan><stash varname='q'>${contact.first}</stash></dialplan>"))
    plain(CallSpec("live", (), {"first": "A"}, {}, 0.0, 1))
    plain(CallSpec("live", (), {"first": "A"}, {}, 5.0, 2))
    assert plain.hits == 1
