"""200 concurrent inbound calls from SIPp: all answered, all finished, all stored."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import require

pytestmark = [pytest.mark.sip, pytest.mark.slow]


def test_200_concurrent_inbound_calls(answer_server: Any, caller: Any) -> None:
    require("espeak-ng", "sox", "sipp")
    server = answer_server(
        '[sip]\nprompt_cache_dir = "@PROMPTS@"\n'
        '[numbers."15551230200"]\ndialplan = "thanks_wait.xml"\nmax_concurrent = 250\n'
    )
    peer = caller(server, "15551230200", calls=200, rate=200, hangup="callee")
    assert peer.wait(90) == 0, (peer.directory / "errors.log").read_text(errors="replace")
    calls = server.wait_finished(200, timeout=30)
    assert len(calls) == 200
    assert {c.result for c in calls} == {"LA"}
    assert {c.ended_by for c in calls} == {"local"}
    assert all(c.responses == [{"question": "heard", "response": "yes"}] for c in calls)
    # they really overlapped: the most calls up at one moment
    edges = sorted(
        [(c.answered_at, 1) for c in calls if c.answered_at]
        + [(c.ended_at, -1) for c in calls if c.ended_at]
    )
    up = peak = 0
    for _, step in edges:
        up += step
        peak = max(peak, up)
    assert peak >= 150
