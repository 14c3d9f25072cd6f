"""``${call.ani}``: a known system variable (no lint warning) that the engine fills from the
context (the caller ID when the network gave no separate ANI)."""

from __future__ import annotations

import dialplan
from dialplan.engine.context import CallContext
from dialplan.engine.session import CallSession

PLAN = '<dialplan><stash varname="ani">${call.ani}</stash><hangup/></dialplan>'


def test_call_ani_is_known_to_lint() -> None:
    assert [d.code for d in dialplan.lint(PLAN)] == []


def _stash(context: CallContext) -> dict[str, str]:
    session = CallSession(dialplan.load(PLAN), context)
    session.start(0.0)
    from dialplan.engine import events as ev

    session.send(ev.Answered("live"), 0.0)
    return session.result.stash


def test_call_ani_comes_from_the_context() -> None:
    assert _stash(CallContext(callerid="1555", ani="1666")) == {"ani": "1666"}
    assert _stash(CallContext(callerid="1555")) == {"ani": "1555"}
