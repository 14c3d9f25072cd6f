"""``max_active_transfers``: at most so many transfers in progress at once, on either clock.

A transfer is active from the moment it starts until its final result: on SIP from the REFER
until the final NOTIFY; in the simulation, where the caller is bridged, until the bridge (and the
call) ends. A transfer that finds every slot taken **waits** — the caller hears the transfer
message, then silence — until a slot frees, for at most the transfer's timeout; if none frees in
time the transfer is given up like an unanswered one (the call ends ``LA``, not ``XFER``).
"""

from __future__ import annotations

import heapq


class VirtualTransferSlots:
    """The slots on the virtual clock: the end times of the transfers in progress."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._ends: list[float] = []
        #: transfers that waited, and that were given up
        self.waited = 0
        self.refused = 0

    def claim(self, start: float, hold_s: float, patience_s: float) -> float | None:
        """When a transfer asked for at ``start`` (held ``hold_s``) begins; ``None``: no slot
        freed within ``patience_s``."""
        ends = self._ends
        while ends and ends[0] <= start:
            heapq.heappop(ends)
        if len(ends) < self.limit:
            heapq.heappush(ends, start + hold_s)
            return start
        free_at = ends[0]
        if free_at - start > patience_s:
            self.refused += 1
            return None
        heapq.heapreplace(ends, free_at + hold_s)
        self.waited += 1
        return free_at
