"""An inbound call's run, with the bridged transfer: keep the caller, dial the target as a
second leg, whisper to the agent only, relay the audio both ways, and come back after.

What the bridge honours of ``<transfer>``: every number (``ringall`` dials them all at once
and the first to answer wins; ``waterfall`` one after another, ``timeout`` each), ``callerid``
(the leg's From user; default the caller's number), ``musiconhold`` (what the caller hears
while the leg rings and during the whisper: ``ringing`` = US ringback 440+480 Hz 2 s on / 4 s
off, ``silence``, any other style = a soft repeating chime), ``whisper-tts`` (spoken to the
agent leg only, before the parties are connected) and ``continue-after`` (when the agent
hangs up the dialplan goes on after the transfer tag; without it the call ends as
transferred). When the caller hangs up during the bridge the agent leg is hung up too.
"""

from __future__ import annotations

import array
import asyncio
import logging
import math
import time
from typing import Any

from ..drivers.sip.codec import SILENCE, pcm16_to_ulaw
from ..drivers.sip.driver import CallRun, SipDriver
from ..drivers.sip.tts import PromptError
from ..drivers.sip.ua import Call
from ..engine import effects as fx
from ..engine import events as ev
from ..engine.context import CallContext
from ..model import Plan

log = logging.getLogger("dialplan.inbound")

#: leg result → the engine's transfer outcome
_OUTCOMES = {"BUSY": "busy", "NO_ANS": "no_answer"}


def _tones(freqs: tuple[float, ...], on_ms: int, off_ms: int, amplitude: int = 4000) -> bytes:
    """``freqs`` mixed for ``on_ms``, then ``off_ms`` of silence, as mu-law."""
    n = 8 * on_ms
    samples = array.array(
        "h",
        (
            int(sum(amplitude * math.sin(2 * math.pi * f * i / 8000) for f in freqs) / len(freqs))
            for i in range(n)
        ),
    )
    return pcm16_to_ulaw(samples.tobytes()) + bytes([SILENCE]) * (8 * off_ms)


def hold_audio(style: str) -> bytes:
    """One period of the music on hold for a ``musiconhold`` value (b"" = silence)."""
    style = style.strip().lower()
    if style in ("silence", "silent", "none"):
        return b""
    if style in ("ringing", ""):
        return _tones((440.0, 480.0), 2000, 4000)
    return b"".join(_tones((f,), 300, 100, 2500) for f in (523.25, 659.25, 783.99)) + bytes(
        [SILENCE]
    ) * (8 * 1500)


