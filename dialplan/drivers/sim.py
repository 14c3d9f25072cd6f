"""The simulated driver: runs a :class:`CallSession` against a caller script on a virtual clock.

Deterministic: no real time passes. Prompts last as long as a TTS voice would need (about 150
words a minute), the caller answers each input the call waits for from the script, transfers
end as the script says and HTTP requests are answered by a pluggable responder.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Union, get_args

from ..engine import effects as fx
from ..engine import events as ev
from ..engine.result import CallResult, TraceEntry
from ..engine.session import CallSession
from ..errors import UsageError

#: Script items: a key string (``1``, ``5551234567#``), ``timeout`` or ``hangup``.
TIMEOUT = "timeout"
HANGUP = "hangup"
_KEYS = re.compile(r"^[0-9*#]+$")

#: Seconds per TTS word (150 words a minute); audio files are taken as 5 s long.
SECONDS_PER_WORD = 0.4
AUDIO_SECONDS = 5.0
FIRST_KEY_DELAY = 0.5
KEY_INTERVAL = 0.25
HANGUP_DELAY = 1.0
RING_SECONDS = 6.0
TALK_SECONDS = 60.0
RECORD_SECONDS = 10.0
HTTP_SECONDS = 0.2

HttpAnswer = Union[tuple[int | None, str], str, None]  # noqa: UP007
Responder = Callable[[str, str], HttpAnswer]


def check_input(item: str) -> str:
    """Validate one script item (raise :class:`UsageError`)."""
    if item.isdigit():
        return item
    text = item.strip()
    lowered = text.lower()
    if lowered in (TIMEOUT, "silence", ""):
        return TIMEOUT
    if lowered == HANGUP:
        return HANGUP
    if not _KEYS.match(text):
        raise UsageError(
            f"bad input {item!r}: use keys (0-9 * #, e.g. 1 or 5551234567#), 'timeout' or 'hangup'"
        )
    return text


def _no_network(method: str, url: str) -> HttpAnswer:
    return (None, "")


def make_responder(http: Responder | Mapping[str, str] | None) -> Responder:
    """None → every request fails (no network); a mapping → URL → body (200), else 404."""
    if http is None:
        return _no_network
    if callable(http):
        return http
    table = dict(http)

    def respond(method: str, url: str) -> HttpAnswer:
        body = table.get(url)
        return (200, body) if body is not None else (404, "")

    return respond


@dataclass(slots=True)
class Script:
    """What the far end does: AMD verdict, inputs in order, transfer outcomes, HTTP answers."""

    amd: str = "live"
    inputs: Sequence[str] = ()
    transfer: str | Sequence[str] = "answered"
    responder: Responder | None = None


_durations: dict[str, float] = {}
#: one (immutable) event object per key, shared by all simulated calls
_KEY_EVENTS = {key: ev.DigitPressed(key) for key in "0123456789*#"}
#: likewise ``PlaybackDone`` for the small prompt ids every call uses (index = play id)
_PLAYBACK_DONE = tuple(ev.PlaybackDone(pid) for pid in range(256))


def play_seconds(effect: fx.Play) -> float:
    """How long a prompt lasts: 0.4 s a TTS word (at least 1 s); audio files 5 s."""
    if effect.kind != "tts":
        return AUDIO_SECONDS
    seconds = _durations.get(effect.value)
    if seconds is None:
        seconds = max(1.0, len(effect.value.split()) * SECONDS_PER_WORD)
        if len(_durations) < 4096:
            _durations[effect.value] = seconds
    return seconds


class SimDriver:
    """Drive one session to its end; ``run()`` returns the session's result."""

    def __init__(
        self, session: CallSession, script: Script, start: float = 0.0, trace: bool = False
    ) -> None:
        self.session = session
        self.script = script
        self.start = start
        self.now = start
        self.tracing = trace
        self._inputs = iter(script.inputs)
        transfers = [script.transfer] if isinstance(script.transfer, str) else script.transfer
        self._transfers = list(transfers) or ["answered"]
        self._transfer_index = 0
        self._heap: list[tuple[float, int, int, ev.Event]] = []
        self._seq = 0
        self._cancelled: set[int] = set()
        self._responder = script.responder or make_responder(None)

    # Cancellable timers carry a token (0: not cancellable): 3*id for a prompt's end, 3*id+1 for
    # an input timer, 3*id+2 for the keys of an input (ids start at 1).
    def _at(self, delay: float, event: ev.Event, token: int = 0) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (self.now + delay, self._seq, token, event))

    def _trace(self, actor: str, text: str) -> None:
        if self.tracing:
            self.session.result.trace.append(TraceEntry(self.now - self.start, actor, text))

    def run(self) -> CallResult:
        session = self.session
        session.start(self.now)
        self._handle(session.send(ev.Answered(self.script.amd), self.now))  # type: ignore[arg-type]
        heap = self._heap
        cancelled = self._cancelled
        table = self._table
        pop = heapq.heappop
        send = session.send
        while heap and not session.ended:
            when, _, token, event = pop(heap)
            if token and token in cancelled:
                continue
            self.now = when
            for effect in send(event, when):
                action = table.get(type(effect))
                if action is not None:
                    action(self, effect)
        if not session.ended:
            # the engine waits for something nobody will send: the caller gives up
            self._handle(session.send(ev.CallerHangup(), self.now))
        return session.result

    def _handle(self, effects: Iterable[fx.Effect]) -> None:
        table = self._table
        for effect in effects:
            action = table.get(type(effect))
            if action is not None:
                action(self, effect)

    def _play(self, effect: fx.Play) -> None:
        pid = effect.play_id
        done = _PLAYBACK_DONE[pid] if 0 <= pid < len(_PLAYBACK_DONE) else ev.PlaybackDone(pid)
        self._seq += 1  # the most frequent timer: `_at` inlined
        heapq.heappush(self._heap, (self.now + play_seconds(effect), self._seq, 3 * pid, done))

    def _stop_collecting(self, effect: fx.StopCollecting) -> None:
        self._cancelled.add(3 * effect.collect_id + 1)
        self._cancelled.add(3 * effect.collect_id + 2)

    def _stop_playback(self, effect: fx.StopPlayback) -> None:
        self._cancelled.add(3 * effect.play_id)

    def _pause(self, effect: fx.Pause) -> None:
        self._at(effect.duration_ms / 1000, ev.PauseDone(effect.pause_id))

    def _collect(self, effect: fx.CollectDigits) -> None:
        cid = effect.collect_id
        timeout = effect.timeout_ms / 1000
        item = next(self._inputs, TIMEOUT)
        if item == TIMEOUT:
            self._at(timeout, ev.InputTimeout(cid), 3 * cid + 1)
            return
        if item == HANGUP:
            self._at(HANGUP_DELAY, ev.CallerHangup())
            return
        # keys after the one that completes the entry (`#` or maxDigits) would be dropped anyway
        end = item.find("#") + 1 or len(item)
        keys = item[: min(end, effect.max_digits)] if "#" not in item[:1] else "#"
        delay = FIRST_KEY_DELAY
        for key in keys:
            self._at(delay, _KEY_EVENTS.get(key) or ev.DigitPressed(key), 3 * cid + 2)
            delay += KEY_INTERVAL
        if keys[-1] != "#" and len(keys) < effect.max_digits:
            # an unfinished entry: the timer, re-armed by each key, expires after the last one
            self._at(delay - KEY_INTERVAL + timeout, ev.InputTimeout(cid), 3 * cid + 1)

    def _transfer(self, effect: fx.Transfer) -> None:
        index = min(self._transfer_index, len(self._transfers) - 1)
        outcome = self._transfers[index]
        self._transfer_index += 1
        if outcome == "answered":
            self._at(RING_SECONDS + TALK_SECONDS, ev.TransferDone("answered", TALK_SECONDS))
        elif outcome == "no_answer":
            tries = len(effect.numbers) if effect.mode == "waterfall" else 1
            self._at(effect.timeout_s * max(1, tries), ev.TransferDone("no_answer"))
        else:
            self._at(2.0, ev.TransferDone(outcome))  # type: ignore[arg-type]

    def _record(self, effect: fx.Record) -> None:
        if effect.background:
            return
        seconds = min(effect.timeout_ms / 1000, RECORD_SECONDS)
        stem = effect.name or f"recording-{effect.record_id}"
        url = f"sim://recordings/{self.session.ctx.call_id}/{stem}.mp3"
        self._at(seconds, ev.RecordingDone(effect.record_id, url, seconds))

    def _http(self, effect: fx.HttpRequest) -> None:
        answer = self._responder(effect.method, effect.url)
        if answer is None:
            status, body = None, ""
        elif isinstance(answer, str):
            status, body = 200, answer
        else:
            status, body = answer
        self._at(HTTP_SECONDS, ev.HttpDone(effect.request_id, status, body))


#: effect type → what the simulated world does about it. Every effect type is listed (a table,
#: not a ``match``: this is the engine's hot loop); those that need no answer map to None — they
#: are in the call's result (stashes, SMS, DNC, logs) — so a new effect type fails loudly here.
_ACTIONS = {
    fx.Play: SimDriver._play,
    fx.CollectDigits: SimDriver._collect,
    fx.StopCollecting: SimDriver._stop_collecting,
    fx.StopPlayback: SimDriver._stop_playback,
    fx.Transfer: SimDriver._transfer,
    fx.Record: SimDriver._record,
    fx.HttpRequest: SimDriver._http,
    fx.Pause: SimDriver._pause,
    fx.SendSms: None,
    fx.AddToDnc: None,
    fx.SendDtmf: None,
    fx.StashResponse: None,
    fx.Log: None,
    fx.Hangup: None,
    fx.CallEnded: None,
}
_missing = set(get_args(fx.Effect)) ^ set(_ACTIONS)
if _missing:  # pragma: no cover - caught by the test suite the moment an effect is added
    raise AssertionError(f"the simulated driver does not list {sorted(map(str, _missing))}")
SimDriver._table = {k: v for k, v in _ACTIONS.items() if v is not None}  # type: ignore[attr-defined]
