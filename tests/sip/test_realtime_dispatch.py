"""The real-clock runner with a fake asyncio driver: calls overlap up to max_active,
retries come back after they finish, every attempt is booked (no SIP needed)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from dialplan.broadcast.campaign import load_campaign
from dialplan.broadcast.reporting.stats import export_rows
from dialplan.broadcast.service import run_campaign
from dialplan.broadcast.store.sqlite import Store
from dialplan.broadcast.telephony.port import AttemptOutcome, CallRequest

PLAN = '<dialplan name="T"><play type="tts">Hi</play></dialplan>\n'


class FakeDriver:
    """Each call takes 0.2 s; the first attempt of even recipients is BUSY."""

    clocks = frozenset({"real"})
    unsupported: frozenset[type] = frozenset()

    def __init__(self) -> None:
        self.active = 0
        self.peak = 0
        self.started: list[tuple[int, int]] = []

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def dial(self, call: CallRequest, at: float) -> AttemptOutcome:
        self.started.append((call.recipient_id, call.attempt_no))
        self.active += 1
        self.peak = max(self.peak, self.active)
        await asyncio.sleep(0.2)
        self.active -= 1
        if call.recipient_id % 2 == 0 and call.attempt_no == 1:
            return AttemptOutcome("BUSY", 17, None, 0.2, 0.0)
        return AttemptOutcome("LA", 16, "HUMAN", 0.05, 0.15, (("q", f"a{call.recipient_id}"),))


def test_concurrent_dispatch_with_retries(tmp_path: Path) -> None:
    (tmp_path / "plan.xml").write_text(PLAN)
    rows = "\n".join(f"+1212555{i:04d}" for i in range(20))
    (tmp_path / "r.csv").write_text("phone_number\n" + rows + "\n")
    (tmp_path / "c.toml").write_text(
        'name = "rt"\ndialplan = "plan.xml"\nrecipients = "r.csv"\nmax_active = 5\n'
        "calls_per_second = 100\n"
        "[retry_config]\nmax_attempts = 2\nminutes_between_attempts = 0\n"
    )
    camp = load_campaign(tmp_path / "c.toml")
    driver = FakeDriver()
    started = time.monotonic()
    run_campaign(camp, tmp_path / "db.sqlite", driver=driver, clock="real", deliver=False)
    elapsed = time.monotonic() - started
    assert driver.peak == 5  # calls overlapped, never more than max_active
    assert len(driver.started) == 30  # 20 first attempts + 10 retries of the busy ones
    assert elapsed < 4.5  # 30 calls of 0.2 s, five at a time: about 1.2 s, not 6 s
    store = Store(tmp_path / "db.sqlite")
    try:
        exported = list(export_rows(store, "rt"))
    finally:
        store.close()
    assert [r["final_result"] for r in exported] == ["LA"] * 20
    # recipient ids count from 1 in input order: the even ones were busy once
    assert [len(r["attempts"]) for r in exported] == [1, 2] * 10
    assert [r["attempts"][0]["result"] for r in exported] == ["LA", "BUSY"] * 10
    assert all(r["attempts"][-1]["q850_cause"] == 16 for r in exported)
