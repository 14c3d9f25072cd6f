"""Blocks, jumps and the end of the call: dialplan, keypress/live/machine/else/catch bodies,
``<goto>``, ``<hangup>``, the start of the call, and tags that do nothing at run time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...model import (
    Catch,
    Dialplan,
    Else,
    Goto,
    Hangup,
    Keypress,
    Live,
    Machine,
    Node,
    Unknown,
)
from .. import events as ev

if TYPE_CHECKING:
    from ..session import CallSession


def enter(s: CallSession, node: Node) -> None:
    """A block runs its children in order (an empty one is simply done)."""
    s.next = s.program.enter[node]


def goto(s: CallSession, node: Goto) -> None:
    target = s.plan.resolve(node.target)
    if target is None:
        s.fail(f"{s.where(node)}: no node is named {node.target!r}")
        return
    if s.ctx.trace:
        s.trace("ivr", f"goto {node.target}")
    s.barge = None  # digits typed into a menu we jump away from are dropped
    s.next = target


def hangup(s: CallSession, node: Hangup) -> None:
    if s.ctx.trace:
        s.trace("ivr", "hangs up")
    s.finish("caller_hangup" if s.line_gone else "hangup", "hangup")


def unknown(s: CallSession, node: Unknown) -> None:
    s.log("info", f"{node.label} does nothing at run time; skipped")


def answered(s: CallSession, event: ev.Answered) -> None:
    if s.wait != "answer":
        return
    s.answered_by = event.answered_by if event.answered_by in ("live", "machine") else "live"
    s.wait = None
    s.next = s.plan.root
    if s.ctx.trace:
        s.trace("call", f"answered ({s.answered_by})")


HANDLERS: dict[type, Any] = {
    Dialplan: enter,
    Keypress: enter,
    Live: enter,
    Machine: enter,
    Else: enter,
    Catch: enter,
    Goto: goto,
    Hangup: hangup,
    Unknown: unknown,
}
EVENTS: dict[type, Any] = {ev.Answered: answered}
