"""``dialplan convert``: Callr YAML ↔ CallFire XML where the mapping is lossless.

What one language cannot express is refused with one line naming it and where it is written:
YAML → XML refuses JavaScript (``javascript@v1``, ``if:`` conditions, ``${{ }}``), ``fetch@v2``,
``log@v1`` and declared run variables; XML → YAML takes ``play``, ``hangup``, ``goto``, named
tags (labels) and menus of literal and ``timeout`` keypresses with one prompt, and refuses the
rest (``setvar`` and ``if`` hold CallFire expressions, whose substitution rules differ).
"""

from __future__ import annotations

from typing import Any

import yaml
from lxml import etree

from ..errors import DialplanError
from ..model import Goto, Hangup, Keypress, Menu, Node, Plan, Play
from ..model.patterns import PatternKind
from ..parse import ParsedDocument


class NotConvertible(DialplanError):
    """The document uses something the other language cannot express (exit code 2)."""

    exit_code = 2


def _why(el: etree._Element) -> str | None:
    tag = el.tag
    if tag == "script":
        name = el.get("varname") or ""
        if name.startswith("__c"):
            return "an `if:` condition (JavaScript)"
        if name.startswith("__e"):
            return "a ${{ }} expression (JavaScript)"
        return "javascript@v1"
    if tag == "fetch":
        return "fetch@v2 (XML <post> sends no headers or body)"
    if tag == "log":
        return "log@v1"
    if tag == "runvars" and (el.text or "{}").strip() != "{}":
        return "declared `variables` (a run may override them)"
    return None


def to_xml(doc: ParsedDocument) -> str:
    """The XML dialplan of a compiled Callr scenario; raise :class:`NotConvertible`."""
    for el in doc.root.iter():
        why = _why(el) if isinstance(el.tag, str) else None
        if why is not None:
            loc = doc.location(el)
            raise NotConvertible(
                f"{doc.source.name}:{loc.line}:{loc.column}: cannot convert to XML: {why} "
                "has no CallFire XML equivalent"
            )
    root = etree.fromstring(etree.tostring(doc.root))
    for el in list(root.iter("runvars")):
        parent = el.getparent()
        if parent is not None:
            parent.remove(el)
    etree.indent(root, space="  ")
    return str(etree.tostring(root, encoding="unicode")) + "\n"


def _refuse(node: Node, file: str, what: str = "") -> NotConvertible:
    what = what or f"{node.label}"
    return NotConvertible(
        f"{file}:{node.loc.line}:{node.loc.column}: cannot convert to YAML: {what} has no "
        "lossless Callr Actions equivalent"
    )


class _ToYaml:
    def __init__(self, file: str) -> None:
        self.file = file
        self.menus = 0

    def block(self, nodes: tuple[Node, ...]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for node in nodes:
            items = self.node(node)
            if node.name and items:
                items[0] = {"label": node.name, **items[0]}
            out.extend(items)
        return out

    def node(self, node: Node) -> list[dict[str, Any]]:
        if isinstance(node, Play) and node.value.is_constant and not node.voice:
            text = node.value.placeholder()
            if node.kind == "tts":
                return [{"action": "say@v2", "params": {"what": text}}]
            if node.kind == "url":
                return [{"action": "play@v1", "params": {"media": text}}]
        if isinstance(node, Hangup):
            return [{"action": "hangup@v1"}]
        if isinstance(node, Goto):
            return [{"goto": {"label": node.target}}]
        if isinstance(node, Menu):
            return self.menu(node)
        raise _refuse(node, self.file)

    def menu(self, node: Menu) -> list[dict[str, Any]]:
        self.menus += 1
        var = f"$menu{self.menus}"
        prompts = [p for p in node.prompts if isinstance(p, Play)]
        if len(prompts) != len(node.prompts) or len(prompts) > 1:
            raise _refuse(node, self.file, f"{node.label} with other than one <play> prompt")
        params: dict[str, Any] = {"maxDigits": node.max_digits, "timeout": node.timeout_ms // 1000}
        if prompts:
            (play,) = prompts
            if play.kind != "tts" or not play.value.is_constant:
                raise _refuse(play, self.file, "a menu prompt that is not constant text to speech")
            params["prompt"] = {"what": play.value.placeholder()}
        params["result"] = var
        out: list[dict[str, Any]] = [{"action": "gather@v2", "params": params}]
        for kp in node.keypresses:
            out.append(self.keypress(kp, var))
        return out

    def keypress(self, kp: Keypress, var: str) -> dict[str, Any]:
        kind = kp.pattern.kind
        if kind is PatternKind.LITERAL and kp.pattern.text.isdigit():
            cond = f"{var}?.input == '{kp.pattern.text}'"
        elif kind is PatternKind.TIMEOUT:
            cond = f"!{var}?.input"
        else:
            raise _refuse(kp, self.file, f'<keypress pressed="{kp.attrs.get("pressed", "")}">')
        return {"if": cond, "then": self.block(kp.children)}


def to_yaml(plan: Plan, file: str) -> str:
    """The Callr scenario of an XML dialplan; raise :class:`NotConvertible`."""
    actions = _ToYaml(file).block(plan.root.children)
    doc = {"branches": {"inbound-call": {"actions": actions}}}
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


__all__ = ["NotConvertible", "to_xml", "to_yaml"]
