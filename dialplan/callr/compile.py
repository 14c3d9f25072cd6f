"""Callr scenario (YAML values with positions) → a dialplan XML tree the model builder reads.

Every element produced remembers the YAML position it comes from (and each attribute the
position of its parameter), so model locations and every finding point into the YAML. What
cannot be compiled becomes a finding (code, message, position) for the lint rules to report;
compilation always goes on, so that every problem of a file is reported at once.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from ..diagnostics import Location
from .actions import ACTIONS, ITEM_KEYS, Param
from .source import YNode

#: ``${{ expression }}`` in a text parameter
_EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.S)
_VAR = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")
#: The label of the actions that run once the answered branch has ended.
AFTER = "__after"


#: Scenario languages (BCP 47, matched by their primary subtag) → the CallFire TTS voice that
#: speaks them; English, and any language without a voice here, keeps the default voice.
LANGUAGE_VOICES: dict[str, str] = {"es": "spanish1", "fr": "frenchcanadian1"}


def voice_for(language: str) -> str | None:
    """The ``<play voice>`` for a ``say@v2`` in ``language`` (``es-ES`` → ``spanish1``)."""
    return LANGUAGE_VOICES.get(language.split("-")[0].split("_")[0].lower()) if language else None


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    message: str
    loc: Location


@dataclass(slots=True)
class Compiled:
    """The XML tree, the YAML position of each element (document order) and the findings."""

    root: etree._Element
    locs: dict[etree._Element, Location] = field(default_factory=dict)
    attr_locs: dict[etree._Element, dict[str, Location]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    language: str = ""


class _Compiler:
    def __init__(self, doc: YNode) -> None:
        self.doc = doc
        self.out = Compiled(etree.Element("dialplan", name="Root"))
        self.out.locs[self.out.root] = doc.loc
        self.count = 0
        self.branches: dict[str, YNode] = {}

    # ------------------------------------------------------------------ helpers
    def find(self, code: str, message: str, loc: Location) -> None:
        self.out.findings.append(Finding(code, message, loc))

    def el(
        self, parent: etree._Element, tag: str, loc: Location, text: str | None = None, **attrs: Any
    ) -> etree._Element:
        e = etree.SubElement(parent, tag)
        for k, v in attrs.items():
            if v is not None:
                e.set(k.replace("_", "-"), str(v))
        if text is not None:
            e.text = text
        self.out.locs[e] = loc
        return e

    def fresh(self, prefix: str) -> str:
        self.count += 1
        return f"__{prefix}{self.count}"

    def template(self, parent: etree._Element, node: YNode) -> str:
        """A text parameter as a ``${…}`` template; each ``${{ expr }}`` runs in a
        ``<script>`` first (a lone ``${{ $name }}`` is the variable itself)."""
        text = node.value if isinstance(node.value, str) else _scalar_text(node.value)

        def replace(m: re.Match[str]) -> str:
            expr = m.group(1).strip()
            var = _VAR.match(expr)
            if var:
                return "${" + var.group(1) + "}"
            name = self.fresh("e")
            self.el(parent, "script", node.loc, expr, varname=name)
            return "${" + name + "}"

        return _EXPR.sub(replace, text)

    # ----------------------------------------------------------------- document
    def run(self) -> Compiled:
        doc = self.doc
        if not isinstance(doc.value, dict):
            self.find("E00A", "a Callr scenario is a mapping with `branches`", doc.loc)
            return self.out
        defaults = doc.get("defaults")
        language = defaults.get("language") if defaults is not None else None
        self.out.language = str(language.value) if language is not None else ""
        root = self.out.root
        variables = doc.get("variables")
        declared: dict[str, str] = {}
        if variables is not None and isinstance(variables.value, dict):
            for key, value in variables.value.items():
                name = key[1:]
                if not _VAR.match(key):
                    self.find(
                        "E02D", f"variable name {key!r} is not a $name", variables.key_loc(key)
                    )
                    continue
                declared[name] = _scalar_text(value.plain())
        self.el(root, "runvars", variables.loc if variables else doc.loc, json.dumps(declared))
        branches = doc.get("branches")
        if branches is None or not isinstance(branches.value, dict) or not branches.value:
            self.find("E02C", "a Callr scenario needs `branches`", doc.loc)
            return self.out
        self.branches = branches.value
        main, before, after = self.entry(branches)
        has_after = bool(after)
        self.hangup_goes_to = AFTER if has_after else None
        # the caller's hang-up ends the call's flow: the catch watches everything inside it
        body = root
        if has_after or "hangup" in self.branches:
            goto = "__branch_hangup" if "hangup" in self.branches else AFTER
            body = self.el(root, "catch", branches.loc, type="hangup", goto=goto)
        for item in before:
            self.item(body, item)
        if main is not None:
            self.actions(body, self.branches[main])
        if _falls_through(body):
            self.el(body, "goto", branches.loc, AFTER)
        for name, branch in self.branches.items():
            if name in ("api-initiated", main):
                continue
            block = root if name == "hangup" else body
            self.el(block, "setvar", branch.loc, name, varname="__branch", name=f"__branch_{name}")
            self.actions(block, branch)
            if _falls_through(block):
                self.el(block, "goto", branch.loc, AFTER)
        if not _falls_through(root) and not any(
            e.text == AFTER or e.get("goto") == AFTER for e in root.iter("goto", "catch")
        ):
            return self.out  # nothing reaches the end of the call: it ends inside the flow
        self.el(root, "setvar", branches.loc, "ended", varname="__call", name=AFTER)
        for item in after:
            self.item(root, item)
        self.el(root, "hangup", branches.loc)
        return self.out

    def entry(self, branches: YNode) -> tuple[str | None, list[YNode], list[YNode]]:
        """The branch the call starts in, the api-initiated actions before and after the
        broadcast leg's ``dial@v1``."""
        api = self.branches.get("api-initiated")
        items = _items(api) if api is not None else []
        for i, item in enumerate(items):
            action = item.get("action")
            if action is not None and action.value == "dial@v1" and item.get("if") is None:
                self.check_params(item, ACTIONS["dial@v1"])
                params = item.get("params")
                target = params.get("answerOnBranch") if params is not None else None
                main = str(target.value) if target is not None else None
                if main is not None and main not in self.branches:
                    self.find("E034", f"answerOnBranch names no branch {main!r}", target.loc)  # type: ignore[union-attr]
                    main = None
                result = params.get("result") if params is not None else None
                if result is not None and _VAR.match(str(result.value)):
                    self.el(
                        self.out.root,
                        "setvar",
                        result.loc,
                        "answered",
                        varname=str(result.value)[1:],
                    )
                return main, items[:i], items[i + 1 :]
        for name in ("inbound-call", "answered"):
            if name in self.branches:
                return name, [], []
        return next(iter(self.branches)), [], []

    # ------------------------------------------------------------------ actions
    def actions(self, parent: etree._Element, branch: YNode) -> None:
        if not isinstance(branch.value, dict):
            self.find("E00A", "a branch is a mapping with `actions`", branch.loc)
            return
        for item in _items(branch):
            self.item(parent, item)

    def item(self, parent: etree._Element, item: YNode) -> None:
        if not isinstance(item.value, dict):
            self.find("E00A", "an action item is a mapping (`action:`, `if:` or `goto:`)", item.loc)
            return
        for key in item.value:
            if key not in ITEM_KEYS:
                self.find("E00A", f"unknown key {key!r} in an action item", item.key_loc(key))
        label = item.get("label")
        first = len(parent)
        cond = item.get("if")
        if cond is not None:
            self.conditional(parent, item, cond)
        elif item.get("goto") is not None:
            self.goto(parent, item)
        elif item.get("action") is not None:
            self.action(parent, item)
        else:
            self.find("E00A", "an action item needs `action`, `if` or `goto`", item.loc)
        if label is not None and len(parent) > first:
            parent[first].set("name", str(label.value))
            self.out.attr_locs.setdefault(parent[first], {})["name"] = label.loc

    def conditional(self, parent: etree._Element, item: YNode, cond: YNode) -> None:
        name = self.fresh("c")
        self.el(parent, "script", cond.loc, f"!!({_scalar_text(cond.value)})", varname=name)
        block = self.el(parent, "if", item.loc, expr="${" + name + "}")
        then = item.get("then")
        if then is not None:
            for sub in then.value if isinstance(then.value, list) else [then]:
                self.item(block, sub)
        elif item.get("action") is not None:
            self.action(block, item)
        elif item.get("goto") is not None:
            self.goto(block, item)
        else:
            self.find("E02C", "`if` needs `then`, `action` or `goto`", item.key_loc("if"))
        orelse = item.get("else")
        if orelse is not None:
            other = self.el(block, "else", orelse.loc)
            for sub in orelse.value if isinstance(orelse.value, list) else [orelse]:
                self.item(other, sub)

    def goto(self, parent: etree._Element, item: YNode) -> None:
        target = item.value["goto"]
        label = target.get("label") if isinstance(target.value, dict) else target
        branch = target.get("branch") if isinstance(target.value, dict) else None
        if branch is not None:
            name = str(branch.value)
            if name not in self.branches:
                self.find("E034", f"goto names no branch {name!r}", branch.loc)
            else:
                self.el(parent, "goto", branch.loc, f"__branch_{name}")
        elif label is not None and isinstance(label.value, str):
            self.el(parent, "goto", label.loc, label.value)
        else:
            self.find("E02C", "`goto` needs `label` or `branch`", item.key_loc("goto"))

    def check_params(self, item: YNode, spec: Any) -> dict[str, YNode]:
        params_node = item.get("params")
        params: dict[str, YNode] = {}
        if params_node is not None:
            if not isinstance(params_node.value, dict):
                self.find("E02D", f"{spec.name}: `params` must be a mapping", params_node.loc)
            else:
                params = params_node.value
        where = item.key_loc("params") if params_node is not None else item.key_loc("action")
        for key, p in spec.params.items():
            if p.required and key not in params:
                self.find("E02C", f"{spec.name} needs the parameter {key!r}", where)
        for key, value in params.items():
            loc = params_node.key_loc(key) if params_node is not None else where
            p = spec.params.get(key)
            if p is None:
                self.find("E02D", f"{spec.name} has no parameter {key!r}", loc)
            elif not _kind_ok(p, value):
                self.find("E02D", f"{spec.name}: {key!r} must be {_KIND_WORDS[p.kind]}", value.loc)
        return params

    def action(self, parent: etree._Element, item: YNode) -> None:
        action = item.get("action")
        assert action is not None
        name = str(action.value)
        spec = ACTIONS.get(name)
        if spec is None:
            known = sorted(a for a in ACTIONS if a.split("@")[0] == name.split("@")[0])
            hint = f" (this runtime knows {', '.join(known)})" if known else ""
            self.find("E00A", f"unknown action {name!r}{hint}", action.loc)
            return
        if not spec.supported:
            self.find("E00B", f"{name} cannot run here: no runtime support", action.loc)
            return
        params = self.check_params(item, spec)
        if any(p.required and key not in params for key, p in spec.params.items()):
            return  # reported (E02C); nothing to run
        getattr(self, "_" + name.split("@")[0])(parent, item, params)

    def _text(self, parent: etree._Element, params: dict[str, YNode], key: str) -> str:
        node = params.get(key)
        return self.template(parent, node) if node is not None else ""

    def _say(self, parent: etree._Element, item: YNode, params: dict[str, YNode]) -> None:
        text = self._text(parent, params, "what")
        voice = params.get("voice")
        language = params.get("language")
        self.el(
            parent,
            "play",
            item.loc,
            text,
            type="tts",
            voice=str(voice.value)
            if voice is not None
            else voice_for(str(language.value) if language is not None else self.out.language),
        )

    def _play(self, parent: etree._Element, item: YNode, params: dict[str, YNode]) -> None:
        self.el(parent, "play", item.loc, self._text(parent, params, "media"), type="url")

    def _gather(self, parent: etree._Element, item: YNode, params: dict[str, YNode]) -> None:
        max_digits = params.get("maxDigits")
        timeout = params.get("timeout")
        menu = self.el(
            parent, "menu", item.loc, maxDigits=_int_text(max_digits), timeout=_int_text(timeout)
        )
        # every entry (and silence) leaves the menu; the input is in ${call.lastinput}
        self.el(menu, "keypress", item.loc, pressed="default")
        self.el(menu, "keypress", item.loc, pressed="timeout")
        prompt = params.get("prompt")
        if prompt is not None and isinstance(prompt.value, dict):
            what = prompt.get("what")
            media = prompt.get("media")
            if what is not None:
                self.el(menu, "play", what.loc, self.template(menu, what), type="tts")
            elif media is not None:
                self.el(menu, "play", media.loc, self.template(menu, media), type="url")
        result = params.get("result")
        if result is not None and _VAR.match(str(result.value)):
            var = str(result.value)[1:]
            self.el(parent, "setvar", result.loc, "${call.lastinput}", varname=f"{var}.input")

    def _javascript(self, parent: etree._Element, item: YNode, params: dict[str, YNode]) -> None:
        code = params.get("code")
        self.el(
            parent,
            "script",
            code.loc if code else item.loc,
            _scalar_text(code.value) if code else "",
        )

    def _fetch(self, parent: etree._Element, item: YNode, params: dict[str, YNode]) -> None:
        url = self._text(parent, params, "url")
        headers_node = params.get("headers")
        headers: dict[str, str] = {}
        if headers_node is not None and isinstance(headers_node.value, dict):
            for key, value in headers_node.value.items():
                headers[key] = self.template(parent, value)
        body = self._text(parent, params, "body") if "body" in params else None
        method = params.get("method")
        result = params.get("result")
        var = str(result.value)[1:] + ".body" if result is not None else None
        e = self.el(
            parent,
            "fetch",
            item.loc,
            url,
            method=str(method.value).upper() if method is not None else "GET",
            headers=json.dumps(headers) if headers else None,
            body=body,
            varname=var,
        )
        self.out.attr_locs[e] = {
            k: params[k].loc for k in ("method", "headers", "body") if k in params
        }

    def _record(self, parent: etree._Element, item: YNode, params: dict[str, YNode]) -> None:
        result = params.get("result")
        var = str(result.value)[1:] if result is not None else None
        self.el(
            parent, "record", item.loc, varname=var, timeout=_int_text(params.get("maxDuration"))
        )

    def _hangup(self, parent: etree._Element, item: YNode, params: dict[str, YNode]) -> None:
        if self.hangup_goes_to:
            self.el(parent, "goto", item.loc, self.hangup_goes_to)
        else:
            self.el(parent, "hangup", item.loc)

    def _log(self, parent: etree._Element, item: YNode, params: dict[str, YNode]) -> None:
        self.el(parent, "log", item.loc, self._text(parent, params, "message"))

    def _dial(self, parent: etree._Element, item: YNode, params: dict[str, YNode]) -> None:
        numbers: list[str] = []
        targets = params.get("targets")
        if targets is not None and isinstance(targets.value, list):
            for t in targets.value:
                number = t.get("number") if isinstance(t.value, dict) else t
                if number is not None:
                    numbers.append(self.template(parent, number))
        self.el(
            parent,
            "transfer",
            item.loc,
            ",".join(numbers),
            timeout=_int_text(params.get("timeout")),
            continue_after="true",
        )


