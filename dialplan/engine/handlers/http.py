"""HTTP: ``<get>``/``<post>`` (body into a variable) and the SDK-only ``<gotoXML>``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...errors import DialplanError
from ...model import GotoXML, Http
from .. import effects as fx
from .. import events as ev
from ..wait import WaitFor
from .catch import stray_digit

if TYPE_CHECKING:
    from ..session import CallSession


def http(s: CallSession, node: Http) -> None:
    url = s.render(node.url).strip()
    rid = s.wait(WaitFor.HTTP, node)
    s.emit(fx.HttpRequest(rid, "POST" if node.method == "POST" else "GET", url))
    s.trace("ivr", f"{node.method} {url}")


def goto_xml(s: CallSession, node: GotoXML) -> None:
    url = s.render(node.url).strip()
    rid = s.wait(WaitFor.HTTP, node)
    s.emit(fx.HttpRequest(rid, "GET", url))
    s.trace("ivr", f"gotoXML {url}")


def _answer(s: CallSession, node: Http | GotoXML, event: ev.Event) -> bool | None:
    """The response to ``node``'s request: whether it succeeded; None for other events."""
    if type(event) is ev.DigitPressed:
        stray_digit(s, event.key)
        return None
    if type(event) is not ev.HttpDone or event.request_id != s.wait_id:
        return None
    s.resume()
    ok = event.status is not None and 200 <= event.status < 300
    if not ok:
        status = "no response" if event.status is None else f"status {event.status}"
        s.log("warning", f"{node.label} request failed ({status})")
    return ok


def on_http_event(s: CallSession, node: Http, event: ev.Event) -> None:
    ok = _answer(s, node, event)
    if ok is not None and node.varname:
        s.assign(node.varname, event.body.strip() if ok else "")  # type: ignore[union-attr]


def on_goto_xml_event(s: CallSession, node: GotoXML, event: ev.Event) -> None:
    if not _answer(s, node, event):
        return
    loader = s.ctx.plan_loader
    if loader is None:
        s.log("warning", "gotoXML is not available in this runtime; continuing")
        return
    try:
        plan = loader(event.body)  # type: ignore[union-attr]
    except DialplanError as exc:
        s.log("warning", f"gotoXML document rejected: {exc}")
        return
    s.replace_plan(plan)


HANDLERS: dict[type, tuple[Any, Any]] = {
    Http: (http, on_http_event),
    GotoXML: (goto_xml, on_goto_xml_event),
}
