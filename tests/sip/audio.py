"""Audio checks for the end-to-end tests: where the speech is in a WAV or mu-law buffer."""

from __future__ import annotations

import wave
from pathlib import Path

import webrtcvad

from dialplan.drivers.sip.codec import ulaw_to_pcm16

FRAME = 320  # 20 ms of 8 kHz 16-bit mono


def voiced_frames(pcm16: bytes, mode: int = 2) -> list[bool]:
    vad = webrtcvad.Vad(mode)
    return [
        vad.is_speech(pcm16[i : i + FRAME], 8000) for i in range(0, len(pcm16) - FRAME + 1, FRAME)
    ]


def wav_pcm(path: Path) -> bytes:
    with wave.open(str(path), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2), path
        return w.readframes(w.getnframes())


def speech_span_s(pcm16: bytes) -> tuple[float, float, float]:
    """(first voiced second, last voiced second, total voiced seconds)."""
    flags = voiced_frames(pcm16)
    voiced = [i for i, f in enumerate(flags) if f]
    if not voiced:
        return 0.0, 0.0, 0.0
    return voiced[0] * 0.02, (voiced[-1] + 1) * 0.02, len(voiced) * 0.02


def ulaw_speech_span_s(ulaw: bytes) -> tuple[float, float, float]:
    return speech_span_s(ulaw_to_pcm16(ulaw))