_KIND_WORDS = {
    "text": "text",
    "number": "an integer or ${{ }}",
    "variable": "a $variable",
    "map": "a mapping",
    "list": "a list",
    "code": "JavaScript text",
}


def _kind_ok(p: Param, node: YNode) -> bool:
    v = node.value
    if p.kind in ("text", "code"):
        return isinstance(v, str | int | float) and not isinstance(v, bool)
    if p.kind == "number":
        return (isinstance(v, int) and not isinstance(v, bool)) or (
            isinstance(v, str) and _EXPR.fullmatch(v.strip()) is not None
        )
    if p.kind == "variable":
        return isinstance(v, str) and _VAR.match(v) is not None
    if p.kind == "map":
        return isinstance(v, dict)
    return isinstance(v, list)


def _int_text(node: YNode | None) -> str | None:
    if node is None or not isinstance(node.value, int) or isinstance(node.value, bool):
        return None
    return str(node.value)


def _scalar_text(value: Any) -> str:
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _falls_through(block: etree._Element) -> bool:
    """Whether the run continues after the last element of ``block``."""
    return not len(block) or block[-1].tag not in ("goto", "hangup")


def _items(branch: YNode) -> list[YNode]:
    actions = branch.get("actions")
    if actions is None:
        return []
    return actions.value if isinstance(actions.value, list) else [actions]


def compile_scenario(doc: YNode) -> Compiled:
    """Compile one scenario (see the module docstring)."""
    return _Compiler(doc).run()


__all__ = ["AFTER", "Compiled", "Finding", "compile_scenario"]
