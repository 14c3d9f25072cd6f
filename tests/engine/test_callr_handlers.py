"""The Callr front-end's handlers: scripts see variables as data, run variables, fetch, log."""

from __future__ import annotations

import json
from pathlib import Path

import dialplan
from dialplan.engine import effects as fx


def scenario(actions: str, variables: str = "") -> bytes:
    head = "dialplan: yaml\n" + (f"variables:\n{variables}" if variables else "")
    return (head + "branches:\n  inbound-call:\n    actions:\n" + actions).encode()


def test_variables_reach_javascript_as_data_never_as_code() -> None:
    hostile = "'); $result = 'owned'; ('"
    plan = scenario(
        "      - action: javascript@v1\n        params:\n          code: $copy = $name + '!'\n",
        "  $name: x\n  $result: safe\n",
    )
    result = dialplan.simulate(plan, contact={"name": hostile})
    assert result.variables["copy"] == hostile + "!"
    assert result.variables["result"] == "safe"


def test_expressions_in_text_see_variables_and_results_as_objects() -> None:
    plan = scenario(
        "      - action: gather@v2\n"
        "        params:\n"
        "          maxDigits: 2\n"
        "          prompt:\n"
        "            what: Two digits please.\n"
        "          result: $answer\n"
        "      - action: say@v2\n"
        "        params:\n"
        "          what: You typed ${{ $answer.input * 2 }} halved, ${{ $who }}.\n",
        "  $who: Ana\n",
    )
    result = dialplan.simulate(plan, inputs=["21"])
    assert result.prompts[-1] == "You typed 42 halved, Ana."


def test_counter_arithmetic_and_conditions() -> None:
    plan = scenario(
        "      - action: javascript@v1\n"
        "        params:\n"
        "          code: $n--; $n--\n"
        "      - if: $n == 1\n"
        "        then:\n"
        "          - action: say@v2\n"
        "            params:\n"
        "              what: one left\n"
        "        else:\n"
        "          - action: say@v2\n"
        "            params:\n"
        "              what: other\n",
        "  $n: 3\n",
    )
    result = dialplan.simulate(plan)
    assert result.variables["n"] == "1"
    assert result.prompts == ["one left"]


def test_fetch_sends_method_headers_and_body_and_stores_the_answer() -> None:
    plan = scenario(
        "      - action: fetch@v2\n"
        "        params:\n"
        "          url: https://api.example.com/v/${{ $id }}\n"
        "          method: put\n"
        "          headers:\n"
        "            X-Id: ${{ $id }}\n"
        "          body: '{\"id\": ${{ JSON.stringify($id) }}}'\n"
        "          result: $answer\n"
        "      - action: log@v1\n"
        "        params:\n"
        "          message: got ${answer.body}\n",
        "  $id: a7\n",
    )
    result = dialplan.simulate(plan, http={"https://api.example.com/v/a7": "fine"})
    (request,) = [e for e in result.effects if isinstance(e, fx.HttpRequest)]
    assert (request.method, request.url) == ("PUT", "https://api.example.com/v/a7")
    assert request.headers == (("X-Id", "a7"),)
    assert json.loads(request.body) == {"id": "a7"}
    assert result.variables["answer.body"] == "fine"
    logs = [e.message for e in result.effects if isinstance(e, fx.Log)]
    assert "got fine" in logs


def test_a_throwing_script_is_a_warning_not_a_crash() -> None:
    plan = scenario("      - action: javascript@v1\n        params:\n          code: nope(\n")
    result = dialplan.simulate(plan)
    assert result.outcome == "hangup"
    assert any(
        isinstance(e, fx.Log) and e.level == "warning" and "JavaScript failed" in e.message
        for e in result.effects
    )


def test_predefined_call_run_and_now_variables() -> None:
    code = "$who = $call.callerid + ' ' + $run.variables.userID + ' ' + new Date($now).getUTCFullYear()"
    plan = scenario(f"      - action: javascript@v1\n        params:\n          code: {code}\n")
    result = dialplan.simulate(
        plan, callerid="15555550100", contact={"userID": "7"}, now="2026-12-06T10:00:00Z"
    )
    assert result.variables["who"] == "15555550100 7 2026"
    assert "run" not in result.variables and "call.id" not in result.variables


def test_dial_outside_the_broadcast_leg_is_a_transfer() -> None:
    plan = scenario(
        "      - action: dial@v1\n"
        "        params:\n"
        "          targets:\n"
        "            - number: '+15550103000'\n"
        "            - number: ${{ $backup }}\n"
        "          timeout: 20\n"
        "      - action: say@v2\n"
        "        params:\n"
        "          what: Nobody answered.\n",
        "  $backup: '+15550103001'\n",
    )
    result = dialplan.simulate(plan, transfer="no_answer")
    assert result.transfer is not None
    assert result.transfer["numbers"] == ["+15550103000", "+15550103001"]
    assert result.prompts == ["Nobody answered."]
    transfers = [e for e in result.effects if isinstance(e, fx.Transfer)]
    assert transfers[0].timeout_s == 20


def test_what_a_scenario_depends_on_for_the_campaign_result_cache() -> None:
    from dialplan.engine.inputs import plan_inputs

    reminder = plan_inputs(
        dialplan.load(
            Path(__file__).resolve().parents[2] / "examples" / "appointment-reminder.yaml"
        )
    )
    assert reminder.whole_contact and reminder.all_call  # run variables, $call
    assert not reminder.clock and not reminder.random
    clocked = scenario(
        "      - action: javascript@v1\n        params:\n          code: $t = $now + Math.random()\n"
    )
    found = plan_inputs(dialplan.load(clocked))
    assert found.clock and found.random
