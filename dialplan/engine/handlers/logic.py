"""Branching on data: ``<amd>`` (live/machine), ``<if>``/``<else>``, ``<equal>``/``<notEqual>``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ...model import Amd, Equal, If

if TYPE_CHECKING:
    from ..session import CallSession

_NUMERIC = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")


def amd(s: CallSession, node: Amd) -> None:
    verdict = s.answered_by
    branch = node.live if verdict == "live" else node.machine
    s.decide(node, verdict)
    if s.ctx.trace:
        s.trace("ivr", f"amd: {verdict}")
    if branch is not None:
        s.jump(branch)


def if_(s: CallSession, node: If) -> None:
    ok = s.condition(node.expr)
    s.decide(node, "true" if ok else "false")
    s.trace("ivr", f"if {node.expr.source.strip()}: {'true' if ok else 'false'}")
    if ok:
        s.jump(s.program.enter[node])
    elif node.orelse is not None:
        s.jump(node.orelse)


def same(left: str, right: str) -> bool:
    """Spec §3.12: numbers compare as numbers when both parse, otherwise trimmed strings."""
    a, b = left.strip(), right.strip()
    if _NUMERIC.match(a) and _NUMERIC.match(b):
        return float(a) == float(b)
    return a == b


def equal(s: CallSession, node: Equal) -> None:
    left = s.render(node.var)
    right = s.operand(node.expr)
    ok = right is not None and same(left, right) != node.negate
    s.decide(node, "true" if ok else "false")
    shown = right if right is not None else node.expr.source
    s.trace("ivr", f"{node.raw_tag} {left.strip()!r} vs {shown!r}: {'true' if ok else 'false'}")
    if ok:
        s.jump(s.program.enter[node])


HANDLERS: dict[type, tuple[Any, Any]] = {Amd: (amd, None), If: (if_, None), Equal: (equal, None)}
