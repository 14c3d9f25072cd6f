"""Each tag's whole behaviour in one place: a :class:`TagHandler` per node class with
``enter(session, node)`` (the node runs; ``session.next`` already holds the normal continuation,
spec §2.1, which it may replace) and ``on_event(session, node, event)`` (an event arrived while
this node waits for it). Handlers use the session API only (see ``session.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from . import audio, callr, catch, data, flow, http, logic, menu, telephony

if TYPE_CHECKING:
    from ..events import Event
    from ..session import CallSession


def ignore(s: CallSession, node: Any, event: Event) -> None:
    """A node that never waits gets no events."""


class TagHandler(NamedTuple):
    enter: Callable[[CallSession, Any], None]
    on_event: Callable[[CallSession, Any, Event], None] = ignore


HANDLERS: dict[type, TagHandler] = {}
for _module in (flow, menu, audio, logic, data, telephony, http, catch, callr):
    for _node_class, (_enter, _on_event) in _module.HANDLERS.items():
        HANDLERS[_node_class] = TagHandler(_enter, _on_event or ignore)

#: The run loop's and the router's views of the one table (plain dicts: one lookup each).
ENTER: dict[type, Callable[[CallSession, Any], None]] = {k: h.enter for k, h in HANDLERS.items()}
ON_EVENT: dict[type, Callable[[CallSession, Any, Event], None]] = {
    k: h.on_event for k, h in HANDLERS.items()
}

__all__ = ["ENTER", "HANDLERS", "ON_EVENT", "TagHandler"]
