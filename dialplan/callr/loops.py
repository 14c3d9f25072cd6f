"""Counter loops of a Callr scenario that can never end (lint W078).

A counter loop is a ``goto`` back to a label of the same action list whose body always changes
a ``$counter`` (``$n--``, ``$n++``, ``$n -= 1``, ``$n += 1`` in ``javascript@v1``). It ends
only through an ``if`` on that counter that hangs up or jumps away; the loop never ends when no
such ``if`` exists, or when it waits for ``$n == K`` while the counter moves away from ``K``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..diagnostics import Location

if TYPE_CHECKING:
    from .source import YNode

_STEP = re.compile(r"\$([A-Za-z_]\w*)\s*(--|\+\+|-=|\+=)|(?:--|\+\+)\s*\$([A-Za-z_]\w*)")
_EQUALS = re.compile(r"\$([A-Za-z_]\w*)\s*===?\s*(-?\d+)")


@dataclass(frozen=True, slots=True)
class EndlessLoop:
    message: str
    loc: Location


def _items(node: YNode | None) -> list[YNode]:
    if node is None:
        return []
    return [i for i in (node.value if isinstance(node.value, list) else [node])]


def _leaves(item: YNode, label: str) -> bool:
    """Whether an ``if`` item's body hangs up or jumps somewhere other than ``label``."""
    body = _items(item.get("then")) or [item]
    for sub in body:
        action = sub.get("action")
        if action is not None and action.value == "hangup@v1":
            return True
        goto = sub.get("goto")
        if goto is not None:
            target = goto.get("label") if isinstance(goto.value, dict) else goto
            if target is None or target.value != label:
                return True
    return False


def _steps(item: YNode) -> dict[str, int]:
    """``$name`` → +1/-1 for the counters an unconditional javascript@v1 item moves."""
    action = item.get("action")
    if action is None or action.value != "javascript@v1" or item.get("if") is not None:
        return {}
    params = item.get("params")
    code = params.get("code") if params is not None else None
    found: dict[str, int] = {}
    for m in _STEP.finditer(str(code.value) if code is not None else ""):
        name = m.group(1) or m.group(3)
        op = m.group(2) or m.group(0).lstrip()[:2]
        found[name] = -1 if op in ("--", "-=") else 1
    return found


def _initial(scenario: YNode, name: str) -> int | None:
    variables = scenario.get("variables")
    value = variables.get("$" + name) if variables is not None else None
    if value is None or isinstance(value.value, bool):
        return None
    try:
        return int(str(value.value))
    except ValueError:
        return None


def endless_loops(scenario: YNode) -> Iterator[EndlessLoop]:
    branches = scenario.get("branches")
    if branches is None or not isinstance(branches.value, dict):
        return
    for branch in branches.value.values():
        items = _items(branch.get("actions")) if isinstance(branch.value, dict) else []
        labels = {
            str(item.get("label").value): i  # type: ignore[union-attr]
            for i, item in enumerate(items)
            if isinstance(item.value, dict) and item.get("label") is not None
        }
        for j, item in enumerate(items):
            goto = item.get("goto") if isinstance(item.value, dict) else None
            if goto is None or item.get("if") is not None:
                continue
            target = goto.get("label") if isinstance(goto.value, dict) else goto
            if target is None or str(target.value) not in labels:
                continue
            label = str(target.value)
            start = labels[label]
            if start > j:
                continue
            body = items[start:j]
            counters: dict[str, int] = {}
            for b in body:
                counters.update(_steps(b))
            if not counters:
                continue  # not a counter loop (input-free loops are E071's)
            exits = [
                b
                for b in body
                if b.get("if") is not None
                and _leaves(b, label)
                and any(f"${c}" in str(b.get("if").value) for c in counters)  # type: ignore[union-attr]
            ]
            names = ", ".join(f"${c}" for c in counters)
            if not exits:
                yield EndlessLoop(
                    f"counter loop back to {label!r} changes {names} but no `if` on it "
                    "hangs up or leaves the loop: it never ends",
                    item.loc,
                )
                continue
            if all(_moves_away(scenario, str(b.get("if").value), counters) for b in exits):  # type: ignore[union-attr]
                yield EndlessLoop(
                    f"counter loop back to {label!r}: {names} moves away from the value its "
                    "`if` waits for, so the loop never ends",
                    item.loc,
                )


def _moves_away(scenario: YNode, cond: str, counters: dict[str, int]) -> bool:
    """Whether ``cond`` waits for ``$n == K`` that counting from ``$n``'s start never reaches."""
    m = _EQUALS.search(cond)
    if m is None or m.group(1) not in counters:
        return False
    start = _initial(scenario, m.group(1))
    if start is None:
        return False
    goal = int(m.group(2))
    step = counters[m.group(1)]
    return (goal - (start + step)) * step < 0  # the first check sees the value after one step


__all__ = ["EndlessLoop", "endless_loops"]
