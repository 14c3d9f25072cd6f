"""The check every counters test makes: a store's stats counters equal the COUNT queries over
its rows, campaign by campaign (both backends)."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from dialplan.broadcast.store.counters import StatCounts


def assert_counters_agree(store: Any, campaign_ids: list[int] | None = None) -> int:
    """Every campaign of ``store`` (or ``campaign_ids``); returns how many were checked. The
    summed seconds may differ in the last bits (floating point added in another order)."""
    if campaign_ids is None:
        campaign_ids = [store.campaign(name).id for name in store.campaign_names()]
    for cid in campaign_ids:
        kept, counted = store.stat_counts(cid), StatCounts.counted(store, cid)
        assert math.isclose(kept.duration, counted.duration, rel_tol=1e-12, abs_tol=1e-9), cid
        assert replace(kept, duration=0.0) == replace(counted, duration=0.0), cid
    return len(campaign_ids)
