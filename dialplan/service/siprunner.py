"""``serve --driver sip``: single calls placed as real SIP calls (the ``dialplan.drivers.sip`` driver).

One :class:`~dialplan.drivers.sip.driver.SipDriver` (one UDP socket for every call) runs on an
event loop of its own thread. What a call reports goes to :class:`CallEvents` from one reporter
thread, in order (answered before ended), so the SIP loop never waits for the database.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..drivers.sip.config import from_mapping
from ..drivers.sip.driver import CallOutcome, DriverOptions, SipDriver
from ..drivers.sip.tts import PromptError
from ..drivers.sip.ua import SipConfig
from ..engine.context import CallContext
from ..errors import UsageError
from .runner import (
    CONTROL_TIMEOUT_S,
    CallEvents,
    CallOrder,
    Control,
    HangUp,
    NotControllable,
    digits,
)

log = logging.getLogger("dialplan.service")

#: the driver's result codes of unanswered calls → the call's failure reason (its status)
_FAILURES = {"BUSY": "busy", "NO_ANS": "no-answer"}
_VERDICTS = {"live": "human", "machine": "machine"}


def sip_block(outcome: CallOutcome) -> dict[str, Any]:
    """The SIP side of a finished call (``result.sip`` in the API)."""
    return {
        "result": outcome.result,
        "cause": outcome.cause,
        "sip_status": outcome.sip_status,
        "reason": outcome.reason,
        "ended_by": outcome.ended_by,
        "amd_cause": outcome.amd_cause,
        "recordings": list(outcome.recordings),
    }


class SipCallRunner:
    """Places each call on the SIP trunk (or ``sip:`` URI) and reports it."""

    def __init__(self, config: SipConfig, options: DriverOptions, max_calls: int = 100) -> None:
        self.config = config
        self._events: dict[str, CallEvents] = {}
        self._reporter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sip-report")
        options.on_answer = self._answered
        options.on_prompt = self._prompted
        self._prompting: set[str] = set()  # the calls whose prompts are reported
        self.driver = SipDriver(config, options)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="sip-calls", daemon=True
        )
        self._thread.start()
        self._tasks: set[asyncio.Future[None]] = set()
        self._slots = asyncio.Semaphore(max_calls)
        try:
            asyncio.run_coroutine_threadsafe(self.driver.open(), self._loop).result(10)
        except OSError as exc:
            self._stop_loop()
            raise UsageError(f"--driver sip: cannot open the SIP socket: {exc}") from None

    @classmethod
    def from_table(
        cls,
        table: Mapping[str, Any],
        base: Path,
        allow_private: bool = False,
        max_calls: int = 100,
    ) -> SipCallRunner:
        """A runner configured by a ``[sip]`` table (a campaign's keys; paths relative to
        ``base``); a bad table or an unusable socket is a :class:`UsageError`."""
        config, options = from_mapping(table, base)
        options.allow_private = allow_private
        if options.prompt_cache is not None:
            options.prompt_cache.allow_private = allow_private
        return cls(config, options, max_calls=max_calls)

    # -- CallRunner ---------------------------------------------------------------------------

    def place(self, order: CallOrder, events: CallEvents) -> None:
        self._events[order.call_id] = events
        if order.prompts:
            self._prompting.add(order.call_id)
        self._loop.call_soon_threadsafe(self._start, order, events)

    def control(self, call_id: str, command: Control) -> None:
        future = asyncio.run_coroutine_threadsafe(self._control(call_id, command), self._loop)
        future.result(CONTROL_TIMEOUT_S)

    def close(self) -> None:
        """Hang up the calls still running, close the socket, stop the loop."""

        async def finish() -> None:
            for run in list(self.driver.live.values()):
                run.hang_up()
            if self._tasks:
                await asyncio.wait(list(self._tasks), timeout=5)
            for task in self._tasks:
                task.cancel()
            await self.driver.close()

        if self._thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(finish(), self._loop).result(15)
            except Exception:  # closing must go on (the next start marks calls interrupted)
                log.exception("closing the SIP runner")
            self._stop_loop()
        self._reporter.shutdown(wait=True)

    # -- on the SIP loop ----------------------------------------------------------------------

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _start(self, order: CallOrder, events: CallEvents) -> None:
        task = self._loop.create_task(self._call(order, events))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _report(self, method: Any, *args: Any) -> None:
        self._reporter.submit(method, *args)

    def _answered(self, call_id: str, verdict: str | None) -> None:
        events = self._events.get(call_id)
        if events is not None:
            self._report(events.answered, call_id, _VERDICTS.get(verdict or ""))

    def _prompted(self, call_id: str, state: str, prompt_ref: str | None = None) -> None:
        events = self._events.get(call_id)
        if events is not None and call_id in self._prompting:
            self._report(events.prompt, call_id, state, prompt_ref)

    async def _call(self, order: CallOrder, events: CallEvents) -> None:
        caller = digits(order.caller_id) if order.caller_id else ""
        context = CallContext(
            callerid=caller or self.config.from_user,
            phonenumber=digits(order.to),
            variables=dict(order.variables),
            call_id=order.call_id,
        )
        try:
            self.config.request_uri(order.to)
        except ValueError as exc:  # a number, and no trunk to route it to
            self._events.pop(order.call_id, None)
            self._report(events.failed, order.call_id, str(exc))
            self._report(events.ended, order.call_id, None)
            return
        try:
            async with self._slots:
                outcome = await self.driver.place(
                    order.to,
                    order.plan,
                    context,
                    from_user=caller or None,
                    amd_mode="always" if order.detect_answering_machine else None,
                )
        except asyncio.CancelledError:
            self._report(events.failed, order.call_id, "canceled")
            self._report(events.ended, order.call_id, None)
            raise
        except Exception as exc:  # a bug or a socket error must still end the call
            log.exception("SIP call %s crashed", order.call_id)
            self._report(events.failed, order.call_id, f"internal error: {type(exc).__name__}")
            self._report(events.ended, order.call_id, None)
            return
        finally:
            self._events.pop(order.call_id, None)
            self._prompting.discard(order.call_id)
        if outcome.call is None:
            reason = _FAILURES.get(outcome.result) or outcome.reason or outcome.result
            self._report(events.failed, order.call_id, reason)
            self._report(events.ended, order.call_id, None)
            return
        result = outcome.call.to_dict()
        result["sip"] = sip_block(outcome)
        self._report(events.ended, order.call_id, result)

    async def _control(self, call_id: str, command: Control) -> None:
        run = self.driver.live.get(call_id)
        if run is None:
            raise NotControllable("the call is not answered yet or has ended")
        if isinstance(command, HangUp):
            run.hang_up()
            return
        prompts = self.driver.prompts
        try:
            if command.kind == "tts":
                audio = await prompts.tts(command.value, command.voice)
            else:
                audio = await prompts.audio(command.value)
        except PromptError as exc:
            raise ValueError(f"cannot play it: {exc}") from None
        ref = command.prompt_ref or "prompt"
        if not run.play_now(audio, lambda: self._prompted(call_id, "playfinished", ref)):
            raise NotControllable("the call has ended")
        self._prompted(call_id, "initiated", ref)
