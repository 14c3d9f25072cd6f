"""``<catch>`` scopes (spec §2.5): digit catches and the caller's hang-up."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...model import Catch
from .. import events as ev

if TYPE_CHECKING:
    from ..session import CallSession


def _scope(s: CallSession) -> tuple[Catch, ...]:
    node = s.node
    if node is None:
        return ()
    return s.program.catches.get(node, ())


def digit_catch(s: CallSession, key: str) -> Catch | None:
    """The innermost active digit catch for ``key``, if any."""
    for c in _scope(s):
        if c.type == "digit" and (c.value or "").strip() == key:
            return c
    return None


def fire(s: CallSession, c: Catch, *, line_up: bool = True) -> None:
    """Jump to the catch's target, interrupting whatever runs."""
    target = s.plan.resolve(c.goto)
    s.cancel_wait(line_up=line_up)
    s.decide(c, "fired")
    if target is None:
        s.fail(f"{s.where(c)}: no node is named {c.goto!r}")
        return
    s.trace("ivr", f"catch {c.type}: goto {c.goto}")
    s.next = target


def on_caller_hangup(s: CallSession, event: ev.CallerHangup) -> None:
    s.trace("caller", "hangs up")
    if s.line_gone:
        return
    s.line_gone = True
    if s.wait == "answer":
        s.finish("caller_hangup", None)
        return
    if not s.hangup_catch_fired:
        for c in _scope(s):
            if c.type == "hangup":
                s.hangup_catch_fired = True
                fire(s, c, line_up=False)
                return
    s.finish("caller_hangup", None)


HANDLERS: dict[type, Any] = {}
EVENTS: dict[type, Any] = {ev.CallerHangup: on_caller_hangup}
