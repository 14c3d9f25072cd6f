"""Voice names → espeak-ng voices: CallFire's names and EnableX's ``voice`` + BCP-47 ``language``.

The one table of voices (docs/sounds.md shows it). CallFire names (``MALE1`` …, any case) map to a
fixed espeak-ng voice. EnableX gives a gender (``Female``/``Male``) and a BCP-47 language tag: the
language is matched against the languages the installed espeak-ng speaks (``en-US`` → ``en-us``;
``en-IN`` has no voice of its own → ``en``'s, ``en-gb``…; ``xx`` with no voice at all is an error),
and ``Female`` adds espeak-ng's ``+f3`` variant. A voice may be written ``VOICE@LANGUAGE`` in a
``<play voice=…>`` (what recipient columns become).
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess

#: CallFire voice names (lower case) → espeak-ng voice
CALLFIRE_VOICES: dict[str, str] = {
    "male1": "en-us",
    "female1": "en-us+f3",
    "female2": "en-us+f4",
    "spanish1": "es",
    "femalespanish": "es+f3",
    "frenchcanadian1": "fr",
}
#: EnableX genders → espeak-ng variant suffix
GENDERS: dict[str, str] = {"male": "", "female": "+f3"}
#: the voice when none is named
DEFAULT_VOICE = "en-us"
#: a language with no voice of its own falls back to this one of its family (else its first)
PREFERRED = {"en": "en-us", "es": "es", "fr": "fr-fr", "pt": "pt", "de": "de", "zh": "cmn"}
_TAG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")


class VoiceError(ValueError):
    """A voice or language that no installed voice speaks (the message says which)."""


@functools.cache
def espeak_languages() -> frozenset[str]:
    """The languages of the installed espeak-ng (``espeak-ng --voices``), lower case."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise VoiceError("espeak-ng is not installed (it speaks every TTS and SSML message)")
    out = subprocess.run(
        [exe, "--voices"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    return frozenset(line.split()[1].lower() for line in out.splitlines()[1:] if line.split())


def language_voice(language: str) -> str:
    """The espeak-ng voice of a BCP-47 tag: the tag itself, else its language's voice."""
    tag = language.strip()
    if not _TAG.match(tag):
        raise VoiceError(f"{language!r} is not a BCP-47 language tag (like en-US)")
    known = espeak_languages()
    lower = tag.lower()
    if lower in known:
        return lower
    primary = lower.split("-")[0]
    if primary == "zh":
        primary = "cmn"
    preferred = PREFERRED.get(primary)
    if preferred in known:
        return str(preferred)
    if primary in known:
        return primary
    family = sorted(k for k in known if k.startswith(f"{primary}-"))
    if family:
        return family[0]
    raise VoiceError(f"no voice speaks language {language!r} (espeak-ng has none for it)")


def espeak_voice(voice: str | None, language: str | None = None) -> str:
    """The espeak-ng voice for a CallFire name, or an EnableX gender + language, or
    ``VOICE@LANGUAGE``; raises :class:`VoiceError` for a name or language nobody speaks."""
    name = (voice or "").strip()
    if "@" in name and language is None:
        name, language = name.split("@", 1)
    lang = (language or "").strip()
    lower = name.lower()
    if not lang:
        if not lower:
            return DEFAULT_VOICE
        if lower in CALLFIRE_VOICES:
            return CALLFIRE_VOICES[lower]
        if lower in GENDERS:
            return DEFAULT_VOICE + GENDERS[lower]
        raise VoiceError(f"unknown voice {voice!r} (use {', '.join(known_voice_names())})")
    base = language_voice(lang)
    if not lower:
        return base
    if lower in GENDERS:
        return base + GENDERS[lower]
    raise VoiceError(
        f"voice {name!r} with a language: use Female or Male (CallFire names carry their own)"
    )


def known_voice_names() -> list[str]:
    """The voice names a campaign may use (for messages)."""
    return [*(n.upper() for n in CALLFIRE_VOICES), "Female", "Male"]


def lenient_voice(voice: str | None) -> str:
    """Like :func:`espeak_voice` but an unknown name is the default voice (the ``<play
    voice>`` of a dialplan: the spec makes an unknown voice a warning, not an error)."""
    try:
        return espeak_voice(voice)
    except VoiceError:
        return DEFAULT_VOICE
