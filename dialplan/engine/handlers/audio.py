"""What the caller hears or what goes on the line: ``<play>``, ``<dtmf>``, ``<wait>``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...model import Dtmf, Play, Wait
from .. import effects as fx
from .. import events as ev

if TYPE_CHECKING:
    from ..session import CallSession


def play(s: CallSession, node: Play) -> None:
    spec = s.program.plays[node]
    menu = spec.menu
    if menu is not None and s.barge is menu:
        return  # barged-in: the remaining prompt audio is skipped (spec §2.3)
    value = spec.text if spec.text is not None else s.render(node.value).strip()
    kind = node.kind
    s.result.prompts.append(value if kind != "callfireid" else f"callfireid:{value}")
    pid = s._ids = s._ids + 1
    prompt = menu is not None
    s.out.append(fx.Play(pid, kind, value, node.voice, node.cache, prompt, spec.path))
    s.barge_in = prompt
    s.wait = "play"
    s.wait_id = pid
    s.wait_node = node
    if s.ctx.trace:
        s.trace("ivr", f"says: {value}" if kind == "tts" else f"plays {kind} {value}")


def on_playback_done(s: CallSession, event: ev.PlaybackDone) -> None:
    if s.wait == "play" and event.play_id == s.wait_id:
        s.wait = None


def dtmf(s: CallSession, node: Dtmf) -> None:
    tones = s.render(node.tones).strip()
    s.emit(fx.SendDtmf(tones))
    s.trace("ivr", f"sends tones {tones}")


def wait(s: CallSession, node: Wait) -> None:
    pid = s.new_id()
    s.emit(fx.Pause(pid, node.duration_ms))
    s.waiting("pause", pid, node)
    s.trace("ivr", f"waits {node.duration_ms} ms")


def on_pause_done(s: CallSession, event: ev.PauseDone) -> None:
    if s.wait == "pause" and event.pause_id == s.wait_id:
        s.wait = None


HANDLERS: dict[type, Any] = {Play: play, Dtmf: dtmf, Wait: wait}
EVENTS: dict[type, Any] = {ev.PlaybackDone: on_playback_done, ev.PauseDone: on_pause_done}
