"""RTP (RFC 3550) for one PCMU stream: packing, RFC 4733 telephone events, and the asyncio media
session (sender paced on an absolute 20 ms clock shared by all calls, receiver with de-duplicated
DTMF, audio sinks for recording/AMD, and an inactivity timeout)."""

from __future__ import annotations

import array
import asyncio
import collections
import random
import socket
import struct
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from .codec import SILENCE

PTIME_S = 0.02
SAMPLES_PER_FRAME = 160
FRAME = bytes([SILENCE]) * SAMPLES_PER_FRAME
DTMF_KEYS = "0123456789*#ABCD"
_HEADER = struct.Struct("!BBHII")
#: at most this many relayed frames wait (100 ms): a bridge never lags further behind
RELAY_FRAMES = 5


class RtpError(ValueError):
    """Not an RTP packet we can read."""


@dataclass(frozen=True)
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False


def pack(packet: RtpPacket) -> bytes:
    first = 0x80
    second = (0x80 if packet.marker else 0) | (packet.payload_type & 0x7F)
    header = struct.pack(
        "!BBHII",
        first,
        second,
        packet.sequence & 0xFFFF,
        packet.timestamp & 0xFFFFFFFF,
        packet.ssrc & 0xFFFFFFFF,
    )
    return header + packet.payload


def unpack(data: bytes) -> RtpPacket:
    """Parse an RTP packet (CSRCs, header extension and padding handled)."""
    if len(data) < 12:
        raise RtpError("packet shorter than an RTP header")
    first, second, seq, ts, ssrc = struct.unpack_from("!BBHII", data)
    if first >> 6 != 2:
        raise RtpError("not RTP version 2")
    offset = 12 + 4 * (first & 0x0F)
    if first & 0x10:
        if len(data) < offset + 4:
            raise RtpError("truncated header extension")
        (ext_words,) = struct.unpack_from("!H", data, offset + 2)
        offset += 4 + 4 * ext_words
    end = len(data)
    if first & 0x20:
        end -= data[-1]
    if offset > end:
        raise RtpError("truncated packet")
    return RtpPacket(second & 0x7F, seq, ts, ssrc, bytes(data[offset:end]), bool(second & 0x80))


@dataclass(frozen=True)
class TelephoneEvent:
    """An RFC 4733 §2.3 event payload."""

    event: int
    end: bool
    volume: int
    duration: int

    @property
    def key(self) -> str:
        return DTMF_KEYS[self.event] if self.event < len(DTMF_KEYS) else ""


def pack_event(event: TelephoneEvent) -> bytes:
    return struct.pack(
        "!BBH",
        event.event,
        (0x80 if event.end else 0) | (event.volume & 0x3F),
        event.duration & 0xFFFF,
    )


def unpack_event(payload: bytes) -> TelephoneEvent:
    if len(payload) < 4:
        raise RtpError("telephone-event payload shorter than 4 bytes")
    ev, flags, duration = struct.unpack_from("!BBH", payload)
    return TelephoneEvent(ev, bool(flags & 0x80), flags & 0x3F, duration)


class DtmfReceiver:
    """Turns RFC 4733 packets into key presses, once per event.

    An event is identified by (SSRC, RTP timestamp): every packet of one key press, including the
    three redundant end packets, carries the timestamp of the event start. The key is reported on
    the first packet seen (lowest latency; a lost first packet is covered by the next ones)."""

    def __init__(self, history: int = 32) -> None:
        self._seen: list[tuple[int, int]] = []
        self._history = history

    def feed(self, packet: RtpPacket) -> str | None:
        try:
            event = unpack_event(packet.payload)
        except RtpError:
            return None
        key = (packet.ssrc, packet.timestamp)
        if key in self._seen or not event.key:
            return None
        self._seen.append(key)
        del self._seen[: -self._history]
        return event.key


