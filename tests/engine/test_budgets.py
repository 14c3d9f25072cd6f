"""Per-call budgets (spec §5.4, 2026-12): JavaScript time, one value's length, all values."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from dialplan.drivers.simulate import simulate
from dialplan.engine import effects as fx
from dialplan.engine.context import CallContext
from dialplan.engine.session import CallSession
from dialplan.expr.js import JsSandbox
from tests.engine.util import plan_of

ROOT = Path(__file__).resolve().parents[2]

#: The issue's lint-clean 1.5 KB plan: each value holds the previous one twice.
DOUBLING = (
    "<dialplan>\n<setvar varname='a0'>start</setvar>\n"
    + "".join(
        f"<setvar varname='a{i}'>${{a{i - 1}}} ${{a{i - 1}}} zz</setvar>\n" for i in range(1, 26)
    )
    + "<stash varname='last'>${a25}</stash>\n<hangup/>\n</dialplan>"
)

CHILD = """
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))
from dialplan.drivers.simulate import simulate
from tests.engine.util import plan_of
start = time.process_time()
result = simulate(plan_of(sys.stdin.read()))
# this process's own peak (VmHWM): ru_maxrss keeps the parent's peak across fork and exec, so
# a test run grown past 400 MB made this child look that big
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"outcome": result.outcome, "error": result.error,
                  "cpu": time.process_time() - start, "maxrss_kb": peak}))