class InboundRun(CallRun):
    """:class:`CallRun` for an answered inbound call: records ``<dnc>`` numbers, and
    transfers by bridging (``transfer = "bridge"``) or by REFER (``"refer"``)."""

    def __init__(
        self,
        driver: SipDriver,
        call: Call,
        plan: Plan,
        context: CallContext,
        transfer_mode: str = "bridge",
    ) -> None:
        super().__init__(driver, call, plan, context)
        self.transfer_mode = transfer_mode
        self.dnc: list[str] = []
        self.legs: list[Call] = []
        self.bridged_s = 0.0
        #: the caller hung up while bridged to an agent (the call counts as transferred)
        self.ended_in_bridge = False
        self._relaying = False

    def handle(self, effects: list[fx.Effect]) -> None:
        for effect in effects:
            if isinstance(effect, fx.AddToDnc) and effect.number:
                self.dnc.append(effect.number)
        super().handle(effects)

    def cleanup(self) -> None:
        if self._relaying and self.call.state != "confirmed":
            self.ended_in_bridge = True  # the bridge task may not have seen it yet
        super().cleanup()
        for leg in self.legs:
            if leg.state == "confirmed":
                task = asyncio.ensure_future(leg.bye())
                endpoint = self.driver.endpoint
                if endpoint is not None:
                    endpoint.background.add(task)
                    task.add_done_callback(endpoint.background.discard)

    def _transfer(self, effect: fx.Transfer) -> None:
        if self.transfer_mode == "refer":
            super()._transfer(effect)
        else:
            self.spawn(self._bridge(effect))

    # -- the bridge ---------------------------------------------------------------------------
    async def _bridge(self, effect: fx.Transfer) -> None:
        caller = self.call
        rtp = caller.rtp
        assert rtp is not None
        hold = hold_audio(effect.musiconhold)
        holding = True

        def loop_hold() -> None:
            if holding and hold and caller.state == "confirmed" and caller.rtp is not None:
                caller.rtp.play(hold, loop_hold)

        rtp.stop_prompt()
        loop_hold()
        try:
            leg, outcome = await self._dial(effect)
            if leg is None:
                self.post(ev.TransferDone(outcome))  # type: ignore[arg-type]
                return
            if effect.whisper:
                await self._whisper(leg, effect.whisper)
            holding = False
            rtp.stop_prompt()
            if leg.state != "confirmed" or caller.state != "confirmed":
                self.post(ev.TransferDone("no_answer" if leg.state != "confirmed" else "answered"))
                return
            talk = await self._relay(leg)
            self.bridged_s += talk
            if caller.state == "confirmed":
                self.post(ev.TransferDone("answered", talk))
        finally:
            holding = False

    async def _dial(self, effect: fx.Transfer) -> tuple[Call | None, str]:
        """The answered leg (None: nobody answered) and the outcome to report otherwise."""
        endpoint = self.driver.endpoint
        assert endpoint is not None
        from_user = effect.callerid or self.session.ctx.callerid or None
        targets = []
        for number in effect.numbers:
            try:
                targets.append(self.driver.config.transfer_target(number))
            except ValueError as exc:
                log.warning("transfer: %s", exc)
        if not targets:
            return None, "failed"
        groups = [[t] for t in targets] if effect.mode == "waterfall" else [targets]
        outcome = "failed"
        for group in groups:
            legs = [endpoint.call(uri, from_user=from_user) for uri in group]
            self.legs.extend(legs)
            tasks = {
                asyncio.ensure_future(leg.invite(float(effect.timeout_s))): leg for leg in legs
            }
            winner: Call | None = None
            try:
                pending = set(tasks)
                while pending and winner is None:
                    done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                    for task in done:
                        leg = tasks[task]
                        if task.result():
                            winner = winner or leg
                        elif leg.failure is not None:
                            outcome = _OUTCOMES.get(leg.failure.result, "failed")
                    if self.call.state != "confirmed":
                        break
            finally:
                for task, leg in tasks.items():
                    if not task.done():
                        task.cancel()
                    elif task.result() and leg is not winner:
                        await leg.bye()
            if self.call.state != "confirmed":
                if winner is not None:
                    await winner.bye()
                return None, "failed"
            if winner is not None:
                return winner, "answered"
        return None, outcome

    async def _whisper(self, leg: Call, text: str) -> None:
        """Speak ``text`` to the agent leg only; the caller keeps hearing the hold music."""
        try:
            audio = await self.driver.prompts.tts(text, None)
        except PromptError as exc:
            log.warning("whisper skipped: %s", exc)
            return
        if leg.rtp is None or leg.state != "confirmed":
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def finished() -> None:
            if not done.done():
                done.set_result(None)

        leg.rtp.play(audio, finished)
        ends = asyncio.ensure_future(leg.hangup_event.wait())
        gone = asyncio.ensure_future(self.call.hangup_event.wait())
        waits: list[asyncio.Future[Any]] = [done, ends, gone]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        ends.cancel()
        gone.cancel()

    async def _relay(self, leg: Call) -> float:
        """Connect the parties until either hangs up; returns the seconds they talked."""
        caller_rtp, leg_rtp = self.call.rtp, leg.rtp
        assert caller_rtp is not None and leg_rtp is not None
        caller_rtp.audio_sinks.append(leg_rtp.relay)
        leg_rtp.audio_sinks.append(caller_rtp.relay)
        started = time.monotonic()
        self._relaying = True
        waits: list[asyncio.Future[Any]] = [
            asyncio.ensure_future(leg.hangup_event.wait()),
            asyncio.ensure_future(self.call.hangup_event.wait()),
        ]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._relaying = False
            for w in waits:
                w.cancel()
            if leg_rtp.relay in caller_rtp.audio_sinks:
                caller_rtp.audio_sinks.remove(leg_rtp.relay)
            if caller_rtp.relay in leg_rtp.audio_sinks:
                leg_rtp.audio_sinks.remove(caller_rtp.relay)
            if self.call.state != "confirmed":
                self.ended_in_bridge = True
                await leg.bye()
        return time.monotonic() - started