def dtmf_packets(key: str, duration_ms: int = 100, volume: int = 10) -> list[TelephoneEvent]:
    """The event payloads to send for one key: one per 20 ms, then the end packet three times."""
    event = DTMF_KEYS.index(key.upper())
    steps = max(1, duration_ms // 20)
    out = [TelephoneEvent(event, False, volume, SAMPLES_PER_FRAME * (i + 1)) for i in range(steps)]
    final = TelephoneEvent(event, True, volume, SAMPLES_PER_FRAME * steps)
    return [*out, final, final, final]


class LatenessStats:
    """Send lateness of paced packets, in seconds (for the benchmark; 8 bytes a sample)."""

    def __init__(self, limit: int = 5_000_000) -> None:
        self.samples = array.array("d")
        self.limit = limit

    def add(self, value: float) -> None:
        if len(self.samples) < self.limit:
            self.samples.append(value)

    def reset(self) -> LatenessStats:
        """Start a new measurement; returns what was measured so far."""
        old = LatenessStats(self.limit)
        old.samples = self.samples
        self.samples = array.array("d")
        return old

    def percentile(self, p: float) -> float:
        if not self.samples:
            return 0.0
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


class Pacer:
    """One absolute clock for every stream of this event loop. Each stream gets one of
    ``SLOTS`` phases inside the 20 ms frame, so the sends of many calls are spread over the
    frame instead of bursting at once: stream *s* in slot *j* sends frame *k* at
    ``start + k·20 ms + j·20/SLOTS ms``. A late wake-up does not shift the clock; when the
    loop falls more than 5 frames behind, the missed frames are dropped (it resynchronises).
    When ``stats`` is set (the benchmark does), it gets the lateness of every packet sent
    (send time − due time); by default nothing is recorded."""

    SLOTS = 10
    _instances: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Pacer] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.slots: list[list[RtpSession]] = [[] for _ in range(self.SLOTS)]
        self.count = 0
        self.stats: LatenessStats | None = None
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def for_loop(cls, loop: asyncio.AbstractEventLoop | None = None) -> Pacer:
        loop = loop or asyncio.get_running_loop()
        pacer = cls._instances.get(loop)
        if pacer is None:
            pacer = cls._instances[loop] = cls(loop)
        return pacer

    @property
    def streams(self) -> int:
        return self.count

    def add(self, stream: RtpSession) -> None:
        slot = min(self.slots, key=len)
        slot.append(stream)
        self.count += 1
        if self._task is None or self._task.done():
            self._task = self.loop.create_task(self._run())

    def discard(self, stream: RtpSession) -> None:
        for slot in self.slots:
            if stream in slot:
                slot.remove(stream)
                self.count -= 1
                return

    async def _run(self) -> None:
        step = PTIME_S / self.SLOTS
        start = time.monotonic()
        tick = 0
        clock = time.monotonic
        while self.count:
            due = start + tick * step
            delay = due - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            behind = int((clock() - due) / PTIME_S)
            if behind > 5:  # the loop stalled: skip the missed frames rather than burst
                tick += behind * self.SLOTS
                continue
            stats = self.stats
            if stats is None:
                for stream in tuple(self.slots[tick % self.SLOTS]):
                    stream._tick()
            else:
                for stream in tuple(self.slots[tick % self.SLOTS]):
                    stream._tick()
                    stats.add(clock() - due)
            tick += 1


