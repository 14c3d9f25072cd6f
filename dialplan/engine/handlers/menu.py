"""``<menu>``: prompt phase, input phase, digit collection and branch selection (spec §2.3)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...model import Menu
from .. import effects as fx
from .. import events as ev
from .catch import digit_catch, fire

if TYPE_CHECKING:
    from ..session import CallSession


def menu(s: CallSession, node: Menu) -> None:
    """Start the prompt phase (its first prompt, or straight to input)."""
    s.barge = None
    s.digits = ""
    s.next = s.program.enter[node]


def input_phase(s: CallSession, node: Menu) -> None:
    """The prompts are done: take digits already pressed (barge-in) or arm the input timer."""
    s.node = node
    if s.line_gone:
        s.next = s.program.after[node]
        return
    if s.barge is node and s.digits:
        s.barge = None
        if s.digits == "#" or len(s.digits) >= node.max_digits:
            select(s, node, s.digits)
            return
    else:
        s.barge = None
        s.digits = ""
    cid = s._ids = s._ids + 1
    s.out.append(fx.CollectDigits(cid, node.max_digits, node.timeout_ms))
    s.wait = "input"
    s.wait_id = cid
    s.wait_node = node


def on_digit(s: CallSession, event: ev.DigitPressed) -> None:
    key = event.key
    wait = s.wait
    if wait == "input":
        node = s.wait_node
        assert isinstance(node, Menu)
        if not s.digits and s.node in s.program.catches:
            found = digit_catch(s, key)
            if found is not None:
                s.trace("caller", f"presses {key}")
                fire(s, found)
                return
        if key == "#":
            s.out.append(fx.stop_collecting(s.wait_id))
            s.wait = None
            select(s, node, s.digits or "#")
            return
        s.digits += key
        if len(s.digits) >= node.max_digits:
            s.out.append(fx.stop_collecting(s.wait_id))
            s.wait = None
            select(s, node, s.digits)
        return
    if wait == "play" and s.barge_in:
        found = digit_catch(s, key)
        if found is not None:
            s.trace("caller", f"presses {key}")
            fire(s, found)
            return
        prompt = s.wait_node
        assert prompt is not None and isinstance(prompt.parent, Menu)
        s.emit(fx.StopPlayback(s.wait_id))
        s.wait = None
        s.barge = prompt.parent
        s.digits = key
        s.trace("caller", f"presses {key} (barge-in)")
        return
    if wait == "transfer":
        return  # the caller is bridged: keys go to the other party
    found = digit_catch(s, key)
    if found is not None:
        s.trace("caller", f"presses {key}")
        fire(s, found)
        return
    if wait != "record":  # '#' ends a recording: the driver's business
        s.log("info", f"digit {key} pressed while no input was expected; ignored")


def on_timeout(s: CallSession, event: ev.InputTimeout) -> None:
    if s.wait != "input" or event.collect_id != s.wait_id:
        return
    node = s.wait_node
    assert isinstance(node, Menu)
    s.wait = None
    select(s, node, s.digits)


def select(s: CallSession, node: Menu, digits: str) -> None:
    """Spec §2.3/§3.3: literal, then ranges, then default; empty input → timeout branch."""
    table = s.program.menus[node]
    s.digits = ""
    s.lastinput = "" if digits == "" else digits
    if digits == "":
        chosen = table.timeout
        label = "timeout" if chosen is not None else "no input"
        if s.ctx.trace:
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
        if s.ctx.trace:
            s.trace("caller", f"presses {digits}")
    s.result.decisions.append((node.index, label))
    if chosen is not None:
        if s.ctx.trace:
            s.trace("ivr", f"menu {node.name or node.index}: branch {label}")
        s.next = chosen
    else:
        if s.ctx.trace:
            s.trace("ivr", f"menu {node.name or node.index}: {label}, continues after the menu")
        s.next = s.program.after[node]


HANDLERS: dict[type, Any] = {Menu: menu}
EVENTS: dict[type, Any] = {ev.DigitPressed: on_digit, ev.InputTimeout: on_timeout}