"""


def run_capped(xml: str, timeout: float = 120) -> dict[str, object]:
    """Simulate ``xml`` in a child process limited to 1.5 GB of address space."""
    proc = subprocess.run(
        [sys.executable, "-c", CHILD],
        input=xml,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def test_doubling_values_end_the_call_quickly_with_bounded_memory() -> None:
    got = run_capped(DOUBLING)
    assert got["outcome"] == "error"
    assert "max_value_length = 65536" in str(got["error"])
    # a13 would hold 73,724 characters
    assert str(got["error"]).startswith("<setvar> (line 15): ")
    assert float(got["cpu"]) < 5  # type: ignore[arg-type]
    assert int(got["maxrss_kb"]) < 400_000  # type: ignore[call-overload]


def test_all_values_together_are_bounded() -> None:
    # 20 values of 60,000 characters: each is allowed, together they pass 1 MiB
    body = "".join(f"<setvar varname='v{i}'>${{big}}</setvar>" for i in range(20))
    result = simulate(plan_of(f"<dialplan>{body}</dialplan>"), variables={"big": "x" * 60_000})
    assert result.outcome == "error"
    assert "max_values_length = 1048576" in (result.error or "")
    assert "v16" not in result.variables
    small = simulate(plan_of(f"<dialplan>{body}</dialplan>"), variables={"big": "x" * 100})
    assert small.outcome == "hangup"


def test_limits_are_options_and_name_themselves() -> None:
    plan = plan_of("<dialplan><setvar varname='x'>${a}${a}</setvar></dialplan>")
    ok = simulate(plan, variables={"a": "12345"}, max_value_length=10)
    assert ok.outcome == "hangup"
    # "12345" twice is a plain decimal once substituted: code, evaluated to itself
    assert ok.variables["x"] == "1234512345"
    long = simulate(plan, variables={"a": "123456"}, max_value_length=10)
    assert long.outcome == "error"
    assert long.error == (
        "<setvar> (line 1): a substituted text is too long, more than max_value_length = 10"
    )
    stash = simulate(
        plan_of("<dialplan><stash varname='q'>'abc'.repeat(9)</stash></dialplan>"),
        max_value_length=20,
    )
    assert stash.error == (
        "<stash> (line 1): the stashed value of q is 27 characters, more than max_value_length = 20"
    )
    assert stash.effects[-2:] == [fx.Hangup("error"), fx.CallEnded("error", stash.error)]


def test_an_http_body_is_a_value_too() -> None:
    plan = plan_of("<dialplan><get varname='body'>http://127.0.0.1/x</get></dialplan>")
    result = simulate(plan, http={"http://127.0.0.1/x": "y" * 70_000})
    assert result.outcome == "error"
    assert "the value of body is 70000 characters" in (result.error or "")


def _loop_count_for(seconds: float) -> int:
    """Iterations of a JavaScript busy loop that take about ``seconds`` on this machine."""
    js = JsSandbox(time_limit_s=5)
    n = 100_000
    while True:
        start = time.thread_time()
        js.evaluate(f"(function(){{var t=0;for(var i=0;i<{n};i++)t+=i;return t}})()")
        took = time.thread_time() - start
        if took > 0.01:
            return max(1, int(n * seconds / took))
        n *= 4


def test_a_goto_loop_of_slow_javascript_ends_within_the_call_budget() -> None:
    n = _loop_count_for(0.03)  # under the 50 ms limit of one evaluation
    xml = f"""<dialplan>
      <setvar name="L" varname="x">(function(){{var t=0;for(var i=0;i&lt;{n};i++)t+=i;return t}})()</setvar>
      <goto>L</goto></dialplan>"""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_utime
    result = simulate(plan_of(xml))
    cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime - before
    assert result.outcome == "error"
    assert result.error is not None and "js_budget_s = 1 s" in result.error
    assert cpu < 4  # the budget is 1 s of JavaScript; 10,000 steps would be 150 s
    assert result.steps < 200


def test_in_virtual_time_the_budget_is_also_counted_in_evaluations() -> None:
    # cheap evaluations: only the count can stop them, so the result is machine-independent
    xml = """<dialplan><setvar varname="i">0</setvar>
      <setvar name="L" varname="s">'${i}'.length</setvar>
      <setvar varname="i">${i} + 1</setvar><goto>L</goto></dialplan>"""
    first = simulate(plan_of(xml))
    assert first.outcome == "error"
    assert first.error == (
        '<setvar name="L"> (line 2): JavaScript budget of the call exceeded: js_budget_s = 1 s'
        " (in virtual time 1000 evaluations)"
    )
    assert first.variables["i"] == "1000"
    assert simulate(plan_of(xml)).to_dict() == first.to_dict()
    assert simulate(plan_of(xml), js_budget_s=0.5).variables["i"] == "500"


def test_real_time_budget_uses_the_drivers_clock() -> None:
    ticks = iter(float(t) for t in range(1000))
    xml = """<dialplan><setvar name="L" varname="s">'a'.length</setvar><goto>L</goto>
      </dialplan>"""
    ctx = CallContext(js_clock=lambda: next(ticks), js_budget_s=3.0)
    session = CallSession(plan_of(xml), ctx)
    session.start(0.0)
    from dialplan.engine import events as ev

    session.send(ev.Answered("live"), 0.0)
    assert session.done and session.result.outcome == "error"
    assert "js_budget_s = 3 s of JavaScript time used" in (session.result.error or "")
    assert session.budget.evaluations == 3


def test_other_calls_of_a_campaign_are_unaffected(tmp_path: Path) -> None:
    from dialplan.broadcast.reporting.stats import export_rows
    from dialplan.broadcast.service import run_campaign
    from dialplan.broadcast.store.sqlite import Store
    from tests.broadcast.helpers import campaign

    recipients = [
        {"phone_number": f"212555010{i}", "first": n, "sim_result": "LA", "sim_inputs": ""}
        for i, n in enumerate(["Ann", "big", "Cy"], 1)
    ]
    c = campaign(tmp_path, recipients)
    doubling = "".join(
        f"<setvar varname='a{i}'>${{a{i - 1}}} ${{a{i - 1}}} zz</setvar>" for i in range(1, 26)
    )
    c.dialplan.write_text(
        "<dialplan><setvar varname='a0'>x</setvar>"
        f"<if expr=\"'${{contact.first}}' == 'big'\">{doubling}</if>"
        "<stash varname='who'>${contact.first}</stash></dialplan>"
    )
    db = tmp_path / "c.sqlite"
    run_campaign(c, db)
    store = Store(db)
    try:
        rows_out = list(export_rows(store, c.name))
    finally:
        store.close()
    out = {r["attributes"]["first"]: r["responses"] for r in rows_out}
    # the doubling call ended at the limit (no answer stashed); the others ran to the end
    assert out == {
        "Ann": [{"question": "who", "response": "Ann"}],
        "big": [],
        "Cy": [{"question": "who", "response": "Cy"}],
    }


def test_the_limits_are_simulate_options_and_scenario_options(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from dialplan.calltest import run_case, scenario_from_dict
    from dialplan.cli import cli

    xml = tmp_path / "p.xml"
    xml.write_text("<dialplan><setvar varname='x'>${a}${a}</setvar><hangup/></dialplan>")
    args = ["simulate", str(xml), "--var", "a=xyz", "--format", "json"]
    ok = CliRunner().invoke(cli, args)
    assert ok.exit_code == 0, ok.output
    short = CliRunner().invoke(cli, [*args, "--max-value-length", "5"])
    assert short.exit_code == 1
    assert "max_value_length = 5" in json.loads(short.stdout)["error"]
    data = {
        "dialplan": "p.xml",
        "case": [
            {
                "name": "budget",
                "variables": {"a": "xyz"},
                "max_value_length": 5,
                "expect": {"outcome": "error"},
            }
        ],
    }
    scenario = scenario_from_dict(data, "s.calltest.toml")
    assert run_case(plan_of(xml.read_text()), scenario.cases[0], "s").passed
