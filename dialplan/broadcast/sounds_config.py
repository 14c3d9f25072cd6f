"""The ``[sounds]`` table of a campaign file: CallFire's ``CallBroadcastSounds`` in snake_case.

Plain data and its reader only (the campaign reader and the scheduler import it); the dialplan it
becomes is :mod:`.sounds_campaign`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from ..sounds.voices import CALLFIRE_VOICES

#: the messages of ``CallBroadcastSounds`` (``<kind>_sound_text``, ``_text_voice``, ``_id``)
MESSAGES = ("live", "machine", "transfer", "dnc")
SOUND_KEYS = frozenset(
    {f"{m}_sound_{s}" for m in MESSAGES for s in ("text", "text_voice", "id")}
    | {"transfer_digit", "transfer_number", "dnc_digit", "idle_hangup", "transfer_timeout"}
)
DIGITS = "0123456789*#"
DEFAULT_IDLE_S = 5.0
DEFAULT_TRANSFER_TIMEOUT_S = 30.0
MAX_IDLE_S = 300.0


@dataclass(frozen=True, slots=True)
class Message:
    """What one message says: a library sound (id or name) or text in a CallFire voice."""

    text: str = ""
    voice: str = ""
    sound: str = ""

    def play(self, name: str) -> str:
        if self.sound:
            return f'<play type="callfireid" name="{name}">{escape(self.sound)}</play>'
        voice = f' voice="{self.voice.lower()}"' if self.voice else ""
        return f'<play type="tts" name="{name}"{voice}>{escape(self.text)}</play>'


@dataclass(frozen=True, slots=True)
class Sounds:
    live: Message | None = None
    machine: Message | None = None
    transfer: Message | None = None
    dnc: Message | None = None
    transfer_digit: str = ""
    transfer_number: str = ""
    dnc_digit: str = ""
    idle_hangup_s: float = DEFAULT_IDLE_S
    transfer_timeout_s: float = DEFAULT_TRANSFER_TIMEOUT_S

    def library_refs(self) -> list[tuple[str, str]]:
        """``(key, id or name)`` of every library sound the messages play."""
        return [
            (f"sounds.{kind}_sound_id", m.sound)
            for kind in MESSAGES
            if (m := getattr(self, kind)) is not None and m.sound
        ]


def read_sounds(r: Any) -> Sounds:
    """The ``[sounds]`` table (``r``: the campaign reader of that table)."""
    messages: dict[str, Message | None] = {}
    for kind in MESSAGES:
        text = r.get(f"{kind}_sound_text", str, "").strip()
        voice = r.get(f"{kind}_sound_text_voice", str, "").strip()
        sound = r.get(f"{kind}_sound_id", (int, str), "")
        sound = str(sound).strip()
        if voice and voice.lower() not in CALLFIRE_VOICES:
            names = ", ".join(v.upper() for v in CALLFIRE_VOICES)
            raise r.fail(f"{kind}_sound_text_voice", f"unknown voice {voice!r} (use {names})")
        if text and sound:
            raise r.fail(f"{kind}_sound_id", f"give {kind}_sound_text or {kind}_sound_id, not both")
        messages[kind] = Message(text, voice, sound) if (text or sound) else None
    digit = r.get("transfer_digit", (str, int), "")
    dnc_digit = r.get("dnc_digit", (str, int), "")
    for key, value in (("transfer_digit", digit), ("dnc_digit", dnc_digit)):
        if str(value) and (len(str(value)) != 1 or str(value) not in DIGITS):
            raise r.fail(key, f"expected one key of {DIGITS}, got {value!r}")
    digit, dnc_digit = str(digit), str(dnc_digit)
    if digit and digit == dnc_digit:
        raise r.fail("dnc_digit", "must differ from transfer_digit")
    number = r.get("transfer_number", str, "").strip()
    if digit and not number:
        raise r.fail("transfer_number", "is required with transfer_digit")
    if number and not digit:
        raise r.fail("transfer_digit", "is required with transfer_number")
    if number and not all(c.isdigit() or c in "+-() ." for c in number):
        raise r.fail("transfer_number", f"expected a phone number, got {number!r}")
    for kind, needs in (("transfer", digit), ("dnc", dnc_digit)):
        if messages[kind] is not None and not needs:
            raise r.fail(f"{kind}_sound_text", f"has no {kind}_digit to be heard after")
    return Sounds(
        live=messages["live"],
        machine=messages["machine"],
        transfer=messages["transfer"],
        dnc=messages["dnc"],
        transfer_digit=digit,
        transfer_number=number,
        dnc_digit=dnc_digit,
        idle_hangup_s=r.number("idle_hangup", float, DEFAULT_IDLE_S, 0.0, MAX_IDLE_S),
        transfer_timeout_s=r.number(
            "transfer_timeout", float, DEFAULT_TRANSFER_TIMEOUT_S, 1.0, 600.0
        ),
    )
