"""What the caller hears or what goes on the line: ``<play>``, ``<dtmf>``, ``<wait>``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...model import Dtmf, Play, Wait
from .. import effects as fx
from .. import events as ev
from ..wait import WaitFor
from .catch import digit_catch, fire, stray_digit

if TYPE_CHECKING:
    from ..session import CallSession


def play(s: CallSession, node: Play) -> None:
    spec = s.program.plays[node]
    menu = spec.menu
    if menu is not None and s.input.barge is menu:
        return  # barged-in: the remaining prompt audio is skipped (spec §2.3)
    kind = node.kind
    value = spec.text
    if value is not None:  # a constant text: its effect for this id may already exist
        s.prompt(value if kind != "callfireid" else f"callfireid:{value}")
        pid = s.wait(WaitFor.PLAY, node)
        effect = spec.effects.get(pid)
        if effect is None:
            effect = fx.Play(pid, kind, value, node.voice, node.cache, menu is not None, spec.path)
            if pid < fx.SHARED_PLAY_IDS:
                spec.effects[pid] = effect
    else:
        value = s.render(node.value).strip()
        s.prompt(value if kind != "callfireid" else f"callfireid:{value}")
        pid = s.wait(WaitFor.PLAY, node)
        effect = fx.Play(pid, kind, value, node.voice, node.cache, menu is not None, spec.path)
    s.emit(effect)
    if s.ctx.trace:
        s.trace("ivr", f"says: {value}" if kind == "tts" else f"plays {kind} {value}")


def on_play_event(s: CallSession, node: Play, event: ev.Event) -> None:
    if type(event) is ev.PlaybackDone:
        if event.play_id == s.wait_id:
            s.resume()
    elif type(event) is ev.DigitPressed:
        menu = s.program.plays[node].menu
        if menu is None:
            stray_digit(s, event.key)
            return
        found = digit_catch(s, event.key)
        if found is not None:
            s.trace("caller", f"presses {event.key}")
            fire(s, found)
            return
        # barge-in (spec §2.3): the prompt stops, the key starts the menu's input
        s.emit(fx.StopPlayback(s.wait_id))
        s.resume()
        s.input.barge = menu
        s.input.digits = event.key
        s.trace("caller", f"presses {event.key} (barge-in)")


def dtmf(s: CallSession, node: Dtmf) -> None:
    tones = s.render(node.tones).strip()
    s.emit(fx.SendDtmf(tones))
    s.trace("ivr", f"sends tones {tones}")


def wait(s: CallSession, node: Wait) -> None:
    pid = s.wait(WaitFor.PAUSE, node)
    s.emit(fx.Pause(pid, node.duration_ms))
    s.trace("ivr", f"waits {node.duration_ms} ms")


def on_wait_event(s: CallSession, node: Wait, event: ev.Event) -> None:
    if type(event) is ev.PauseDone:
        if event.pause_id == s.wait_id:
            s.resume()
    elif type(event) is ev.DigitPressed:
        stray_digit(s, event.key)


HANDLERS: dict[type, tuple[Any, Any]] = {
    Play: (play, on_play_event),
    Dtmf: (dtmf, None),
    Wait: (wait, on_wait_event),
}
