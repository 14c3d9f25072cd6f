"""Telephony actions: ``<transfer>``, ``<record>``, ``<sms>``, ``<dnc>``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...model import Dnc, Record, Sms, Transfer
from .. import effects as fx
from .. import events as ev

if TYPE_CHECKING:
    from ..session import CallSession


def transfer(s: CallSession, node: Transfer) -> None:
    numbers = tuple(n.strip() for n in s.render(node.numbers).split(",") if n.strip())
    callerid = s.render(node.callerid).strip() if node.callerid is not None else s.ctx.callerid
    whisper = s.render(node.whisper_tts).strip() if node.whisper_tts is not None else None
    mode = "waterfall" if node.mode == "waterfall" else "ringall"
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
    s.result.transfer = {
        "numbers": list(numbers),
        "mode": mode,
        "callerid": callerid,
        "outcome": None,
    }
    s.waiting("transfer", 0, node)
    s.trace("ivr", f"transfers to {', '.join(numbers)} ({mode})")


def on_transfer_done(s: CallSession, event: ev.TransferDone) -> None:
    node = s.wait_node
    if s.wait != "transfer" or not isinstance(node, Transfer):
        return
    s.wait = None
    if s.result.transfer is not None:
        s.result.transfer["outcome"] = event.outcome
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
    s.waiting("record", rid, node)


def on_recording_done(s: CallSession, event: ev.RecordingDone) -> None:
    node = s.wait_node
    if s.wait != "record" or event.record_id != s.wait_id or not isinstance(node, Record):
        return
    s.wait = None
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


HANDLERS: dict[type, Any] = {Transfer: transfer, Record: record, Sms: sms, Dnc: dnc}
EVENTS: dict[type, Any] = {ev.TransferDone: on_transfer_done, ev.RecordingDone: on_recording_done}
