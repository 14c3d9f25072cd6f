"""The sans-IO engine driven event by event: effects out for events in (spec §2, §3)."""

from __future__ import annotations

from dialplan.engine import effects as fx
from dialplan.engine import events as ev
from dialplan.engine.context import CallContext
from dialplan.engine.session import CallSession
from tests.engine.util import plan_of

MENU = """<dialplan name="Root">
  <menu name="Main" maxDigits="1" timeout="3">
    <play type="tts">Press 1 for sales.</play>
    <play type="tts">Press 2 for support.</play>
    <keypress pressed="1"><stash varname="dept">sales</stash><hangup/></keypress>
    <keypress pressed="timeout"><play type="tts">Bye.</play></keypress>
  </menu>
</dialplan>"""


def session(xml: str, **context: object) -> CallSession:
    return CallSession(plan_of(xml), CallContext(**context))  # type: ignore[arg-type]


def test_nothing_runs_before_the_call_is_answered() -> None:
    s = session(MENU)
    assert s.start(0.0) == []
    out = s.send(ev.Answered("live"), 1.0)
    assert out == [fx.Play(1, "tts", "Press 1 for sales.", barge_in=True, node="Root/Main/play[1]")]


def test_menu_prompts_then_input_timer_then_branch() -> None:
    s = session(MENU)
    s.send(ev.Answered(), 0.0)
    out = s.send(ev.PlaybackDone(1), 2.0)
    assert [type(e) for e in out] == [fx.Play]
    out = s.send(ev.PlaybackDone(2), 4.0)
    assert out == [fx.CollectDigits(3, max_digits=1, timeout_ms=3000)]
    out = s.send(ev.DigitPressed("1"), 5.0)
    assert out == [
        fx.StopCollecting(3),
        fx.StashResponse("dept", "sales"),
        fx.Hangup("hangup"),
        fx.CallEnded("hangup"),
    ]
    assert s.done and s.result.outcome == "hangup"
    assert s.result.responses == [{"question": "dept", "response": "sales"}]
    assert s.result.duration_s == 5.0
    assert s.send(ev.DigitPressed("2"), 6.0) == []


def test_stale_timer_and_playback_events_are_ignored() -> None:
    s = session(MENU)
    s.send(ev.Answered(), 0.0)
    assert s.send(ev.PlaybackDone(99), 1.0) == []
    assert s.send(ev.InputTimeout(1), 1.0) == []
    assert not s.done


def test_timeout_selects_the_timeout_branch_and_lastinput_is_empty() -> None:
    s = session(MENU)
    s.send(ev.Answered(), 0.0)
    s.send(ev.PlaybackDone(1), 1.0)
    s.send(ev.PlaybackDone(2), 2.0)
    out = s.send(ev.InputTimeout(3), 5.0)
    assert out == [fx.Play(4, "tts", "Bye.", node="Root/Main/keypress[2]/play[1]")]
    out = s.send(ev.PlaybackDone(4), 6.0)
    assert out == [fx.Hangup("hangup"), fx.CallEnded("hangup")]  # implicit hangup (§2.1)
    assert s.result.decisions == [(1, "timeout")]


def test_barge_in_stops_the_prompt_and_skips_the_remaining_audio() -> None:
    s = session(MENU)
    s.send(ev.Answered(), 0.0)
    out = s.send(ev.DigitPressed("1"), 0.5)
    # maxDigits=1 is reached by the barged digit: no second prompt, no input timer
    assert out[0] == fx.StopPlayback(1)
    assert fx.StashResponse("dept", "sales") in out
    assert not any(isinstance(e, fx.Play | fx.CollectDigits) for e in out)
    assert s.result.prompts == ["Press 1 for sales."]


MULTI = """<dialplan>
  <menu maxDigits="4" timeout="2">
    <play type="tts">Extension?</play>
    <keypress pressed="100-199"><stash varname="r">range</stash></keypress>
    <keypress pressed="12"><stash varname="r">literal</stash></keypress>
    <keypress pressed="#"><stash varname="r">pound</stash></keypress>
    <keypress pressed="default"><stash varname="r">other ${call.lastinput}</stash></keypress>
  </menu>
</dialplan>"""


