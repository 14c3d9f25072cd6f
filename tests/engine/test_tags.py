"""Tag behaviour from spec §2-§3 through ``simulate`` (small inline dialplans)."""

from __future__ import annotations

from dialplan.drivers.simulate import simulate
from dialplan.engine import effects as fx
from dialplan.engine import events as ev
from dialplan.engine.context import CallContext
from dialplan.engine.result import CallResult
from dialplan.engine.session import CallSession
from tests.engine.util import plan_of


def sim(xml: str, **options: object) -> CallResult:
    return simulate(plan_of(xml), **options)  # type: ignore[arg-type]


def test_if_else_and_continuation_after_the_if() -> None:
    xml = """<dialplan><setvar varname="n">${v}</setvar>
      <if expr="${n} &gt; 5"><play type="tts">big</play>
        <else><play type="tts">small</play></else></if>
      <play type="tts">after</play></dialplan>"""
    assert sim(xml, variables={"v": "9"}).prompts == ["big", "after"]
    small = sim(xml, variables={"v": "1"})
    assert small.prompts == ["small", "after"]
    assert [label for _, label in small.decisions] == ["false"]


def test_a_throwing_condition_is_false() -> None:
    xml = """<dialplan><if expr="nope.x"><play type="tts">t</play>
      <else><play type="tts">f</play></else></if></dialplan>"""
    result = sim(xml)
    assert result.prompts == ["f"] and result.outcome == "hangup"


def test_equal_and_not_equal_compare_numbers_or_trimmed_strings() -> None:
    xml = """<dialplan>
      <equal var="${a}" expr="2+3"><play type="tts">five</play></equal>
      <equal var=" abc " expr="'ab' + 'c'"><play type="tts">abc</play></equal>
      <notEqual var="${a}" expr="5.0"><play type="tts">differs</play></notEqual>
      <equal var="05" expr="5"><play type="tts">numeric</play></equal>
      <notEqual var="x" expr="y"><play type="tts">x is not y</play></notEqual>
    </dialplan>"""
    assert sim(xml, variables={"a": "5"}).prompts == ["five", "abc", "numeric", "x is not y"]


def test_goto_to_the_root_restarts_and_the_step_limit_stops_it() -> None:
    xml = """<dialplan name="Root"><setvar varname="x">1</setvar><goto>Root</goto></dialplan>"""
    result = sim(xml, max_steps=100)
    assert result.outcome == "error" and result.steps == 101
    assert result.error == "step limit exceeded: more than 100 tags executed"


def test_a_menu_loop_without_exit_ends_by_a_limit_not_a_hang() -> None:
    xml = """<dialplan><menu name="m" timeout="5"><play type="tts">Say something</play>
      <keypress pressed="timeout"><goto>m</goto></keypress></menu></dialplan>"""
    result = sim(xml)
    assert result.outcome == "error"
    assert "maximum duration" in (result.error or "") or "step limit" in (result.error or "")
    assert result.duration_s <= 4 * 3600 + 10


def test_waterfall_transfer_and_musiconhold_alias() -> None:
    xml = """<dialplan><transfer mode="waterfall" timeout="10" musiconhold="Silent">
      2135551212,3105551212</transfer><play type="tts">nobody</play></dialplan>"""
    result = sim(xml, transfer="no_answer")
    transfer = next(e for e in result.effects if isinstance(e, fx.Transfer))
    assert transfer.mode == "waterfall" and transfer.musiconhold == "silence"
    assert transfer.numbers == ("2135551212", "3105551212")
    # waterfall: the timeout applies to each number in turn (spec §3.7) → 20 s of ringing
    assert result.prompts == ["nobody"]
    assert 20 <= result.duration_s < 22


def test_transfer_outcomes_can_be_scripted_one_by_one() -> None:
    xml = """<dialplan><transfer>2135551212</transfer><transfer>3105551212</transfer>
      <play type="tts">unreachable</play></dialplan>"""
    result = sim(xml, transfer=["busy", "answered"])
    assert result.outcome == "transfer"
    assert result.transfer == {
        "numbers": ["3105551212"], "mode": "ringall", "callerid": "15555550100",
        "outcome": "answered",
    }  # fmt: skip


