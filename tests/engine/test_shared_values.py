"""The speed-ups that share or memoise values keep results identical to fresh computation."""

from __future__ import annotations

from dialplan import load
from dialplan.drivers.simulate import simulate
from dialplan.engine import effects as fx
from dialplan.engine.program import program_for
from dialplan.expr import js


def test_literal_value_memo_is_bounded_and_exact() -> None:
    texts = [f"word{i} other" for i in range(js._MEMO_SIZE + 50)] + ["x" * 500]
    for text in texts:
        assert js.literal_value(text, True) == js._literal_value(text, True)
    assert all(len(memo) <= js._MEMO_SIZE for memo in js._memo.values())
    assert "x" * 500 not in js._memo[True]
    # freshness is part of the key: a bare word may be a variable once user code ran
    assert js.literal_value("Homer", True) == "Homer"
    assert js.literal_value("Homer", False) is None
    assert js.literal_value("if", True) is None


def test_shared_effects_equal_fresh_ones() -> None:
    assert fx.stop_collecting(3) == fx.StopCollecting(3)
    assert fx.stop_collecting(10_000) == fx.StopCollecting(10_000)
    assert fx.hangup("error") == fx.Hangup("error")
    assert fx.hangup("odd") == fx.Hangup("odd")


PLAN = """<dialplan name="Root">
  <setvar varname="who">Ann</setvar>
  <play type="tts">  Hello there  </play>
  <play type="tts">Hi ${who}</play>
  <menu name="m" maxDigits="1" timeout="2000">
    <play type="tts">Press 1</play>
    <keypress pressed="1"><stash varname="q">${call.lastinput}</stash></keypress>
  </menu>
</dialplan>"""


def test_play_specs_match_rendering() -> None:
    plan = load(PLAN)
    specs = program_for(plan).plays
    texts = [spec.text for spec in specs.values()]
    assert texts == ["Hello there", None, "Press 1"]  # stripped constants; templates render later
    assert [spec.menu is not None for spec in specs.values()] == [False, False, True]
    result = simulate(plan, inputs=["1"])
    assert result.prompts == ["Hello there", "Hi Ann", "Press 1"]
    plays = [e for e in result.effects if isinstance(e, fx.Play)]
    assert [p.barge_in for p in plays] == [False, False, True]
    assert [p.node for p in plays] == [spec.path for spec in specs.values()]
    assert result.stash == {"q": "1"}


def test_repeated_calls_give_equal_results() -> None:
    plan = load(PLAN)
    first = simulate(plan, inputs=["1"]).to_dict()
    for _ in range(3):
        assert simulate(plan, inputs=["1"]).to_dict() == first


def test_constant_play_effects_are_shared_between_calls_and_equal_fresh_ones() -> None:
    plan = load(PLAN)
    first = [e for e in simulate(plan, inputs=["1"]).effects if isinstance(e, fx.Play)]
    second = [e for e in simulate(plan, inputs=["1"]).effects if isinstance(e, fx.Play)]
    # constant texts ("Hello there", "Press 1") reuse one object per play id; "Hi ${who}" not
    assert [a is b for a, b in zip(first, second, strict=True)] == [True, False, True]
    assert first[0] == fx.Play(
        first[0].play_id, "tts", "Hello there", None, True, False, "Root/play[1]"
    )
    assert first == second
    specs = list(program_for(plan).plays.values())
    assert specs[0].effects == {first[0].play_id: first[0]}
    assert specs[1].effects == {}


def test_play_effects_are_shared_only_for_small_ids() -> None:
    loop = """<dialplan name="Root">
      <setvar varname="n">0</setvar>
      <play type="tts" name="again">Hi</play>
      <setvar varname="n">${n}+1</setvar>
      <if expr="${n} &lt; 70"><goto>again</goto></if>
    </dialplan>"""
    plan = load(loop)
    result = simulate(plan)
    plays = [e for e in result.effects if isinstance(e, fx.Play)]
    assert len(plays) == 70
    assert [p.play_id for p in plays] == list(range(1, 71))
    spec = next(iter(program_for(plan).plays.values()))
    assert sorted(spec.effects) == list(range(1, fx.SHARED_PLAY_IDS))


IDS = """<dialplan name="Root">
  <setvar varname="id">${call.id}/${call.callerid}/${who}</setvar>
</dialplan>"""


def test_shared_call_contexts_keep_calls_apart_and_are_bounded() -> None:
    from dialplan.drivers import simulate as module

    plan = load(IDS)
    assert simulate(plan, call_id="a").variables["id"] == "a/15555550100/"
    assert (
        simulate(plan, call_id="a", variables={"who": "Ann"}).variables["id"] == "a/15555550100/Ann"
    )
    assert simulate(plan, call_id="a").variables["id"] == "a/15555550100/"  # Ann did not stay
    assert simulate(plan, call_id="b", callerid="1").variables["id"] == "b/1/"
    first = simulate(plan, call_id="a")
    first.variables["id"] = "changed by the caller"
    assert simulate(plan, call_id="a").variables["id"] == "a/15555550100/"
    for n in range(module._CONTEXTS_SIZE + 10):
        simulate(plan, call_id=f"c{n}")
    assert len(module._contexts) <= module._CONTEXTS_SIZE


def test_constant_varnames_are_worked_out_once_per_plan() -> None:
    plan = load("""<dialplan name="Root">
      <setvar varname=" who ">Ann</setvar>
      <setvar varname="k${who}">1</setvar>
      <stash varname="q">${kAnn}</stash>
    </dialplan>""")
    names = program_for(plan).names
    assert sorted(names.values()) == ["q", "who"]  # the templated varname is rendered per call
    result = simulate(plan)
    assert result.variables == {"who": "Ann", "kAnn": "1"}
    assert result.stash == {"q": "1"}


def test_stash_responses_are_shared_bounded_and_equal_fresh_ones() -> None:
    assert fx.stash_response("q", "1") is fx.stash_response("q", "1")
    assert fx.stash_response("q", "1") == fx.StashResponse("q", "1")
    long = "x" * 300
    assert fx.stash_response("q", long) == fx.StashResponse("q", long)
    assert ("q", long) not in fx._STASHED
    for n in range(fx._STASHED_SIZE + 10):
        assert fx.stash_response("n", str(n)) == fx.StashResponse("n", str(n))
    assert len(fx._STASHED) <= fx._STASHED_SIZE


def test_menu_collect_effects_are_shared_between_calls() -> None:
    plan = load(PLAN)
    first = [e for e in simulate(plan, inputs=["1"]).effects if isinstance(e, fx.CollectDigits)]
    second = [e for e in simulate(plan, inputs=["1"]).effects if isinstance(e, fx.CollectDigits)]
    assert len(first) == 1 and first[0] is second[0]
    assert first[0] == fx.CollectDigits(first[0].collect_id, 1, 2000)
    table = next(iter(program_for(plan).menus.values()))
    assert table.collects == {first[0].collect_id: first[0]}
