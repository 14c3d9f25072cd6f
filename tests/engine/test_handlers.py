"""The handler contract (issue 16 item 2): every tag has one handler that owns its behaviour,
handlers use the session API only, and the session's wait state is typed."""

from __future__ import annotations

import ast
from pathlib import Path

from dialplan import model
from dialplan.engine import events as ev
from dialplan.engine.handlers import ENTER, HANDLERS, ON_EVENT
from dialplan.engine.session import CallSession
from dialplan.engine.wait import WaitFor
from dialplan.model.tags import LINE_TAG_NAMES, TAGS
from tests.engine.util import plan_of

HANDLER_DIR = Path(__file__).resolve().parents[2] / "dialplan" / "engine" / "handlers"


def test_every_node_class_has_one_handler() -> None:
    node_classes = {
        c
        for c in vars(model).values()
        if isinstance(c, type) and issubclass(c, model.Node) and c is not model.Node
    }
    assert node_classes <= set(HANDLERS)
    assert set(ENTER) == set(ON_EVENT) == set(HANDLERS)


def test_handlers_use_the_session_api_only() -> None:
    """No handler reads or writes a private field of the session (``s._…``)."""
    offenders = []
    for path in sorted(HANDLER_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "s"
                and node.attr.startswith("_")
            ):
                offenders.append(f"{path.name}:{node.lineno} s.{node.attr}")
    assert offenders == []


def test_the_tags_that_need_the_line_come_from_the_tag_table() -> None:
    assert {"play", "menu", "record", "transfer", "dtmf", "wait"} == LINE_TAG_NAMES
    assert all(TAGS[name].needs_line for name in LINE_TAG_NAMES)


def test_the_wait_state_is_typed_and_names_the_waiting_node() -> None:
    plan = plan_of(
        """<dialplan><play type="tts">hi</play>
        <menu maxDigits="1" timeout="2000"><play type="tts">press</play></menu></dialplan>"""
    )
    s = CallSession(plan)
    s.start(0.0)
    assert s.waits_for is WaitFor.ANSWER and s.wait_node is None
    effects = s.send(ev.Answered("live"), 0.0)
    assert s.waits_for is WaitFor.PLAY and s.wait_node is plan.nodes[1]
    play_id = effects[-1].play_id  # type: ignore[union-attr]
    assert s.send(ev.PlaybackDone(play_id + 7), 1.0) == []  # not the awaited prompt: ignored
    s.send(ev.PlaybackDone(play_id), 1.0)
    s.send(ev.PlaybackDone(play_id + 1), 2.0)
    assert s.waits_for is WaitFor.INPUT and s.wait_node is plan.nodes[2]
    s.send(ev.DigitPressed("4"), 3.0)
    assert s.done and s.result.outcome == "hangup" and s.lastinput == "4"


def test_digits_reach_the_waiting_node_or_a_catch() -> None:
    plan = plan_of(
        """<dialplan><catch type="digit" value="9" goto="out">
          <get varname="b">http://127.0.0.1/x</get><play type="tts">after</play></catch>
          <play name="out" type="tts">caught</play></dialplan>"""
    )
    s = CallSession(plan)
    s.start(0.0)
    s.send(ev.Answered("live"), 0.0)
    assert s.waits_for is WaitFor.HTTP
    ignored = s.send(ev.DigitPressed("5"), 1.0)
    assert [e.message for e in ignored] == [  # type: ignore[union-attr]
        "digit 5 pressed while no input was expected; ignored"
    ]
    s.send(ev.DigitPressed("9"), 2.0)  # the <get>'s handler passes it to the catch in scope
    assert s.waits_for is WaitFor.PLAY and s.result.prompts == ["caught"]
    assert s.result.decisions == [(1, "fired")]
