"""HTTP: ``<get>``/``<post>`` (body into a variable) and the SDK-only ``<gotoXML>``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...errors import DialplanError
from ...model import GotoXML, Http
from .. import effects as fx
from .. import events as ev
from ..program import program_for

if TYPE_CHECKING:
    from ..session import CallSession


def http(s: CallSession, node: Http) -> None:
    rid = s.new_id()
    url = s.render(node.url).strip()
    s.emit(fx.HttpRequest(rid, "POST" if node.method == "POST" else "GET", url))
    s.waiting("http", rid, node)
    s.trace("ivr", f"{node.method} {url}")


def goto_xml(s: CallSession, node: GotoXML) -> None:
    rid = s.new_id()
    url = s.render(node.url).strip()
    s.emit(fx.HttpRequest(rid, "GET", url))
    s.waiting("http", rid, node)
    s.trace("ivr", f"gotoXML {url}")


def on_http_done(s: CallSession, event: ev.HttpDone) -> None:
    node = s.wait_node
    if s.wait != "http" or event.request_id != s.wait_id or node is None:
        return
    s.wait = None
    ok = event.status is not None and 200 <= event.status < 300
    if not ok:
        status = "no response" if event.status is None else f"status {event.status}"
        s.log("warning", f"{node.label} request failed ({status})")
    if isinstance(node, Http):
        if node.varname:
            s.assign(node.varname, event.body.strip() if ok else "")
        return
    if not ok:
        return
    loader = s.ctx.plan_loader
    if loader is None:
        s.log("warning", "gotoXML is not available in this runtime; continuing")
        return
    try:
        plan = loader(event.body)
    except DialplanError as exc:
        s.log("warning", f"gotoXML document rejected: {exc}")
        return
    s.plan = plan
    s.program = program_for(plan)
    s.next = plan.root


HANDLERS: dict[type, Any] = {Http: http, GotoXML: goto_xml}
EVENTS: dict[type, Any] = {ev.HttpDone: on_http_done}