def test_digit_catch_interrupts_a_plain_play() -> None:
    xml = """<dialplan><catch type="digit" value="*" goto="out">
      <play type="tts">long message</play><play type="tts">more</play></catch>
      <play name="out" type="tts">caught</play></dialplan>"""
    s = CallSession(plan_of(xml), CallContext())
    s.send(ev.Answered(), 0.0)
    out = s.send(ev.DigitPressed("*"), 1.0)
    assert out[0] == fx.StopPlayback(1)
    assert isinstance(out[1], fx.Play) and out[1].value == "caught"
    # outside the catch the same key is ignored (lexical scope)
    out = s.send(ev.DigitPressed("*"), 2.0)
    assert [type(e) for e in out] == [fx.Log]


def test_innermost_catch_wins() -> None:
    xml = """<dialplan><catch type="digit" value="1" goto="outer">
      <catch type="digit" value="1" goto="inner"><play type="tts">x</play></catch></catch>
      <play name="outer" type="tts">outer</play><hangup/>
      <play name="inner" type="tts">inner</play></dialplan>"""
    s = CallSession(plan_of(xml), CallContext())
    s.send(ev.Answered(), 0.0)
    out = s.send(ev.DigitPressed("1"), 1.0)
    assert isinstance(out[1], fx.Play) and out[1].value == "inner"


def test_hangup_catch_fires_once_and_ends_at_hangup() -> None:
    xml = """<dialplan><catch type="hangup" goto="bye"><menu><play type="tts">q</play>
      <keypress pressed="1"><hangup/></keypress></menu></catch>
      <catch name="bye" type="hangup" goto="bye"><stash varname="gone">yes</stash>
      <transfer>2135551212</transfer><setvar varname="after">1</setvar><hangup/>
      <stash varname="never">x</stash></catch></dialplan>"""
    result = sim(xml, inputs=["hangup"])
    assert result.outcome == "caller_hangup"
    assert result.responses == [{"question": "gone", "response": "yes"}]
    assert result.variables == {"after": "1"}
    assert not any(isinstance(e, fx.Transfer | fx.Hangup) for e in result.effects)


def test_barge_in_keeps_collecting_after_the_prompts() -> None:
    xml = """<dialplan><menu maxDigits="3"><play type="tts">one</play>
      <setvar varname="ran">yes</setvar><play type="tts">two</play>
      <keypress pressed="123"><stash varname="got">123</stash></keypress></menu></dialplan>"""
    s = CallSession(plan_of(xml), CallContext())
    s.send(ev.Answered(), 0.0)
    out = s.send(ev.DigitPressed("1"), 0.5)
    # the prompt stops, the setvar still runs, "two" is skipped, collection goes on
    assert out == [fx.StopPlayback(1), fx.CollectDigits(2, 3, 5000)]
    s.send(ev.DigitPressed("2"), 0.7)
    s.send(ev.DigitPressed("3"), 0.9)
    assert s.result.responses == [{"question": "got", "response": "123"}]
    assert s.result.variables["ran"] == "yes"


def test_wait_dtmf_and_unknown_sdk_tags() -> None:
    xml = """<dialplan><wait>3</wait><dtmf>12w3</dtmf><analytics category="c"/>
      <play type="tts">done</play></dialplan>"""
    result = sim(xml)
    assert result.prompts == ["done"]
    assert fx.Pause(1, 3000) in result.effects and fx.SendDtmf("12w3") in result.effects
    assert result.duration_s >= 3


def test_goto_xml_replaces_the_dialplan_and_keeps_variables() -> None:
    xml = """<dialplan><setvar varname="who">Ann</setvar>
      <gotoXML>http://127.0.0.1/next.xml</gotoXML><play type="tts">old</play></dialplan>"""
    nxt = '<dialplan><play type="tts">new ${who}</play></dialplan>'
    result = sim(xml, http={"http://127.0.0.1/next.xml": nxt})
    assert result.prompts == ["new Ann"]
    failed = sim(xml)
    assert failed.prompts == ["old"]


def test_url_and_callfireid_prompts() -> None:
    xml = """<dialplan><play type="url" cache="false">http://127.0.0.1/${f}.wav</play>
      <play type="callfireid">12345</play></dialplan>"""
    result = sim(xml, variables={"f": "hello"})
    assert result.prompts == ["http://127.0.0.1/hello.wav", "callfireid:12345"]
    first = next(e for e in result.effects if isinstance(e, fx.Play))
    assert first.kind == "url" and first.cache is False


def test_duration_of_a_call_follows_the_virtual_clock() -> None:
    words = " ".join(["word"] * 150)  # 150 words at 150 words a minute: 60 s
    result = sim(f'<dialplan><play type="tts">{words}</play></dialplan>')
    assert result.duration_s == 60.0
