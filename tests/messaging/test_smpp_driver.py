"""The SMPP driver against a real SMSC on loopback (smpp34's server; UDH checked by the test)."""

from __future__ import annotations

import asyncio
import time

import pytest

from dialplan.messaging.encoding import segment
from dialplan.messaging.port import OutboundText, Receipt
from dialplan.messaging.smpp import SmppMessaging
from dialplan.messaging.smpp_config import SmppConfig
from tools.smsc_peer import LoopbackSmsc

GSM_LONG = ("Dear customer, your parcel 12345 costs 10€ and arrives on Monday. " * 6).strip()
UCS_LONG = "Zażółć gęślą jaźń 😀 " * 9


def config(smsc: LoopbackSmsc, **kw: object) -> SmppConfig:
    values: dict[str, object] = {
        "port": smsc.relay_port,
        "system_id": "esme",
        "password": "pw",
        "reconnect_min_s": 0.05,
        "reconnect_max_s": 0.2,
        "reconnect_give_up_s": 10.0,
        "throttle_wait_s": 0.02,
        "receipt_wait_s": 2.0,
        "liveness_s": 0.2,
    }
    values.update(kw)
    return SmppConfig(**values)  # type: ignore[arg-type]


def text(rid: int, body: str, to: str = "+12025550101", ref: int = 7) -> OutboundText:
    return OutboundText(rid, 1, to, "+12025550000", segment(body), ref)


async def _receipts(port: SmppMessaging, n: int) -> list[Receipt]:
    got: list[Receipt] = []
    deadline = time.monotonic() + 5
    while len(got) < n and time.monotonic() < deadline:
        got += port.take_receipts()
        await asyncio.sleep(0.02)
    return got


@pytest.mark.parametrize("body", [GSM_LONG, UCS_LONG], ids=["gsm", "ucs2"])
def test_long_messages_arrive_as_segments_with_udh_and_receipts_complete_them(body: str) -> None:
    expected = segment(body)
    assert expected.count == 3

    async def run(smsc: LoopbackSmsc) -> tuple[object, list[Receipt]]:
        port = SmppMessaging(config(smsc))
        await port.open()
        sub = await port.send(text(1, body, ref=200), time.time())
        receipts = await _receipts(port, 1)
        await port.close()
        return sub, receipts

    with LoopbackSmsc() as smsc:
        sub, receipts = asyncio.run(run(smsc))
    messages = smsc.messages()
    assert list(messages) == [("12025550101", 200)]
    segs = messages[("12025550101", 200)]
    assert len(segs) == 3
    assert smsc.text_of(segs) == body
    assert {s.data_coding for s in segs} == {expected.data_coding}
    assert all(s.source == "12025550000" for s in segs)
    assert sub.result == "SENT" and len(sub.message_ids) == 3  # type: ignore[attr-defined]
    assert [(r.recipient_id, r.state, r.delivered_segments) for r in receipts] == [
        (1, "DELIVERED", 3)
    ]


def test_a_receipt_before_the_submit_response_is_matched() -> None:
    async def run(smsc: LoopbackSmsc) -> object:
        port = SmppMessaging(config(smsc))
        await port.open()
        sub = await port.send(text(1, GSM_LONG), time.time())
        await port.close()
        return sub

    with LoopbackSmsc(receipt_first=True) as smsc:
        sub = asyncio.run(run(smsc))
    assert sub.delivery == "DELIVERED"  # type: ignore[attr-defined]
    assert sub.delivered_segments == 3  # type: ignore[attr-defined]


def test_throttling_replies_are_retried_and_nothing_is_lost() -> None:
    async def run(smsc: LoopbackSmsc) -> list[object]:
        port = SmppMessaging(config(smsc, window=8))
        await port.open()
        subs = await asyncio.gather(
            *(port.send(text(i, f"hello {i}", to=f"+120255501{i:02d}"), time.time())
              for i in range(30))
        )  # fmt: skip
        await port.close()
        assert port.counters.throttled == smsc.throttled > 0
        return list(subs)

    with LoopbackSmsc(max_per_s=10) as smsc:
        t0 = time.monotonic()
        subs = asyncio.run(run(smsc))
        elapsed = time.monotonic() - t0
    assert [s.result for s in subs] == ["SENT"] * 30  # type: ignore[attr-defined]
    assert sorted(s.dest for s in smsc.segs) == sorted(f"120255501{i:02d}" for i in range(30))
    assert elapsed >= 2.0  # 30 texts at 10 a second: the SMSC's limit, not ours, set the pace


def test_the_window_bounds_the_submits_awaiting_a_response() -> None:
    async def run(smsc: LoopbackSmsc) -> None:
        port = SmppMessaging(config(smsc, window=3))
        await port.open()
        texts = [text(i, f"hi {i}", to=f"+120255501{i:02d}") for i in range(12)]
        subs = await asyncio.gather(*(port.send(t, time.time()) for t in texts))
        await port.close()
        assert {s.result for s in subs} == {"SENT"}

    with LoopbackSmsc(delay_s=0.05, receipts=False) as smsc:
        asyncio.run(run(smsc))
    assert smsc.max_in_flight == 3


def test_unreachable_smsc_fails_the_text_as_temporary() -> None:
    async def run() -> None:
        port = SmppMessaging(
            SmppConfig(port=1, reconnect_min_s=0.01, reconnect_max_s=0.02, reconnect_give_up_s=0.1)
        )
        with pytest.raises(ConnectionError):
            await port.open()
        sub = await port.send(text(1, "hi"), time.time())
        assert sub.result == "CARRIER_TEMP_ERROR"

    asyncio.run(run())