def run_keys(xml: str, keys: str, timeout_after: bool = False) -> CallSession:
    s = session(xml)
    s.send(ev.Answered(), 0.0)
    s.send(ev.PlaybackDone(1), 1.0)
    t = 1.0
    for key in keys:
        t += 0.2
        s.send(ev.DigitPressed(key), t)
    if timeout_after and not s.done:
        s.send(ev.InputTimeout(2), t + 2)
    return s


def test_pound_ends_entry_and_is_not_part_of_lastinput() -> None:
    s = run_keys(MULTI, "150#")
    assert s.result.stash == {"r": "range"}
    assert s.lastinput == "150"


def test_literal_before_range_and_pound_alone_is_an_input() -> None:
    assert run_keys(MULTI, "12#").result.stash == {"r": "literal"}
    assert run_keys(MULTI, "#").result.stash == {"r": "pound"}


def test_inter_digit_timeout_completes_a_partial_entry() -> None:
    s = run_keys(MULTI, "99", timeout_after=True)
    assert s.result.stash == {"r": "other 99"}
    assert s.result.decisions == [(1, "default")]


def test_max_digits_completes_entry() -> None:
    assert run_keys(MULTI, "1999").result.stash == {"r": "other 1999"}


def test_no_default_falls_through_after_the_menu() -> None:
    xml = """<dialplan><menu maxDigits="1"><play type="tts">Q</play>
      <keypress pressed="1"><stash varname="a">one</stash></keypress></menu>
      <stash varname="after">yes</stash></dialplan>"""
    s = run_keys(xml, "7")
    assert s.result.stash == {"after": "yes"}
    assert s.result.decisions == [(1, "no match")]


def test_hangup_catch_runs_non_audio_tags_only() -> None:
    xml = """<dialplan>
      <catch type="hangup" goto="save">
        <play type="tts">Talking</play>
      </catch>
      <play name="save" type="tts">skipped</play>
      <stash varname="left">early</stash>
      <menu><play type="tts">skipped too</play><keypress pressed="1"><hangup/></keypress></menu>
      <post>http://127.0.0.1/x</post>
    </dialplan>"""
    s = session(xml)
    s.send(ev.Answered(), 0.0)
    out = s.send(ev.CallerHangup(), 1.0)
    assert out == [
        fx.StashResponse("left", "early"),
        fx.HttpRequest(2, "POST", "http://127.0.0.1/x"),
    ]
    out = s.send(ev.HttpDone(2, 200, "ok"), 1.2)
    assert out == [fx.CallEnded("caller_hangup")]
    assert s.result.decisions == [(1, "fired")]


def test_caller_hangup_without_catch_ends_the_call() -> None:
    s = session(MENU)
    s.send(ev.Answered(), 0.0)
    assert s.send(ev.CallerHangup(), 1.0) == [fx.CallEnded("caller_hangup")]
    assert s.result.outcome == "caller_hangup"


def test_digit_catch_preempts_the_first_key_only() -> None:
    xml = """<dialplan>
      <catch type="digit" value="0" goto="operator">
        <menu maxDigits="2"><play type="tts">Q</play>
          <keypress pressed="10"><stash varname="k">ten</stash><hangup/></keypress>
        </menu>
      </catch>
      <stash name="operator" varname="k">operator</stash>
    </dialplan>"""
    assert run_keys(xml, "10").result.stash == {"k": "ten"}
    s = run_keys(xml, "0")
    assert s.result.stash == {"k": "operator"}
    assert (1, "fired") in s.result.decisions


def test_transfer_effect_and_outcomes() -> None:
    xml = """<dialplan>
      <transfer mode="waterfall" timeout="20" callerid="${call.phonenumber}" whisper-tts="Hi"
        continue-after="true">2135551212, 3105551212</transfer>
      <transfer>15551234567</transfer>
      <stash varname="never">x</stash>
    </dialplan>"""
    s = session(xml, phonenumber="15555550123", callerid="15555550100")
    out = s.send(ev.Answered(), 0.0)
    assert out == [
        fx.Transfer(
            ("2135551212", "3105551212"),
            "waterfall",
            "15555550123",
            20,
            "ringing",
            "Hi",
            True,
        )
    ]
    out = s.send(ev.TransferDone("answered", 30.0), 50.0)  # continue-after: back to the plan
    assert out == [fx.Transfer(("15551234567",), "ringall", "15555550100", 30)]
    out = s.send(ev.TransferDone("answered", 10.0), 90.0)
    assert out == [fx.Hangup("transfer"), fx.CallEnded("transfer")]
    assert s.result.transfer == {
        "numbers": ["15551234567"],
        "mode": "ringall",
        "callerid": "15555550100",
        "outcome": "answered",
    }


