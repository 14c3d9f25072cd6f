"""A real SMSC on loopback for the tests and `tools/bench sms`: smpp34's server, in a thread with its own loop.

It checks concatenation on its own — the user data header is parsed here, independently of
the driver's encoder — and keeps every submit it received. It can throttle (answer
``ESME_RTHROTTLED`` above a rate), send each receipt before or after the submit's response, text
the ESME (mobile-originated ``deliver_sm``), and drop the TCP connection: clients reach it
through a relay whose sockets :meth:`LoopbackSmsc.cut` closes, as a failing network would.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import smpp34

THROTTLED = 0x58


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Seg:
    session: str
    source: str
    dest: str
    esm_class: int
    data_coding: int
    ref: int | None
    total: int
    seq: int
    payload: bytes
    message_id: str


def parse_udh(data: bytes) -> tuple[int | None, int, int, bytes]:
    """(reference, total, sequence, payload) of a short_message with a UDH (IEI 0 or 8)."""
    udhl = data[0]
    header, payload = data[1 : 1 + udhl], data[1 + udhl :]
    i = 0
    while i < len(header):
        iei, length = header[i], header[i + 1]
        value = header[i + 2 : i + 2 + length]
        if iei == 0x00 and length == 3:
            return value[0], value[1], value[2], payload
        if iei == 0x08 and length == 4:
            return value[0] << 8 | value[1], value[2], value[3], payload
        i += 2 + length
    raise AssertionError(f"UDH without a concatenation element: {data[: udhl + 1].hex()}")


_GSM_SPECIAL = {0x00: "@", 0x02: "$", 0x11: "_"}


def gsm_text(payload: bytes) -> str:
    """Decode the GSM septets the tests use (letters, digits, punctuation, € via escape)."""
    out, i = [], 0
    while i < len(payload):
        b = payload[i]
        if b == 0x1B:
            out.append({0x65: "€", 0x28: "{", 0x29: "}"}[payload[i + 1]])
            i += 2
            continue
        out.append(_GSM_SPECIAL.get(b, chr(b)))
        i += 1
    return "".join(out)


@dataclass
class LoopbackSmsc:
    #: accepted submits per second before it throttles (0: never)
    max_per_s: float = 0.0
    receipt_first: bool = False
    receipts: bool = True
    #: a pause before each response (so submits overlap in the window)
    delay_s: float = 0.0
    segs: list[Seg] = field(default_factory=list)
    throttled: int = 0
    binds: int = 0
    accepted_at: list[float] = field(default_factory=list)
    #: submits awaiting their response now, and the most there ever were (the ESME's window)
    in_flight: int = 0
    max_in_flight: int = 0

    def __post_init__(self) -> None:
        self.port = free_port()
        self.relay_port = free_port()
        self._loop = asyncio.new_event_loop()
        self._sessions: dict[str, Any] = {}
        self._last_session: str | None = None
        self._conns: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._n = 0
        self._window_start = time.monotonic()
        self._in_window = 0
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    # -- life -----------------------------------------------------------------------------
    def __enter__(self) -> LoopbackSmsc:
        self._thread.start()
        self._call(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self._call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _call(self, coro: Any, timeout: float = 10) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _start(self) -> None:
        self._server = smpp34.Server(host="127.0.0.1", port=self.port, system_id="TESTSMSC")
        await self._server.start()
        self._serve_task = asyncio.create_task(self._serve())
        self._relay = await asyncio.start_server(self._relay_one, "127.0.0.1", self.relay_port)

    async def _stop(self) -> None:
        self._relay.close()
        for w in self._conns:
            w.close()
        self._serve_task.cancel()
        await self._server.stop()

    # -- the relay (so the network can fail) ----------------------------------------------
    async def _relay_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_r, up_w = await asyncio.open_connection("127.0.0.1", self.port)
        self._conns += [writer, up_w]

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await r.read(65536):
                    w.write(data)
                    await w.drain()
            w.close()

        await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))

    def cut(self) -> None:
        """Drop every connection now (both sides see the TCP connection close)."""

        async def cut() -> None:
            for w in self._conns:
                transport = w.transport
                transport.abort()
            self._conns.clear()

        self._call(cut())

    # -- the SMSC -------------------------------------------------------------------------
    async def _serve(self) -> None:
        while True:
            ev = await self._server.next()
            if isinstance(ev, smpp34.Esme):
                self._sessions[ev.session_id] = ev
                self._last_session = ev.session_id
                self.binds += 1
            elif isinstance(ev, smpp34.SubmitSmEvent):
                task = asyncio.create_task(self._submit(ev))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    def _over_rate(self) -> bool:
        if not self.max_per_s:
            return False
        now = time.monotonic()
        if now - self._window_start >= 1.0:
            self._window_start, self._in_window = now, 0
        if self._in_window >= self.max_per_s:
            return True
        self._in_window += 1
        return False

    async def _submit(self, ev: Any) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await self._answer(ev)
        finally:
            self.in_flight -= 1

    async def _answer(self, ev: Any) -> None:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self._over_rate():
            self.throttled += 1
            ev.reject(THROTTLED)
            return
        self._n += 1
        msg_id = f"m{self._n}"
        data = ev.short_message
        ref, total, seq, payload = None, 1, 1, data
        if ev.esm_class & 0x40:
            ref, total, seq, payload = parse_udh(data)
        self.segs.append(
            Seg(ev.session_id, ev.source_addr, ev.destination_addr, ev.esm_class,
                ev.data_coding, ref, total, seq, payload, msg_id)
        )  # fmt: skip
        self.accepted_at.append(time.monotonic())
        esme = self._sessions.get(ev.session_id)
        receipt = (
            f"id:{msg_id} sub:001 dlvrd:001 submit date:2601011200 done date:2601011200"
            " stat:DELIVRD err:000 text:"
        ).encode()
        if self.receipts and self.receipt_first and esme is not None:
            with contextlib.suppress(Exception):
                await esme.deliver_sm(
                    source_addr=ev.destination_addr,
                    destination_addr=ev.source_addr,
                    esm_class=0x04,
                    short_message=receipt,
                )
        ev.accept(msg_id)
        if self.receipts and not self.receipt_first and esme is not None:
            await asyncio.sleep(0.01)
            with contextlib.suppress(Exception):
                await esme.deliver_sm(
                    source_addr=ev.destination_addr,
                    destination_addr=ev.source_addr,
                    esm_class=0x04,
                    short_message=receipt,
                )

    def mo(self, source: str, dest: str, text: str) -> None:
        """A handset texts the ESME (a mobile-originated ``deliver_sm``)."""

        async def send() -> None:
            assert self._last_session is not None
            await self._sessions[self._last_session].deliver_sm(
                source_addr=source, destination_addr=dest, short_message=text.encode("ascii")
            )

        self._call(send())

    # -- what arrived ---------------------------------------------------------------------
    def messages(self) -> dict[tuple[str, int | None], list[Seg]]:
        """Segments grouped by (destination, reference), in sequence order."""
        out: dict[tuple[str, int | None], list[Seg]] = {}
        for s in self.segs:
            out.setdefault((s.dest, s.ref), []).append(s)
        for segs in out.values():
            segs.sort(key=lambda s: s.seq)
        return out

    @staticmethod
    def text_of(segs: list[Seg]) -> str:
        """The reassembled message; checks the UDH of every segment on the way."""
        total = segs[0].total
        assert [s.seq for s in segs] == list(range(1, total + 1)), [s.seq for s in segs]
        assert all(s.total == total and s.ref == segs[0].ref for s in segs)
        if total > 1:
            assert all(s.esm_class & 0x40 for s in segs)
        if segs[0].data_coding == 8:  # each segment decodes alone: no surrogate pair is split
            return "".join(s.payload.decode("utf-16-be") for s in segs)
        return "".join(gsm_text(s.payload) for s in segs)
