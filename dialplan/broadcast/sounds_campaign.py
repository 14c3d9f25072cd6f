"""Message campaigns without a dialplan: the ``[sounds]`` table (CallFire's
``CallBroadcastSounds``) and per-recipient play columns (EnableX), compiled into a dialplan.

The generated dialplan is ordinary CallFire XML, so one engine runs every campaign and every tool
(lint, simulate, graph, the report, ``broadcast preview --show-dialplan``) works on it. Its shape:
a live answer hears its message in a menu (the transfer and DNC digits are its keypresses, its
timeout is the idle time after which the call hangs up); a machine hears the machine message.
Per-recipient plays (columns ``url``, ``prompt``, ``tts`` with ``voice``/``language``, ``ssml``)
come first, one branch per kind (and per TTS voice) present in the recipients file.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from ..errors import CampaignError
from ..sounds.ssml import SsmlError, check_ssml
from ..sounds.voices import VoiceError, espeak_voice
from .sounds_config import Sounds

#: recipient columns that choose the audio (EnableX ``play``), in the order they are tried
PLAY_COLUMNS = ("url", "prompt", "ssml", "tts")
#: recipient columns that go with them
PLAY_EXTRA = ("voice", "language", "prompt_ref")
#: distinct TTS voice + language pairs in one recipients file (each is a branch)
MAX_TTS_VOICES = 20
#: the prompt names (``prompt_ref`` in playstate events) of per-recipient plays start so
RECIPIENT_PLAY = "recipient_"


@dataclass(frozen=True, slots=True)
class RecipientPlays:
    """The play columns of a recipients file (their letters) and the TTS voices it uses."""

    letters: dict[str, str]  # column name → contact letter
    tts_voices: tuple[tuple[str, str], ...] = ()  # (voice, language) pairs present

    @property
    def any(self) -> bool:
        return any(c in self.letters for c in PLAY_COLUMNS)


def recipient_plays(
    path: Path, header: list[str], library: set[str] | None = None
) -> RecipientPlays:
    """Check every row's play columns (one kind at most, a voice for each TTS language, SSML
    that can be spoken, a ``prompt`` the library has when ``library`` is given) and collect the
    TTS voices; errors name ``file:line``."""
    from .loader import column_letter

    letters = {h: column_letter(i) for i, h in enumerate(header) if h in PLAY_COLUMNS + PLAY_EXTRA}
    if not any(c in letters for c in PLAY_COLUMNS):
        return RecipientPlays(letters)
    index = {h: i for i, h in enumerate(header) if h in letters}
    voices: dict[tuple[str, str], None] = {}
    for line, row in _rows(path):

        def cell(name: str, row: list[str] = row) -> str:
            i = index.get(name)
            return row[i].strip() if i is not None and i < len(row) else ""

        kinds = [c for c in PLAY_COLUMNS if cell(c)]
        if len(kinds) > 1:
            raise CampaignError(f"{path}:{line}: give one of {', '.join(kinds)}, not several")
        if kinds == ["tts"] or cell("voice") or cell("language"):
            pair = (cell("voice"), cell("language"))
            try:
                espeak_voice(*pair) if pair[1] else espeak_voice(pair[0] or None)
            except VoiceError as exc:
                raise CampaignError(f"{path}:{line}: voice/language: {exc}") from None
            if kinds == ["tts"]:
                voices.setdefault(pair)
                if len(voices) > MAX_TTS_VOICES:
                    raise CampaignError(
                        f"{path}:{line}: more than {MAX_TTS_VOICES} voice/language pairs"
                    )
        if kinds == ["prompt"] and library is not None and cell("prompt") not in library:
            raise CampaignError(
                f"{path}:{line}: prompt: no sound {cell('prompt')!r} in the library"
            )
        if kinds == ["ssml"]:
            try:
                check_ssml(cell("ssml"), cell("language") or None)
            except SsmlError as exc:
                raise CampaignError(f"{path}:{line}: ssml:{exc}") from None
    return RecipientPlays(letters, tuple(voices))


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            next(reader, None)
            for line, row in enumerate(reader, start=2):
                if row and any(cell.strip() for cell in row):
                    yield line, row
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CampaignError(f"{path}: cannot read recipients: {exc}") from None


def compile_sounds(name: str, sounds: Sounds, plays: RecipientPlays, path: Path) -> str:
    """The generated dialplan (XML text)."""
    if sounds.live is None and not plays.any:
        raise CampaignError(
            f"{path}: sounds: give live_sound_text or live_sound_id (or play columns"
            f" {', '.join(PLAY_COLUMNS)} in the recipients file)"
        )
    idle_ms = max(round(sounds.idle_hangup_s * 1000), 1001)  # > 1000: milliseconds (spec §2.3)
    keys: list[tuple[str, str, str]] = []  # (digit, key name, goto target)
    if sounds.transfer_digit:
        target = "transfer_message" if sounds.transfer is not None else "transfer"
        keys.append((sounds.transfer_digit, "transfer_digit", target))
    if sounds.dnc_digit:
        keys.append((sounds.dnc_digit, "dnc_digit", "dnc"))
    keys.sort()

    def menu(suffix: str, play: str) -> str:
        presses = [
            f'<keypress pressed="{digit}" name="{key}{suffix}"><goto>{target}</goto></keypress>'
            for digit, key, target in keys
        ] or [
            f'<keypress pressed="default" name="any_key{suffix}">'
            f'<hangup name="hangup_key{suffix}"/></keypress>'
        ]
        inner = "".join(f"\n      {line}" for line in (play, *presses))
        return (
            f'\n    <menu name="message{suffix}" maxDigits="1" timeout="{idle_ms}">{inner}'
            f'\n    </menu>\n    <hangup name="idle{suffix}"/>'
        )

    live: list[str] = []
    for kind, wrappers, play in _recipient_plays(plays):
        body = menu(f"_{kind}", play)
        for open_tag, close_tag in reversed(wrappers):
            body = f"\n    {open_tag}{body.replace(chr(10), chr(10) + '  ')}\n    {close_tag}"
        live.append(body)
    if sounds.live is not None:
        live.append(menu("", sounds.live.play("live_message")))
    else:
        live.append('\n    <hangup name="no_message"/>')
    if sounds.transfer_digit:
        timeout = round(sounds.transfer_timeout_s)
        message = sounds.transfer.play("transfer_message") if sounds.transfer else ""
        live.append(
            (f"\n    {message}" if message else "")
            + f'\n    <transfer name="transfer" timeout="{timeout}">'
            f"{escape(sounds.transfer_number)}</transfer>"
            '\n    <hangup name="after_transfer"/>'
        )
    if sounds.dnc_digit:
        message = sounds.dnc.play("dnc_message") if sounds.dnc else ""
        live.append(
            '\n    <dnc name="dnc">${call.phonenumber}</dnc>'
            + (f"\n    {message}" if message else "")
            + '\n    <hangup name="after_dnc"/>'
        )
    machine_message = sounds.machine or sounds.live
    machine: list[str] = []
    for kind, wrappers, play in _recipient_plays(plays, "machine_"):
        body = f'\n      {play}\n      <hangup name="machine_end_{kind}"/>'
        for open_tag, close_tag in reversed(wrappers):
            body = f"\n    {open_tag}{body.replace(chr(10), chr(10) + '  ')}\n    {close_tag}"
        machine.append(body)
    if machine_message is not None:
        machine.append(f"\n    {machine_message.play('machine_message')}")
    machine.append('\n    <hangup name="machine_end"/>')
    return (
        f"<dialplan name={quoteattr(name)}>\n"
        f"<!-- generated from the [sounds] table of {escape(path.name)} -->\n"
        f"<amd>\n  <live>{''.join(live)}\n  </live>\n"
        f"  <machine>{''.join(machine)}\n  </machine>\n</amd>\n</dialplan>\n"
    )


Wrapper = tuple[str, str]  # the opening and the closing tag of a condition


def _recipient_plays(
    plays: RecipientPlays, prefix: str = ""
) -> Iterator[tuple[str, list[Wrapper], str]]:
    """``(kind, conditions, <play>)`` for each per-recipient play column present (TTS: one per
    voice): the play runs when its column is not empty (and the row's voice is that one)."""
    for column in PLAY_COLUMNS:
        letter = plays.letters.get(column)
        if letter is None:
            continue
        value = f"${{contact.{letter}}}"
        name = f"{prefix}{RECIPIENT_PLAY}{column}"
        has = (
            f'<notEqual name="{prefix}has_{column}" var="-{value}" expr="-">',
            "</notEqual>",
        )
        if column == "url":
            yield column, [has], f'<play type="url" name="{name}">{value}</play>'
        elif column == "prompt":
            yield column, [has], f'<play type="callfireid" name="{name}">{value}</play>'
        elif column == "ssml":
            yield column, [has], f'<play type="tts" name="{name}">{value}</play>'
        else:
            for i, (voice, language) in enumerate(plays.tts_voices, start=1):
                spoken = f"{voice}@{language}" if language else voice
                attr = f" voice={quoteattr(spoken)}" if spoken else ""
                same = (
                    f'<equal name="{prefix}tts_voice_{i}" var="{_voice_var(plays)}"'
                    f" expr=\"'{voice}|{language}'\">",
                    "</equal>",
                )
                has_i = (has[0].replace(f'has_{column}"', f'has_{column}_{i}"'), has[1])
                play = f'<play type="tts" name="{name}_{i}"{attr}>{value}</play>'
                yield f"tts_{i}", [has_i, same], play


def _voice_var(plays: RecipientPlays) -> str:
    voice = plays.letters.get("voice")
    language = plays.letters.get("language")
    left = f"${{contact.{voice}}}" if voice else ""
    right = f"${{contact.{language}}}" if language else ""
    return f"{left}|{right}"


def generated_dialplan(campaign: Any, library: set[str] | None = None) -> str:
    """The dialplan of a message campaign (``campaign.sounds``), checked against its recipients
    file and, when ``library`` (ids and names) is given, against the sound library."""
    from .loader import read_header

    assert campaign.sounds is not None
    header, _ = read_header(campaign)
    plays = recipient_plays(campaign.recipients, header, library)
    if library is not None:
        for key, ref in campaign.sounds.library_refs():
            if ref not in library:
                raise CampaignError(f"{campaign.path}: {key}: no sound {ref!r} in the library")
    return compile_sounds(campaign.name, campaign.sounds, plays, campaign.path)


def dialplan_text(campaign: Any) -> str:
    """The XML a campaign runs: its dialplan file, or the one generated from ``[sounds]``."""
    if campaign.dialplan_xml is not None:
        return str(campaign.dialplan_xml)
    if campaign.sounds is not None:
        return generated_dialplan(campaign)
    try:
        return str(campaign.dialplan.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CampaignError(f"{campaign.dialplan}: cannot read: {exc}") from None


def prompt_refs(
    prompts: tuple[tuple[str, str], ...], prompt_ref: str | None
) -> tuple[tuple[str, str], ...]:
    """The ``prompt_ref`` of each prompt of a generated dialplan, as playstate events carry it:
    the play's name (``live_message`` …), and for a per-recipient play the row's ``prompt_ref``
    column when it has one (EnableX echoes the reference the request gave)."""
    out = []
    for path, text in prompts:
        name = path.rsplit("/", 1)[-1]
        per_recipient = name.startswith((RECIPIENT_PLAY, f"machine_{RECIPIENT_PLAY}"))
        out.append((prompt_ref if per_recipient and prompt_ref else name, text))
    return tuple(out)
