"""``<menu>``: prompt phase, input phase, digit collection and branch selection (spec §2.3)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...model import Menu
from .. import effects as fx
from .. import events as ev
from ..wait import WaitFor
from .catch import digit_catch, fire

if TYPE_CHECKING:
    from ..session import CallSession


class MenuInput:
    """The caller's entry in progress: ``digits`` so far, and ``barge``, the menu whose prompt
    a key interrupted (its remaining audio prompts are skipped, spec §2.3)."""

    __slots__ = ("barge", "digits")

    def __init__(self) -> None:
        self.digits = ""
        self.barge: Menu | None = None

    def clear(self) -> None:
        self.digits = ""
        self.barge = None


def menu(s: CallSession, node: Menu) -> None:
    """Start the prompt phase (its first prompt, or straight to input)."""
    entry = s.input
    entry.digits = ""
    entry.barge = None
    s.jump(s.program.enter[node])


def input_phase(s: CallSession, node: Menu) -> None:
    """The prompts are done: take digits already pressed (barge-in) or arm the input timer."""
    entry = s.input
    if s.line_gone:
        s.jump(s.program.after[node])
        return
    if entry.barge is node and entry.digits:
        entry.barge = None
        if entry.digits == "#" or len(entry.digits) >= node.max_digits:
            select(s, node, entry.digits)
            return
    else:
        entry.digits = ""
        entry.barge = None
    cid = s.wait(WaitFor.INPUT, node)
    shared = s.program.menus[node].collects
    effect = shared.get(cid)
    if effect is None:
        effect = fx.CollectDigits(cid, node.max_digits, node.timeout_ms)
        if cid < fx.SHARED_PLAY_IDS:
            shared[cid] = effect
    s.emit(effect)


def on_menu_event(s: CallSession, node: Menu, event: ev.Event) -> None:
    if type(event) is not ev.DigitPressed:
        if type(event) is ev.InputTimeout and event.collect_id == s.wait_id:
            s.resume()
            select(s, node, s.input.digits)
        return
    key = event.key
    entry = s.input
    if not entry.digits and s.node in s.program.catches:
        found = digit_catch(s, key)
        if found is not None:
            s.trace("caller", f"presses {key}")
            fire(s, found)
            return
    if key == "#":
        s.emit(fx.stop_collecting(s.wait_id))
        s.resume()
        select(s, node, entry.digits or "#")
        return
    entry.digits += key
    if len(entry.digits) >= node.max_digits:
        s.emit(fx.stop_collecting(s.wait_id))
        s.resume()
        select(s, node, entry.digits)


def select(s: CallSession, node: Menu, digits: str) -> None:
    """Spec §2.3/§3.3: literal, then ranges, then default; empty input → timeout branch."""
    table = s.program.menus[node]
    s.input.digits = ""
    s.lastinput = digits
    trace = s.ctx.trace
    if digits == "":
        chosen = table.timeout
        label = "timeout" if chosen is not None else "no input"
        if trace:
            s.trace("caller", "stays silent (timeout)")
    else:
        chosen = table.literals.get(digits)
        if chosen is None:
            for kp in table.ranges:
                if kp.pattern.matches(digits):
                    chosen = kp
                    break
            else:
                chosen = table.default
        label = table.labels[chosen] if chosen is not None else "no match"
        if trace:
            s.trace("caller", f"presses {digits}")
    s.decide(node, label)
    if chosen is not None:
        if trace:
            s.trace("ivr", f"menu {node.name or node.index}: branch {label}")
        s.jump(chosen)
    else:
        if trace:
            s.trace("ivr", f"menu {node.name or node.index}: {label}, continues after the menu")
        s.jump(s.program.after[node])


HANDLERS: dict[type, tuple[Any, Any]] = {Menu: (menu, on_menu_event)}
