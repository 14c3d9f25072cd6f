"""Call broadcasts in the service: the typed layer (:mod:`.layer`) the ``/v2`` routes and the
dashboard build on (its state and broadcasts table in :mod:`.core`, its read side in
:mod:`.reading`, its write side in :mod:`.writing` and :mod:`.storing`), the CallFire ↔
campaign-file conversion (:mod:`.fields`), calls as CallFire shows them (:mod:`.callrows`), a
broadcast's files (:mod:`.files`), the plain values crossing the layer (:mod:`.values`) and the
runs in the server process (:mod:`.runs`)."""

from __future__ import annotations

from .callrows import CallFilter, CallRow
from .layer import Broadcasts
from .values import (
    AddResult,
    Batch,
    Broadcast,
    BroadcastInput,
    BroadcastSettings,
    ProgressSnapshot,
    Recipient,
)

__all__ = [
    "AddResult",
    "Batch",
    "Broadcast",
    "BroadcastInput",
    "BroadcastSettings",
    "Broadcasts",
    "CallFilter",
    "CallRow",
    "ProgressSnapshot",
    "Recipient",
]
