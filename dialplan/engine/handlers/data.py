"""Values: ``<setvar>`` (a variable) and ``<stash>`` (an answer in the call's result record)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...model import Setvar, Stash

if TYPE_CHECKING:
    from ..session import CallSession


def setvar(s: CallSession, node: Setvar) -> None:
    name = s.program.names.get(node)
    if name is None:
        name = s.render(node.varname).strip()
    value = s.evaluate(node.value)
    s.assign(name, value)
    if s.ctx.trace:
        s.trace("ivr", f"sets {name} = {value!r}")


def stash(s: CallSession, node: Stash) -> None:
    """Spec §3.9: no variable is defined; a repeated varname keeps its first position."""
    name = s.program.names.get(node)
    if name is None:
        name = s.render(node.varname).strip()
    value = s.evaluate(node.value)
    s.stash(name, value)
    if s.ctx.trace:
        s.trace("ivr", f"stashes {name} = {value!r}")


HANDLERS: dict[type, tuple[Any, Any]] = {Setvar: (setvar, None), Stash: (stash, None)}
