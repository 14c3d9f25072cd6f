"""One small handler per tag family, collected into dispatch tables (node class → handler,
event class → handler). A handler gets the session and its node; by the time it runs,
``session.next`` already holds the normal continuation (spec §2.1), which it may replace."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...model import Dtmf, Menu, Play, Record, Transfer, Wait
from . import audio, catch, data, flow, http, logic, menu, telephony

if TYPE_CHECKING:
    from ..session import CallSession

Handler = Callable[["CallSession", Any], None]

HANDLERS: dict[type, Handler] = {}
EVENTS: dict[type, Handler] = {}
for _module in (flow, menu, audio, logic, data, telephony, http, catch):
    HANDLERS.update(_module.HANDLERS)
    EVENTS.update(_module.EVENTS)

#: Tags that need the line: skipped after the caller hung up inside a hangup catch (spec §2.5).
LINE_TAGS: frozenset[type] = frozenset({Play, Menu, Record, Transfer, Dtmf, Wait})

__all__ = ["EVENTS", "HANDLERS", "LINE_TAGS", "Handler"]
