"""The SIP driver: places a real call and runs a :class:`CallSession` against it.

Effects become media and signalling (prompts on RTP, input timers, REFER, recordings, HTTP,
BYE); what happens on the line becomes events (answer with the AMD verdict, digits, prompt
ends, timer expiries, the caller's BYE). One :class:`SipDriver` (one UDP socket) serves any
number of concurrent calls; the broadcast runner calls :meth:`SipDriver.place` per recipient.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, assert_never

from ...engine import effects as fx
from ...engine import events as ev
from ...engine.context import CallContext
from ...engine.result import CallResult
from ...engine.session import CallSession
from ...model import Amd, Plan
from .amd import AmdConfig, AudioAmd
from .causes import CARRIER_ERROR, transfer_outcome
from .codec import tone
from .recording import WavRecorder
from .tts import PromptCache, PromptError
from .ua import Call, SipConfig, SipEndpoint

log = logging.getLogger("dialplan.sip")

NORMAL_CLEARING = 16
#: Q.850 "temporary failure": a call abandoned by the driver's own safety net
TEMPORARY_FAILURE = 41
#: slack over a call's bound (ring timeout + maximum duration + 64·T1) for its last steps
END_GRACE_S = 2.0
#: recordings stop after this much silence once the caller has spoken
RECORD_SILENCE_S = 5.0


@dataclass
class CallOutcome:
    """What one placed call came to (the contract with the campaign runner).

    ``result``: ``LA`` (live answer), ``AM`` (answering machine), ``XFER`` (transferred),
    ``BUSY``, ``NO_ANS``, ``INVALID``, ``REJECTED``, ``CARRIER_ERROR``; ``cause``: Q.850 cause
    (16 for answered calls); ``call``: the engine's result (None when never answered or when the
    answer had no usable media); ``reason``: why it ended, in words (the SIP reason phrase, or
    e.g. "Timer B expired: …", "no RTP for 30 s"); ``ended_by``: who ended an answered call
    (``local``, ``remote``, ``rtp-timeout``, ``max-duration``; ``media``/``cancelled`` when we
    hung up at once; None when never answered; ``abandoned`` from the safety net)."""

    to: str
    result: str
    cause: int
    answered_by: str | None = None
    duration_s: float = 0.0
    sip_status: int = 200
    call: CallResult | None = None
    recordings: list[str] = field(default_factory=list)
    #: the AMD rule that decided (``HUMAN``, ``LONGGREETING``, …); None when AMD did not run
    amd_cause: str | None = None
    reason: str = ""
    ended_by: str | None = None

    @property
    def answered(self) -> bool:
        return self.call is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "to": self.to,
            "result": self.result,
            "cause": self.cause,
            "sip_status": self.sip_status,
            "answered_by": self.answered_by,
            "duration_s": round(self.duration_s, 3),
            "recordings": list(self.recordings),
            "amd_cause": self.amd_cause,
            "reason": self.reason,
            "ended_by": self.ended_by,
            "call": self.call.to_dict() if self.call is not None else None,
        }


@dataclass
class DriverOptions:
    """Media settings of the driver (``[sip]``/``[amd]`` in a campaign file)."""

    amd: AmdConfig = field(default_factory=AmdConfig)
    amd_mode: str = "auto"  # auto: only for plans with <amd>; always; never
    recordings_dir: Path = Path("recordings")
    prompt_cache: PromptCache | None = None
    sounds_dir: Path | None = None  # callfireid prompts: <dir>/<id>.wav
    #: callfireid prompts from the sound library: id or name → stored μ-law (None: not there)
    sound_library: Callable[[str], bytes | None] | None = None
    #: ``max_active_transfers``: a REFER waits for one of these slots (see broadcast.telephony)
    transfer_slots: asyncio.Semaphore | None = None
    http_timeout_s: float = 10.0
    #: let <get>/<post> reach loopback/private addresses (``[network] allow_private``)
    allow_private: bool = False
    #: called with (call id, effect) for every effect the engine emits (logging, tests)
    on_effect: Callable[[str, fx.Effect], None] | None = None
    #: hands an ``<sms>`` (to, text) to a messaging port, which sends it on a task of its own
    #: (it outlives the call); ``None``: no SMS gateway
    send_sms: Callable[[str, str], None] | None = None
    #: called with (the context's call id, AMD verdict or None) once a call is answered and
    #: detection (if any) has decided, before the dialplan starts
    on_answer: Callable[[str, str | None], None] | None = None
    #: called with (the context's call id, ``initiated`` | ``playfinished``) when a prompt of
    #: the dialplan starts going out on the line and when all of it has gone out
    on_prompt: Callable[[str, str], None] | None = None


class SipDriver:
    """Owns the SIP endpoint; ``await place(to, plan, context)`` runs one call to its end."""

    def __init__(self, config: SipConfig, options: DriverOptions | None = None) -> None:
        self.config = config
        self.options = options or DriverOptions()
        self.prompts = self.options.prompt_cache or PromptCache(
            allow_private=self.options.allow_private
        )
        self.endpoint: SipEndpoint | None = None
        self._http: Any = None
        #: the answered calls running now, by their context's call id (live call control)
        self.live: dict[str, CallRun] = {}
        #: the calls placed and not answered (or failed) yet
        self.ringing: set[Call] = set()

    async def __aenter__(self) -> SipDriver:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        if self.endpoint is None:
            self.endpoint = await SipEndpoint.create(self.config)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        if self.endpoint is not None:
            await self.endpoint.drain()
            self.endpoint.close()
            self.endpoint = None

    def http(self) -> Any:
        if self._http is None:
            import httpx

            from ...netguard import async_guarded_transport

            # every connection is checked against private/loopback ranges (and DNS rebinding)
            self._http = httpx.AsyncClient(
                timeout=self.options.http_timeout_s,
                transport=async_guarded_transport(self.options.allow_private),
                trust_env=False,
            )
        return self._http

    async def place(
        self,
        to: str,
        plan: Plan,
        context: CallContext | None = None,
        *,
        from_user: str | None = None,
        ring_timeout_s: float | None = None,
        amd_mode: str | None = None,
    ) -> CallOutcome:
        """Dial ``to`` (a ``sip:`` URI, or a number routed to the configured trunk), run the
        dialplan when answered, and return the outcome.

        Returns within ring timeout + maximum call duration + 64·T1
        (:meth:`SipConfig.end_bound_s`): unanswered calls end by then (see
        :meth:`Call.invite`); answered ones are hung up when the engine's maximum duration (the
        smaller of the context's and ``max_duration_s``) runs out. Should a defect keep a call
        past that bound (+ :data:`END_GRACE_S`), it is hung up and reported as a carrier error,
        so a campaign's slot is never held for ever. ``amd_mode`` overrides the driver's
        (:attr:`DriverOptions.amd_mode`) for this call."""
        bound = self.config.end_bound_s(ring_timeout_s) + END_GRACE_S
        try:
            return await asyncio.wait_for(
                self._place(to, plan, context, from_user, ring_timeout_s, amd_mode), bound
            )
        except TimeoutError:
            log.error("call to %s did not end within %g s: hung up and abandoned", to, bound)
            return CallOutcome(
                to,
                CARRIER_ERROR,
                TEMPORARY_FAILURE,
                sip_status=0,
                reason=f"internal error: the call did not end within {bound:g} s "
                "(ring timeout + maximum call duration + 64·T1): hung up and abandoned",
                ended_by="abandoned",
            )

    async def _place(
        self,
        to: str,
        plan: Plan,
        context: CallContext | None,
        from_user: str | None,
        ring_timeout_s: float | None,
        amd_mode: str | None = None,
    ) -> CallOutcome:
        await self.open()
        assert self.endpoint is not None
        uri = self.config.request_uri(to)
        call = self.endpoint.call(uri, from_user=from_user)
        self.ringing.add(call)
        try:
            answered = await call.invite(ring_timeout_s)
        finally:
            self.ringing.discard(call)
        if not answered:
            failure = call.failure
            assert failure is not None
            return CallOutcome(
                to,
                failure.result,
                failure.cause,
                sip_status=failure.status,
                reason=failure.reason,
                ended_by=call.ended_by if call.times.answered is not None else None,
            )
        context = context or CallContext(call_id=call.call_id)
        limit = min(context.max_duration_s, self.config.max_duration_s)
        run = CallRun(self, call, plan, replace(context, max_duration_s=limit), amd_mode)
        self.live[context.call_id] = run
        try:
            await run.run()
        finally:
            self.live.pop(context.call_id, None)
            run.cleanup()
            await call.bye(reason="max-duration" if run.over_time else "local")
        result = run.session.result
        answered_by = run.answered_by
        code = (
            "XFER" if result.outcome == "transfer" else ("AM" if answered_by == "machine" else "LA")
        )
        return CallOutcome(
            to,
            code,
            NORMAL_CLEARING,
            answered_by,
            call.duration_s,
            200,
            result,
            run.recordings,
            run.amd_cause,
            end_reason(call.ended_by, self.config, limit),
            call.ended_by,
        )


def end_reason(ended_by: str | None, config: SipConfig, max_duration_s: float) -> str:
    """Why an answered call ended, in words."""
    return {
        "local": "the dialplan hung up",
        "remote": "the callee hung up",
        "rtp-timeout": f"no RTP from the callee for {config.rtp_timeout_s:g} s: hung up",
        "max-duration": f"maximum call duration ({max_duration_s:g} s) reached: hung up",
    }.get(ended_by or "", ended_by or "")


def plan_uses_amd(plan: Plan) -> bool:
    return any(isinstance(node, Amd) for node in plan.nodes)


class CallRun:
    """One answered call: the event queue between the line and the engine."""

    def __init__(
        self,
        driver: SipDriver,
        call: Call,
        plan: Plan,
        context: CallContext,
        amd_mode: str | None = None,
    ) -> None:
        self.driver = driver
        self.amd_mode = amd_mode or driver.options.amd_mode
        self.call = call
        if context.js_clock is None:  # real time: the call's JavaScript time (spec §5.4)
            context = dataclasses.replace(context, js_clock=time.thread_time)
        self.session = CallSession(plan, context)
        self.plan = plan
        self.events: asyncio.Queue[ev.Event] = asyncio.Queue()
        self.answered_by = "live"
        self.amd_cause: str | None = None
        self.current_play: int | None = None
        self.collect_id: int | None = None
        self.collect_timeout_s = 0.0
        self.collect_timer: asyncio.TimerHandle | None = None
        self.recorders: dict[int, tuple[WavRecorder, fx.Record]] = {}
        self.recordings: list[str] = []
        self.tasks: set[asyncio.Task[Any]] = set()
        self.timers: list[asyncio.TimerHandle] = []
        self.hung_up = False
        #: the maximum call duration ran out (the engine ended the call with an error)
        self.over_time = False

    # -- plumbing ---------------------------------------------------------------------------
    def post(self, event: ev.Event) -> None:
        self.events.put_nowait(event)

    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def later(self, delay: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
        handle = asyncio.get_running_loop().call_later(delay, callback)
        self.timers.append(handle)
        return handle

    def cleanup(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        for handle in self.timers:
            handle.cancel()
        for recorder, _ in self.recorders.values():
            recorder.close()
        if self.call.rtp is not None:
            self.call.rtp.audio_sinks.clear()

    async def run(self) -> None:
        call = self.call
        rtp = call.rtp
        assert rtp is not None
        opts = self.driver.options
        # the engine's clock starts at the answer, so its maximum duration counts AMD too
        assert call.times.answered is not None
        limit = self.session.ctx.max_duration_s
        deadline = call.times.answered + limit
        mode = self.amd_mode
        detected = mode == "always" or (mode == "auto" and plan_uses_amd(self.plan))
        if detected:
            self.answered_by = await self._detect(opts.amd, deadline)
        if opts.on_answer is not None:
            opts.on_answer(self.session.ctx.call_id, self.answered_by if detected else None)
        call.on_digit = self._digit
        call.on_remote_hangup = lambda: self.post(ev.CallerHangup())
        if call.state != "confirmed":
            self.post(ev.CallerHangup())
        session = self.session
        answered_at = time.time() - (time.monotonic() - call.times.answered)
        session.start(answered_at)
        self.handle(session.send(ev.Answered(self.answered_by), time.time()))  # type: ignore[arg-type]
        while not session.done:
            try:
                event = await asyncio.wait_for(self.events.get(), deadline - time.monotonic())
            except TimeoutError:
                # the line is still up and nothing happens in time: the engine ends the call
                # with its "maximum duration" error (any event past the limit does that)
                self.over_time = True
                now = max(time.time(), answered_at + limit) + 0.001
                self.handle(session.send(ev.CallerHangup(), now))
                return
            self.handle(session.send(event, time.time()))

    async def _detect(self, config: AmdConfig, deadline: float) -> str:
        """Listen to the callee until the AMD rules decide (or the call's ``deadline``)."""
        rtp = self.call.rtp
        assert rtp is not None
        amd = AudioAmd(config)
        done: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        def sink(payload: bytes) -> None:
            verdict = amd.feed(payload)
            if verdict is not None and not done.done():
                self.amd_cause = verdict.cause
                log.info(
                    "AMD %s (%s) after %d ms", verdict.result, verdict.cause, verdict.decided_at_ms
                )
                done.set_result(verdict.result)

        rtp.audio_sinks.append(sink)
        try:
            hangup = asyncio.ensure_future(self.call.hangup_event.wait())
            limit = min(config.total_analysis_ms / 1000 + 1.0, deadline - time.monotonic())
            waiting: set[asyncio.Future[Any]] = {done, hangup}
            await asyncio.wait(waiting, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
            hangup.cancel()
            if done.done():
                return done.result()
            self.amd_cause = "TOOLONG"
            return config.not_sure_result
        finally:
            rtp.audio_sinks.remove(sink)

    def _digit(self, key: str) -> None:
        for rid, (_recorder, effect) in list(self.recorders.items()):
            if key == "#" and not effect.background:
                self._stop_recording(rid)
                return
        if self.collect_id is not None and self.collect_timer is not None:
            self.collect_timer.cancel()
            cid = self.collect_id
            self.collect_timer = self.later(
                self.collect_timeout_s, lambda: self._input_timeout(cid)
            )
        self.post(ev.DigitPressed(key))

    def _input_timeout(self, cid: int) -> None:
        if self.collect_id == cid:
            self.collect_id = None
            self.collect_timer = None
            self.post(ev.InputTimeout(cid))

    # -- live call control (from outside the dialplan) -------------------------------------
    def hang_up(self) -> None:
        """End the call now: the engine sees the line drop, the driver sends BYE."""
        self.post(ev.CallerHangup())

    def play_now(self, audio: bytes, on_done: Callable[[], None] | None = None) -> bool:
        """Play ``audio`` (8 kHz mu-law) now; the dialplan's own prompt, if one is playing, ends
        as if it had played out. False when the line is no longer up."""
        rtp = self.call.rtp
        if rtp is None or self.call.state != "confirmed" or self.session.done:
            return False
        if self.current_play is not None:
            play_id, self.current_play = self.current_play, None
            self.post(ev.PlaybackDone(play_id))
        rtp.play(audio, on_done)
        return True

    # -- effects ----------------------------------------------------------------------------
    def handle(self, effects: list[fx.Effect]) -> None:
        observer = self.driver.options.on_effect
        for effect in effects:
            if observer is not None:
                observer(self.call.call_id, effect)
            self._dispatch(effect)

    def _dispatch(self, effect: fx.Effect) -> None:
        """Every effect type is named here (mypy and ``assert_never`` say when one is new)."""
        match effect:
            case fx.Play():
                self._play(effect)
            case fx.StopPlayback():
                self._stop_playback(effect)
            case fx.CollectDigits():
                self._collect(effect)
            case fx.StopCollecting():
                self._stop_collecting(effect)
            case fx.Transfer():
                self._transfer(effect)
            case fx.Record():
                self._record(effect)
            case fx.HttpRequest():
                self._http(effect)
            case fx.SendDtmf():
                self._send_dtmf(effect)
            case fx.Hangup():
                self._hangup(effect)
            case fx.CallEnded():
                self._ended(effect)
            case fx.Pause():
                self._pause(effect)
            case fx.Log():
                self._log(effect)
            case fx.StashResponse() | fx.AddToDnc():
                pass  # booked from the call's result (responses, runtime DNC) by the caller
            case fx.SendSms():
                if self.driver.options.send_sms is not None:  # the call goes on meanwhile
                    self.driver.options.send_sms(effect.to, effect.text)
                else:  # no SMS gateway: campaigns that need one are refused before they start
                    log.error("%s: <sms> to %s not sent (no gateway)", self.call.call_id, effect.to)
            case _:
                assert_never(effect)

    def _play(self, effect: fx.Play) -> None:
        self.current_play = effect.play_id
        self.spawn(self._play_async(effect))

    async def _play_async(self, effect: fx.Play) -> None:
        prompts = self.driver.prompts
        try:
            if effect.kind == "tts":
                audio = await prompts.tts(effect.value, effect.voice)
            elif effect.kind == "callfireid":
                audio = await self._library_sound(effect.value.strip())
            else:
                audio = await prompts.audio(effect.value.strip())
        except PromptError as exc:
            log.warning("prompt %d skipped: %s", effect.play_id, exc)
            audio = b""
        rtp = self.call.rtp
        if self.current_play != effect.play_id or rtp is None:
            return  # stopped while it was being prepared
        play_id = effect.play_id

        on_prompt = self.driver.options.on_prompt
        call_id = self.session.ctx.call_id

        def finished() -> None:
            if self.current_play == play_id:
                self.current_play = None
                self.post(ev.PlaybackDone(play_id))
                if on_prompt is not None and audio:
                    on_prompt(call_id, "playfinished")

        if not audio or self.call.state != "confirmed":
            finished()
            return
        if on_prompt is not None:
            on_prompt(call_id, "initiated")
        rtp.play(audio, finished)

    async def _library_sound(self, ref: str) -> bytes:
        """A ``callfireid`` sound: the library's stored bytes, else ``<sounds_dir>/<id>.wav``."""
        library = self.driver.options.sound_library
        if library is not None:
            stored = library(ref)
            if stored is not None:
                return stored
        sounds = self.driver.options.sounds_dir
        if sounds is None:
            raise PromptError(f"no sound {ref!r}: no sound library or sounds directory")
        return await self.driver.prompts.audio(str(sounds / f"{ref}.wav"))

    def _stop_playback(self, effect: fx.StopPlayback) -> None:
        if self.current_play == effect.play_id:
            self.current_play = None
            if self.call.rtp is not None:
                self.call.rtp.stop_prompt()

    def _collect(self, effect: fx.CollectDigits) -> None:
        if self.collect_timer is not None:
            self.collect_timer.cancel()
        self.collect_id = effect.collect_id
        self.collect_timeout_s = effect.timeout_ms / 1000
        cid = effect.collect_id
        self.collect_timer = self.later(self.collect_timeout_s, lambda: self._input_timeout(cid))

    def _stop_collecting(self, effect: fx.StopCollecting) -> None:
        if self.collect_id == effect.collect_id:
            if self.collect_timer is not None:
                self.collect_timer.cancel()
            self.collect_id = None
            self.collect_timer = None

    def _transfer(self, effect: fx.Transfer) -> None:
        self.spawn(self._transfer_async(effect))

    async def _transfer_async(self, effect: fx.Transfer) -> None:
        """Blind transfer with REFER (RFC 3515): ringall can only name one target, so it uses
        the first number; waterfall tries the numbers in turn until one answers."""
        numbers = effect.numbers if effect.mode == "waterfall" else effect.numbers[:1]
        started = time.monotonic()
        outcome: ev.TransferOutcome = "failed"
        slots = self.driver.options.transfer_slots
        if slots is not None:  # max_active_transfers: wait for a slot, up to the timeout
            try:
                await asyncio.wait_for(slots.acquire(), effect.timeout_s)
            except TimeoutError:
                self.post(ev.TransferDone("no_answer", 0.0))
                return
        try:
            outcome = await self._refer(numbers, effect.timeout_s)
        finally:
            if slots is not None:
                slots.release()
        self.post(
            ev.TransferDone(outcome, time.monotonic() - started if outcome == "answered" else 0.0)
        )

    async def _refer(self, numbers: tuple[str, ...], timeout_s: float) -> ev.TransferOutcome:
        """REFER to each number in turn until one answers; the last outcome (its final NOTIFY)."""
        outcome: ev.TransferOutcome = "failed"
        for number in numbers:
            try:
                target = self.driver.config.transfer_target(number)
            except ValueError as exc:
                log.warning("transfer: %s", exc)
                continue
            status = await self.call.refer(target, timeout_s)
            outcome = transfer_outcome(status)
            if outcome == "answered" or self.call.state != "confirmed":
                break
        return outcome

    def _record(self, effect: fx.Record) -> None:
        ctx = self.session.ctx
        stem = effect.name or f"recording-{effect.record_id}"
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)
        path = (self.driver.options.recordings_dir / _safe(ctx.call_id) / f"{safe}.wav").resolve()
        rtp = self.call.rtp
        assert rtp is not None
        if effect.beep:
            rtp.play(tone(1000, 200))
        recorder = WavRecorder(path)
        rtp.audio_sinks.append(recorder)
        self.recorders[effect.record_id] = (recorder, effect)
        self.recordings.append(path.as_uri())
        if not effect.background:
            self.spawn(self._watch_recording(effect.record_id, effect.timeout_ms / 1000))

    async def _watch_recording(self, rid: int, limit_s: float) -> None:
        started = time.monotonic()
        while rid in self.recorders:
            recorder = self.recorders[rid][0]
            if (
                time.monotonic() - started >= limit_s
                or (recorder.heard_voice and recorder.trailing_silence_s >= RECORD_SILENCE_S)
                or self.call.state != "confirmed"
            ):
                self._stop_recording(rid)
                return
            await asyncio.sleep(0.1)

    def _stop_recording(self, rid: int) -> None:
        recorder, effect = self.recorders.pop(rid)
        recorder.close()
        rtp = self.call.rtp
        if rtp is not None and recorder in rtp.audio_sinks:
            rtp.audio_sinks.remove(recorder)
        if not effect.background:
            self.post(ev.RecordingDone(rid, recorder.path.as_uri(), recorder.duration_s))

    def _http(self, effect: fx.HttpRequest) -> None:
        self.spawn(self._http_async(effect))

    async def _http_async(self, effect: fx.HttpRequest) -> None:
        import httpx

        from ...netguard import UnsafeUrl

        try:
            resp = await self.driver.http().request(
                effect.method,
                effect.url,
                timeout=effect.timeout_s,
                headers=list(effect.headers),
                content=effect.body.encode() if effect.body else None,
            )
            self.post(ev.HttpDone(effect.request_id, resp.status_code, resp.text))
        except (httpx.HTTPError, UnsafeUrl) as exc:  # a refused address is a failed request
            log.info("HTTP %s %s failed: %s", effect.method, effect.url, exc)
            self.post(ev.HttpDone(effect.request_id, None, ""))

    def _send_dtmf(self, effect: fx.SendDtmf) -> None:
        if self.call.rtp is not None:
            self.call.rtp.send_dtmf(effect.tones)

    def _pause(self, effect: fx.Pause) -> None:
        pid = effect.pause_id
        self.later(effect.duration_ms / 1000, lambda: self.post(ev.PauseDone(pid)))

    def _log(self, effect: fx.Log) -> None:
        level = {"info": logging.INFO, "warning": logging.WARNING}.get(effect.level, logging.ERROR)
        log.log(
            level,
            "%s: %s%s",
            self.call.call_id,
            effect.message,
            f" ({effect.node})" if effect.node else "",
        )

    def _hangup(self, effect: fx.Hangup) -> None:
        if self.call.rtp is not None:
            self.call.rtp.stop_prompt()
        self.spawn(self.call.bye())

    def _ended(self, effect: fx.CallEnded) -> None:
        for rid in list(self.recorders):
            self._stop_recording(rid)


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:80] or "call"


#: effects this driver cannot carry out: a campaign whose dialplan emits one is refused
UNSUPPORTED_EFFECTS: frozenset[type] = frozenset({fx.SendSms})
