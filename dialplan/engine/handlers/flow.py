"""Blocks, jumps and the end of the call: dialplan, keypress/live/machine/else/catch bodies,
``<goto>``, ``<hangup>``, and tags that do nothing at run time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...model import Dialplan, Else, Goto, Hangup, Keypress, Live, Machine, Node, Unknown

if TYPE_CHECKING:
    from ..session import CallSession


def enter(s: CallSession, node: Node) -> None:
    """A block runs its children in order (an empty one is simply done)."""
    s.jump(s.program.enter[node])


def goto(s: CallSession, node: Goto) -> None:
    target = s.plan.resolve(node.target)
    if target is None:
        s.fail(f"{s.where(node)}: no node is named {node.target!r}")
        return
    if s.ctx.trace:
        s.trace("ivr", f"goto {node.target}")
    s.input.barge = None  # digits typed into a menu we jump away from are dropped
    s.jump(target)


def hangup(s: CallSession, node: Hangup) -> None:
    if s.ctx.trace:
        s.trace("ivr", "hangs up")
    s.finish("caller_hangup" if s.line_gone else "hangup", "hangup")


def unknown(s: CallSession, node: Unknown) -> None:
    s.log("info", f"{node.label} does nothing at run time; skipped")


HANDLERS: dict[type, tuple[Any, Any]] = {
    Dialplan: (enter, None),
    Keypress: (enter, None),
    Live: (enter, None),
    Machine: (enter, None),
    Else: (enter, None),
    Goto: (goto, None),
    Hangup: (hangup, None),
    Unknown: (unknown, None),
}