class RtpSession(asyncio.DatagramProtocol):
    """The media of one call: sends PCMU/telephone-events to ``remote``, receives audio and DTMF."""

    def __init__(self, dtmf_payload_type: int = 101) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.remote: tuple[str, int] | None = None
        self.dtmf_payload_type = dtmf_payload_type
        self.ssrc = random.getrandbits(32)
        self._seq = random.getrandbits(16)
        self._ts = random.getrandbits(32)
        self._prompt: memoryview | None = None
        self._prompt_pos = 0
        self._prompt_done: Callable[[], None] | None = None
        self._dtmf_queue: list[tuple[str, int]] = []  # (key or 'w' pause, frames)
        self._dtmf_state: tuple[int, list[TelephoneEvent]] | None = None
        self._pause_frames = 0
        self._dtmf_rx = DtmfReceiver()
        self._rx_last: tuple[int, int] | None = None
        self._rx_last_ssrc = -1
        self.on_digit: Callable[[str], None] | None = None
        self.audio_sinks: list[Callable[[bytes], None]] = []
        #: frames from another call (a bridged transfer), sent when no prompt plays
        self._relay: collections.deque[bytes] = collections.deque(maxlen=RELAY_FRAMES)
        self.last_received = time.monotonic()
        self.packets_sent = 0
        self.packets_received = 0
        self._pacer: Pacer | None = None
        self._sock: socket.socket | None = None

    # -- lifecycle ------------------------------------------------------------------------
    @classmethod
    async def open(cls, host: str, port_range: tuple[int, int] | None = None) -> RtpSession:
        """Bind an even local port (from ``port_range`` if given, else any free port)."""
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        candidates: list[int] = [0]
        if port_range:
            low, high = port_range
            candidates = list(range(low + low % 2, high, 2))
            random.shuffle(candidates)
        last: OSError | None = None
        for port in candidates[:200]:
            sock = socket.socket(family, socket.SOCK_DGRAM)
            try:
                sock.setblocking(False)
                sock.bind((host, port))
            except OSError as exc:
                sock.close()
                last = exc
                continue
            _, proto = await loop.create_datagram_endpoint(cls, sock=sock)
            proto._sock = sock
            return proto
        raise OSError(f"no free RTP port in {port_range}") from last

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    @property
    def local_port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def start(self, remote: tuple[str, int], dtmf_payload_type: int | None = None) -> None:
        """Start sending to ``remote`` (silence until a prompt is queued)."""
        self.remote = remote
        if dtmf_payload_type is not None:
            self.dtmf_payload_type = dtmf_payload_type
        self.last_received = time.monotonic()
        self._pacer = Pacer.for_loop()
        self._pacer.add(self)

    def close(self) -> None:
        if self._pacer is not None:
            self._pacer.discard(self)
        self.stop_prompt()
        if self.transport is not None:
            self.transport.close()
        self._sock = None

    # -- sending ----------------------------------------------------------------------------
    def play(self, ulaw: bytes, on_done: Callable[[], None] | None = None) -> None:
        """Replace the current prompt by ``ulaw`` (8 kHz mu-law); ``on_done`` when it has gone out."""
        self._prompt = memoryview(ulaw)
        self._prompt_pos = 0
        self._prompt_done = on_done

    def relay(self, payload: bytes) -> None:
        """Queue audio received on another call to be sent on this one's clock (a bridge).
        The queue holds :data:`RELAY_FRAMES` frames: older audio is dropped, never delayed."""
        self._relay.append(payload)

    def stop_prompt(self) -> None:
        self._prompt = None
        self._prompt_done = None

    @property
    def playing(self) -> bool:
        return self._prompt is not None

    def send_dtmf(self, tones: str) -> None:
        for key in tones:
            if key.lower() == "w":
                self._dtmf_queue.append(("w", 100))  # 2 s pause
            elif key.upper() in DTMF_KEYS:
                self._dtmf_queue.append((key.upper(), 0))
                self._dtmf_queue.append(("w", 3))  # 60 ms gap between keys

    def _send(self, payload_type: int, payload: bytes, timestamp: int, marker: bool) -> None:
        if self._sock is None or self.remote is None:
            return
        self._seq = (self._seq + 1) & 0xFFFF
        header = _HEADER.pack(
            0x80, (0x80 if marker else 0) | payload_type, self._seq, timestamp, self.ssrc
        )
        try:  # straight to the socket: no asyncio buffering for real-time media
            self._sock.sendto(header + payload, self.remote)
        except OSError:  # buffer full or peer gone: a lost packet, as on any network
            return
        self.packets_sent += 1

    def _tick(self) -> None:
        """Send this 20 ms frame (called by the pacer)."""
        self._ts = (self._ts + SAMPLES_PER_FRAME) & 0xFFFFFFFF
        if self._dtmf_tick():
            return
        frame = FRAME
        marker = False
        if self._prompt is not None:
            chunk = self._prompt[self._prompt_pos : self._prompt_pos + SAMPLES_PER_FRAME]
            marker = self._prompt_pos == 0
            self._prompt_pos += SAMPLES_PER_FRAME
            frame = bytes(chunk) + FRAME[len(chunk) :]
            if self._prompt_pos >= len(self._prompt):
                done = self._prompt_done
                self._prompt = None
                self._prompt_done = None
                if done is not None:
                    self.loop_call(done)
        elif self._relay:
            relayed = self._relay.popleft()[:SAMPLES_PER_FRAME]
            frame = relayed + FRAME[len(relayed) :]
        self._send(0, frame, self._ts, marker)

    def _dtmf_tick(self) -> bool:
        if self._pause_frames > 0:
            self._pause_frames -= 1
            self._send(0, FRAME, self._ts, False)
            return True
        if self._dtmf_state is None and self._dtmf_queue:
            key, frames = self._dtmf_queue.pop(0)
            if key == "w":
                self._pause_frames = frames - 1
                self._send(0, FRAME, self._ts, False)
                return True
            self._dtmf_state = (self._ts, dtmf_packets(key))
        if self._dtmf_state is None:
            return False
        start_ts, events = self._dtmf_state
        event = events.pop(0)
        first = event.duration == SAMPLES_PER_FRAME and not event.end
        self._send(self.dtmf_payload_type, pack_event(event), start_ts, first)
        if not events:
            self._dtmf_state = None
        return True

    @staticmethod
    def loop_call(callback: Callable[[], None]) -> None:
        asyncio.get_running_loop().call_soon(callback)

    # -- receiving --------------------------------------------------------------------------
    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            packet = unpack(data)
        except RtpError:
            return
        if 72 <= packet.payload_type <= 76:  # RTCP on the RTP port (rtcp-mux)
            return
        self.last_received = time.monotonic()
        self.packets_received += 1
        if packet.payload_type == self.dtmf_payload_type:
            key = self._dtmf_rx.feed(packet)
            if key and self.on_digit is not None:
                self.on_digit(key)
        elif packet.payload_type == 0:
            payload = self._in_order(packet)
            if payload:
                for sink in self.audio_sinks:
                    sink(payload)

    def _in_order(self, packet: RtpPacket) -> bytes:
        """The audio to hand to the sinks: late and duplicate packets are dropped, a gap of
        lost packets (up to 1 s) is filled with silence so recordings keep their length."""
        last = self._rx_last
        self._rx_last_ssrc, ssrc_changed = packet.ssrc, packet.ssrc != self._rx_last_ssrc
        if last is None or ssrc_changed:
            self._rx_last = (packet.sequence, packet.timestamp)
            return packet.payload
        seq_delta = (packet.sequence - last[0]) & 0xFFFF
        if seq_delta == 0 or seq_delta >= 0x8000:  # duplicate, or older than the last one
            return b""
        self._rx_last = (packet.sequence, packet.timestamp)
        gap = ((packet.timestamp - last[1]) & 0xFFFFFFFF) - len(packet.payload)
        if seq_delta > 1 and 0 < gap <= 8000:
            return bytes([SILENCE]) * gap + packet.payload
        return packet.payload

    def error_received(self, exc: Exception) -> None:  # ICMP port unreachable etc.
        pass
