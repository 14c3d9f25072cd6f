"""``<catch>`` scopes (spec §2.5): digit catches and the caller's hang-up."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...model import Catch
from ..wait import WaitFor
from .flow import enter

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
    s.jump(target)


def stray_digit(s: CallSession, key: str, *, log: bool = True) -> None:
    """A key while no menu collects input: a digit catch in scope fires, else it is ignored."""
    found = digit_catch(s, key)
    if found is not None:
        s.trace("caller", f"presses {key}")
        fire(s, found)
    elif log:
        s.log("info", f"digit {key} pressed while no input was expected; ignored")


def on_caller_hangup(s: CallSession) -> None:
    s.trace("caller", "hangs up")
    if s.lose_line():
        return
    if s.waits_for is WaitFor.ANSWER:
        s.finish("caller_hangup", None)
        return
    if not s.hangup_catch_fired:
        for c in _scope(s):
            if c.type == "hangup":
                s.hangup_catch_fired = True
                fire(s, c, line_up=False)
                return
    s.finish("caller_hangup", None)


HANDLERS: dict[type, tuple[Any, Any]] = {Catch: (enter, None)}
