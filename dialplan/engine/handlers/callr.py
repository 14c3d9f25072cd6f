"""The Callr YAML front-end's tags: ``<script>`` (javascript@v1, conditions, ``${{ }}``),
``<runvars>`` (a scenario's declared variables) and ``<fetch>`` (fetch@v2).

Scripts see the call's variables as ``$name`` globals (``dtmf.input`` as ``$dtmf.input``); the
values cross into QuickJS as JSON data, never as code (spec §5.3 revised), and the ``$``
globals the script changed come back as variables (objects one level deep as ``name.key``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ...expr.js import JsError
from ...model import Fetch, LogLine, RunVars, Script
from .. import effects as fx
from ..wait import WaitFor
from .http import on_http_event

if TYPE_CHECKING:
    from ..session import CallSession

#: Runs ``__dialplan_callr_code`` with the variables of ``__dialplan_callr_in`` (JSON text) as
#: ``$`` globals; returns JSON ``[result, {name: value}]`` of the ``$`` globals afterwards.
_RUN = """(() => {
  const g = globalThis;
  for (const k of Object.keys(g)) if (k[0] === '$') delete g[k];
  const input = JSON.parse(g.__dialplan_callr_in);
  for (const k of Object.keys(input)) g['$' + k] = input[k];
  const r = (0, eval)(g.__dialplan_callr_code);
  const out = {};
  for (const k of Object.keys(g)) if (k[0] === '$') out[k.slice(1)] = g[k];
  return JSON.stringify([r === undefined ? null : r, out]);
})()"""


#: Read-only in scripts: never written back as variables.
_PREDEFINED = frozenset({"call", "run", "now"})


def _scope(s: CallSession) -> dict[str, Any]:
    """The variables as JS values: ``a.b`` → ``$a = {b: …}``; predefined ``call``, ``run``
    (the run's own variables: contact fields and preset variables) and ``now``."""
    scope: dict[str, Any] = {
        "call": {
            "id": s.ctx.call_id,
            "callerid": s.ctx.callerid,
            "phonenumber": s.ctx.phonenumber,
        },
        "run": {"id": s.ctx.call_id, "variables": {**s.ctx.contact, **s.ctx.variables}},
        "now": int(s.now * 1000),
    }
    for name, value in s.vars.items():
        head, dot, rest = name.partition(".")
        if dot:
            obj = scope.get(head)
            if not isinstance(obj, dict):
                obj = scope[head] = {}
            obj[rest] = value
        else:
            scope[name] = value
    return scope


def _text(value: Any) -> str:
    """JavaScript's ``String(value)`` for JSON values."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def script(s: CallSession, node: Script) -> None:
    before = _scope(s)
    js = s.js
    ctx_code = json.dumps(node.code)
    ctx_in = json.dumps(json.dumps(before))
    code = f"globalThis.__dialplan_callr_code = {ctx_code};\n"
    code += f"globalThis.__dialplan_callr_in = {ctx_in};\n{_RUN}"
    try:
        out = s.budget.run_js(js, js.evaluate, code)
    except JsError as exc:
        if exc.limit:
            raise
        s.log("warning", f"{s.where(node)}: JavaScript failed ({exc})")
        if node.varname:
            s.assign(node.varname, "")
        return
    result, after = json.loads(out)
    for name, value in after.items():
        if name in _PREDEFINED or before.get(name) == value:
            continue
        if isinstance(value, dict):
            for key, sub in value.items():
                s.assign(f"{name}.{key}", _text(sub))
        else:
            s.assign(name, _text(value))
    if node.varname:
        s.assign(node.varname, _text(result))
    if s.ctx.trace:
        s.trace("ivr", f"runs {node.code!r}")


def runvars(s: CallSession, node: RunVars) -> None:
    """Declared variables take the run's value (a preset variable, else a contact field) or
    their default; the run's other variables are accepted and visible, with a note."""
    preset = s.ctx.variables
    run = {**s.ctx.contact, **preset}
    declared = {name for name, _ in node.declared}
    for name, default in node.declared:
        if name not in preset:
            s.assign(name, run.get(name, default))
    for name, value in run.items():
        if name not in declared and name.isidentifier():
            if name not in preset:
                s.assign(name, value)
            s.log("info", f"run variable ${name} is not declared by the scenario")


def fetch(s: CallSession, node: Fetch) -> None:
    url = s.render(node.url).strip()
    headers = tuple((k, s.render(v)) for k, v in node.headers)
    body = s.render(node.body) if node.body is not None else ""
    rid = s.wait(WaitFor.HTTP, node)
    s.emit(fx.HttpRequest(rid, node.method, url, headers=headers, body=body))
    s.trace("ivr", f"{node.method} {url}")


def log_line(s: CallSession, node: LogLine) -> None:
    s.log("info", s.render(node.message))


HANDLERS: dict[type, tuple[Any, Any]] = {
    Script: (script, None),
    RunVars: (runvars, None),
    LogLine: (log_line, None),
    Fetch: (fetch, on_http_event),
}
