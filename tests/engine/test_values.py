"""Variables (spec §4) and expressions (spec §5) as a call sees them."""

from __future__ import annotations

from dialplan.drivers.simulate import simulate
from dialplan.engine import effects as fx
from tests.engine.util import plan_of


def said(xml: str, **options: object) -> list[str]:
    return simulate(plan_of(xml), **options).prompts  # type: ignore[arg-type]


def test_global_date_and_time_come_from_the_injected_clock() -> None:
    xml = """<dialplan><play type="tts">${global.date}|${global.time}|${global.time.hour}|
      ${global.time.hour.military}|${global.date.month}|${global.date.day}|${global.date.year}|
      ${global.date.dayOfWeek}</play></dialplan>"""
    # 2026-03-08 is a Sunday (dayOfWeek 1); 09:05:07 UTC
    assert said(xml, now="2026-03-08T09:05:07Z") == ["03/08/2026|09:05:07|9| 9|3|8|2026| 1"]
    # 2026-03-14 Saturday 23:59:59 UTC: 12-hour clock 11, dayOfWeek 7
    assert said(xml, now="2026-03-14T23:59:59Z") == ["03/14/2026|23:59:59|11| 23|3|14|2026| 7"]
    assert said(xml, now="2026-03-14T00:00:00Z")[0].split("|")[2] == "12"


def test_call_variables() -> None:
    xml = """<dialplan><menu maxDigits="3"><play type="tts">x</play></menu>
      <play type="tts">${call.callerid}/${call.phonenumber}/${call.id}/${call.lastinput}/${call.dnis}</play>
      <play name="here" type="tts">${call.path}</play></dialplan>"""
    prompts = said(xml, inputs=["42#"], callerid="12135550100", phonenumber="13105550199")
    assert prompts[1] == "12135550100/13105550199/sim-1/42/"
    assert prompts[2] == "dialplan/here"


def test_lastinput_is_empty_after_a_timeout_and_kept_until_the_next_input() -> None:
    xml = """<dialplan>
      <menu maxDigits="1"><play type="tts">a</play></menu>
      <play type="tts">[${call.lastinput}]</play>
      <menu maxDigits="1"><play type="tts">b</play></menu>
      <play type="tts">[${call.lastinput}]</play>
      <setvar varname="x">1</setvar>
      <play type="tts">[${call.lastinput}]</play></dialplan>"""
    assert said(xml, inputs=["7", "timeout"]) == ["a", "[7]", "b", "[]", "[]"]


def test_contact_fields_and_columns() -> None:
    xml = """<dialplan><play type="tts">${contact.firstName} ${contact.A} ${contact.zz}
      ${contact.b} ${contact.firstname}.</play></dialplan>"""
    contact = {"firstName": "Ann", "a": "col-a", "ZZ": "col-zz", "B": "col-b"}
    # columns are case-insensitive; named fields are exact (firstname is not firstName)
    assert said(xml, contact=contact) == ["Ann col-a col-zz col-b ."]


def test_nested_references_and_undefined_variables() -> None:
    xml = """<dialplan>
      <setvar varname="n">2</setvar><setvar varname="pick2">two</setvar>
      <setvar varname="inner">n</setvar>
      <play type="tts">${pick${n}} ${pick${${inner}}} [${missing}] $5 and {x}</play></dialplan>"""
    result = simulate(plan_of(xml))
    assert result.prompts == ["two two [] $5 and {x}"]
    warnings = [e for e in result.effects if isinstance(e, fx.Log) and e.level == "warning"]
    assert any("${missing}" in w.message for w in warnings)


def test_preset_variables_and_javascript_values() -> None:
    xml = """<dialplan>
      <setvar varname="sum">${a} + 1</setvar>
      <setvar varname="text">Homer Simpson</setvar>
      <setvar varname="url">http://127.0.0.1/a?b=1&amp;c=2</setvar>
      <setvar varname="b">false</setvar>
      <setvar varname="pad">'${a}'.length &gt; 1 ? 'long' : 'short'</setvar>
      <setvar varname="dec">1.50</setvar>
      <stash varname="calc">${sum} * 2</stash>
    </dialplan>"""
    result = simulate(plan_of(xml), variables={"a": "41"})
    assert result.variables == {
        "a": "41",
        "sum": "42",
        "text": "Homer Simpson",
        "url": "http://127.0.0.1/a?b=1&c=2",
        "b": "false",
        "pad": "long",
        "dec": "1.5",
    }
    assert result.responses == [{"question": "calc", "response": "84"}]


def test_a_repeated_stash_keeps_its_first_position_and_takes_the_new_value() -> None:
    xml = """<dialplan><stash varname="q1">a</stash><stash varname="q2">b</stash>
      <stash varname="q1">c</stash></dialplan>"""
    assert simulate(plan_of(xml)).responses == [
        {"question": "q1", "response": "c"},
        {"question": "q2", "response": "b"},
    ]


def test_stash_does_not_define_a_variable() -> None:
    xml = """<dialplan><stash varname="q">yes</stash><play type="tts">[${q}]</play></dialplan>"""
    assert said(xml) == ["[]"]


def test_javascript_state_is_not_shared_between_calls() -> None:
    xml = """<dialplan><setvar varname="before">typeof leaked</setvar>
      <setvar varname="x">globalThis.leaked = 1</setvar></dialplan>"""
    plan = plan_of(xml)
    assert simulate(plan).variables["before"] == "undefined"
    assert simulate(plan).variables["before"] == "undefined"


def test_javascript_has_no_host_functions() -> None:
    xml = """<dialplan><setvar varname="r">typeof require + typeof process + typeof fetch</setvar>
      </dialplan>"""
    assert simulate(plan_of(xml)).variables["r"] == "undefinedundefinedundefined"


def test_runaway_javascript_in_a_condition_is_a_runtime_error() -> None:
    xml = """<dialplan><play type="tts">hi</play><if expr="(function(){while(true){}})()">
      <play type="tts">never</play></if></dialplan>"""
    result = simulate(plan_of(xml))
    assert result.outcome == "error"
    assert "<if>" in (result.error or "") and "line 1" in (result.error or "")
    assert result.prompts == ["hi"]
    assert result.effects[-2:] == [fx.Hangup("error"), fx.CallEnded("error", result.error)]


def test_memory_hungry_javascript_is_a_runtime_error_for_that_call_only() -> None:
    hog = plan_of('<dialplan><setvar varname="x">"x".repeat(1e8)</setvar></dialplan>')
    result = simulate(hog)
    assert result.outcome == "error"
    assert result.error == "JavaScript in <setvar> (line 1) stopped: memory limit of 16 MB exceeded"
    assert simulate(
        plan_of("<dialplan><setvar varname='y'>'ok'</setvar></dialplan>")
    ).variables == {"y": "ok"}


def test_time_limit_message_and_a_throwing_value_falls_back_to_its_text() -> None:
    spin = plan_of("<dialplan><setvar varname='x'>for(;;){}</setvar></dialplan>")
    assert simulate(spin).error == (
        "JavaScript in <setvar> (line 1) stopped: time limit of 50 ms exceeded"
    )
    thrower = plan_of("<dialplan><setvar varname='x'>throw new Error('boom')</setvar></dialplan>")
    assert simulate(thrower).variables == {"x": "throw new Error('boom')"}
