"""Sound bytes: audio files converted to 8 kHz mono μ-law with sox, TTS and SSML spoken by
espeak-ng. Synchronous (the library and the CLI); the SIP driver's prompt cache uses the same
command lines (:func:`tts_argv`, :func:`ulaw_argv`) on its event loop.

Hostile input is refused with a message: a file sox cannot read as audio (whatever its name), one
longer than :data:`MAX_SECONDS` or larger than :data:`MAX_FILE_BYTES`.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from .ssml import SpeakableSsml, check_ssml
from .voices import espeak_voice

RATE = 8000  # μ-law bytes per second
MAX_SECONDS = 600.0
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_TTS_CHARS = 20_000
TIMEOUT_S = 120.0
AUDIO_SUFFIXES = (".wav", ".mp3")


class SoundError(ValueError):
    """A sound that cannot be made (the message says why)."""


def _run(argv: list[str]) -> bytes:
    exe = shutil.which(argv[0])
    if exe is None:
        raise SoundError(f"{argv[0]} is not installed")
    try:
        proc = subprocess.run([exe, *argv[1:]], capture_output=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise SoundError(f"{argv[0]} took longer than {TIMEOUT_S:g} s") from None
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SoundError(f"{argv[0]}: {err[-1] if err else f'exit {proc.returncode}'}")
    return proc.stdout


def ulaw_argv(src: str, dest: str, pad_s: float = 0.0) -> list[str]:
    """sox: any audio → 8 kHz mono μ-law, no dither (byte-identical from run to run)."""
    argv = ["sox", "-D", src, "-r", str(RATE), "-c", "1", "-t", "ul", dest]
    return argv + (["pad", f"{pad_s:.3f}", "0"] if pad_s > 0 else [])


def tts_argv(voice: str, wav: str, text_file: str, ssml: bool) -> list[str]:
    """espeak-ng reading ``text_file`` (SSML mode with ``-m``) into ``wav``."""
    return ["espeak-ng", *(["-m"] if ssml else []), "-v", voice, "-w", wav, "-f", text_file]


def audio_seconds(path: Path) -> float:
    """The length of an audio file (``soxi -D``); refuses what is not audio."""
    out = _run(["soxi", "-D", str(path)]).decode().strip()
    try:
        return float(out)
    except ValueError:
        raise SoundError(f"{path}: sox cannot tell its length") from None


def convert_file(path: Path) -> bytes:
    """A WAV or MP3 file as 8 kHz mono μ-law bytes."""
    if path.suffix.lower() not in AUDIO_SUFFIXES:
        raise SoundError(f"{path}: only .wav and .mp3 files are accepted")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SoundError(f"{path}: {exc.strerror}") from None
    if size > MAX_FILE_BYTES:
        raise SoundError(f"{path}: larger than {MAX_FILE_BYTES // 2**20} MiB")
    if size == 0:
        raise SoundError(f"{path}: empty file")
    try:
        seconds = audio_seconds(path)
    except SoundError as exc:
        raise SoundError(f"{path}: not a readable audio file ({exc})") from None
    if seconds > MAX_SECONDS:
        raise SoundError(f"{path}: {seconds:.0f} s long; the limit is {MAX_SECONDS:g} s")
    with tempfile.TemporaryDirectory(prefix="dialplan-sound-") as tmp:
        out = Path(tmp) / "sound.ul"
        try:
            _run(ulaw_argv(str(path), str(out)))
        except SoundError as exc:
            raise SoundError(f"{path}: not a readable audio file ({exc})") from None
        data = out.read_bytes()
    if not data:
        raise SoundError(f"{path}: holds no audio")
    return data


def speak(text: str, voice: str) -> bytes:
    """``text`` spoken by the espeak-ng ``voice``, as μ-law."""
    if not text.strip():
        raise SoundError("nothing to say: the text is empty")
    if len(text) > MAX_TTS_CHARS:
        raise SoundError(f"the text is longer than {MAX_TTS_CHARS} characters")
    return _espeak(text, voice, ssml=False, pad_s=0.0)


def speak_tts(text: str, voice: str | None = None, language: str | None = None) -> bytes:
    """TTS with a CallFire voice name, or an EnableX gender + language."""
    return speak(text, espeak_voice(voice, language))


def speak_ssml(document: str | SpeakableSsml, language: str | None = None) -> bytes:
    """An SSML document (checked, bridged) as μ-law; a leading break becomes silence."""
    doc = document if isinstance(document, SpeakableSsml) else check_ssml(document, language)
    return _espeak(doc.text, doc.voice, ssml=True, pad_s=doc.leading_silence_s)


def _espeak(text: str, voice: str, *, ssml: bool, pad_s: float) -> bytes:
    with tempfile.TemporaryDirectory(prefix="dialplan-tts-") as tmp:
        src = Path(tmp) / "text.txt"
        src.write_text(text, encoding="utf-8")
        wav = Path(tmp) / "tts.wav"
        _run(tts_argv(voice, str(wav), str(src), ssml))
        out = Path(tmp) / "tts.ul"
        _run(ulaw_argv(str(wav), str(out), pad_s))
        data = out.read_bytes()
    if len(data) > MAX_SECONDS * RATE:
        raise SoundError(f"the speech lasts more than {MAX_SECONDS:g} s")
    return data


def seconds_of(ulaw: bytes) -> float:
    return len(ulaw) / RATE