def test_unanswered_transfer_continues_with_the_next_node() -> None:
    xml = "<dialplan><transfer>2135551212</transfer><stash varname='t'>missed</stash></dialplan>"
    s = session(xml)
    s.send(ev.Answered(), 0.0)
    s.send(ev.TransferDone("no_answer"), 30.0)
    assert s.result.stash == {"t": "missed"} and s.result.outcome == "hangup"


def test_step_limit_ends_a_runaway_loop_with_an_error() -> None:
    xml = """<dialplan><setvar name="a" varname="x">1</setvar><goto>a</goto></dialplan>"""
    s = session(xml, max_steps=500)
    out = s.send(ev.Answered(), 0.0)
    assert out[-2:] == [
        fx.Hangup("error"),
        fx.CallEnded("error", "step limit exceeded: more than 500 tags executed"),
    ]
    assert s.result.outcome == "error" and s.result.steps == 501


def test_duration_limit_ends_the_call_with_an_error() -> None:
    s = session(MENU, max_duration_s=60)
    s.start(0.0)
    s.send(ev.Answered(), 0.0)
    out = s.send(ev.PlaybackDone(1), 61.0)
    assert out[-1] == fx.CallEnded("error", "call exceeded the maximum duration of 60 s")


def test_runaway_javascript_ends_only_that_call() -> None:
    xml = """<dialplan><setvar varname="x">(function(){while(true){}})()</setvar></dialplan>"""
    s = session(xml, js_time_limit_s=0.05)
    s.send(ev.Answered(), 0.0)
    assert s.result.outcome == "error"
    assert "setvar" in (s.result.error or "") and "line 1" in (s.result.error or "")
    other = session("<dialplan><setvar varname='x'>1+1</setvar></dialplan>")
    other.send(ev.Answered(), 0.0)
    assert other.result.outcome == "hangup" and other.result.variables == {"x": "2"}


def test_record_and_http_set_their_variables() -> None:
    xml = """<dialplan>
      <record name="msg" varname="rec" timeout="30"/>
      <get varname="body">http://127.0.0.1/a?x=${rec}</get>
      <post varname="failed">http://127.0.0.1/b</post>
    </dialplan>"""
    s = session(xml)
    out = s.send(ev.Answered(), 0.0)
    assert out == [fx.Record(1, "msg", 30_000)]
    out = s.send(ev.RecordingDone(1, "http://rec/msg.mp3", 4.0), 5.0)
    assert out == [fx.HttpRequest(2, "GET", "http://127.0.0.1/a?x=http://rec/msg.mp3")]
    out = s.send(ev.HttpDone(2, 200, "  hello \n"), 5.2)
    assert out == [fx.HttpRequest(3, "POST", "http://127.0.0.1/b")]
    out = s.send(ev.HttpDone(3, 500, "oops"), 5.4)
    assert isinstance(out[0], fx.Log) and out[0].level == "warning"
    assert s.result.variables == {"rec": "http://rec/msg.mp3", "body": "hello", "failed": ""}


def test_sms_dnc_and_background_record() -> None:
    xml = """<dialplan>
      <record varname="bg" background="true" name="whole"/>
      <sms to="${call.phonenumber}">Hi ${contact.firstName}</sms>
      <dnc>${call.phonenumber}</dnc>
    </dialplan>"""
    s = session(xml, phonenumber="15555550123", contact={"firstName": "Ann"}, call_id="c9")
    out = s.send(ev.Answered(), 0.0)
    assert out[:3] == [
        fx.Record(1, "whole", 60_000, background=True, beep=False),
        fx.SendSms("15555550123", "Hi Ann"),
        fx.AddToDnc("15555550123"),
    ]
    assert s.result.variables == {"bg": "recording://c9/whole.mp3"}
