"""Telephony actions: ``<transfer>``, ``<record>``, ``<sms>``, ``<dnc>``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from ...model import Dnc, Record, Sms, Transfer
from .. import effects as fx
from .. import events as ev
from ..wait import WaitFor
from .catch import stray_digit

if TYPE_CHECKING:
    from ..session import CallSession


def transfer(s: CallSession, node: Transfer) -> None:
    numbers = tuple(n.strip() for n in s.render(node.numbers).split(",") if n.strip())
    callerid = s.render(node.callerid).strip() if node.callerid is not None else s.ctx.callerid
    whisper = s.render(node.whisper_tts).strip() if node.whisper_tts is not None else None
    mode: Literal["ringall", "waterfall"] = "waterfall" if node.mode == "waterfall" else "ringall"
    s.emit(
        fx.Transfer(
            numbers,
            mode,
            callerid,
            node.timeout_s,
            node.musiconhold,
            whisper,
            node.continue_after,
        )
    )
    s.report_transfer(numbers, mode, callerid)
    s.wait(WaitFor.TRANSFER, node, 0)  # one transfer at a time: no id
    s.trace("ivr", f"transfers to {', '.join(numbers)} ({mode})")


def on_transfer_event(s: CallSession, node: Transfer, event: ev.Event) -> None:
    # digits while bridged go to the other party, not to the dialplan
    if type(event) is not ev.TransferDone:
        return
    s.resume()
    s.report_transfer_outcome(event.outcome)
    s.trace("call", f"transfer {event.outcome}")
    if event.outcome == "answered" and not node.continue_after:
        s.finish("transfer", "transfer")


def record(s: CallSession, node: Record) -> None:
    rid = s.new_id()
    s.emit(fx.Record(rid, node.name, node.timeout_ms, node.background, not node.background))
    s.trace("ivr", "records the caller" + (" (background)" if node.background else ""))
    if node.background:
        if node.varname:
            stem = node.name or f"recording-{rid}"
            s.assign(node.varname, f"{s.ctx.recording_base}{s.ctx.call_id}/{stem}.mp3")
        return
    s.wait(WaitFor.RECORD, node, rid)


def on_record_event(s: CallSession, node: Record, event: ev.Event) -> None:
    if type(event) is ev.DigitPressed:
        stray_digit(s, event.key, log=False)  # '#' ends a recording: the driver's business
    elif type(event) is ev.RecordingDone and event.record_id == s.wait_id:
        s.resume()
        if node.varname:
            s.assign(node.varname, event.url)


def sms(s: CallSession, node: Sms) -> None:
    to = s.render(node.to).strip()
    text = s.render(node.message).strip()
    s.emit(fx.SendSms(to, text))
    s.trace("ivr", f"texts {to}: {text}")


def dnc(s: CallSession, node: Dnc) -> None:
    number = s.render(node.number).strip()
    s.emit(fx.AddToDnc(number))
    s.trace("ivr", f"adds {number} to the do-not-call list")


HANDLERS: dict[type, tuple[Any, Any]] = {
    Transfer: (transfer, on_transfer_event),
    Record: (record, on_record_event),
    Sms: (sms, None),
    Dnc: (dnc, None),
}
