"""Answering-machine detection from the callee's audio, in the style of Asterisk's AMD().

Voice activity per 20 ms frame comes from WebRTC's VAD (``webrtcvad``); :class:`AmdDetector`
applies the rules to the frame sequence and is pure (frames in, verdict out), so the rules are
tested on synthetic frames. Rules, in order, each frame:

* no word yet and silence ≥ ``initial_silence_ms`` → machine (``INITIALSILENCE``: nobody said hello)
* voice since the greeting began ≥ ``greeting_ms`` → machine (``LONGGREETING``)
* words ≥ ``maximum_words`` → machine (``MAXWORDS``)
* at least one word and then silence ≥ ``after_greeting_silence_ms`` → live (``HUMAN``: "Hello?" and a pause)
* analysis time ≥ ``total_analysis_ms`` → ``not_sure_result`` (``TOOLONG``)

A *word* is a run of voice of at least ``min_word_ms``; runs are separated by at least
``between_words_silence_ms`` of silence.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

FRAME_MS = 20


@dataclass(frozen=True)
class AmdConfig:
    initial_silence_ms: int = 2500
    greeting_ms: int = 1500
    after_greeting_silence_ms: int = 800
    total_analysis_ms: int = 5000
    min_word_ms: int = 100
    between_words_silence_ms: int = 50
    maximum_words: int = 3
    vad_mode: int = 2  # webrtcvad aggressiveness 0–3
    not_sure_result: Literal["live", "machine"] = "live"

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> AmdConfig:
        """Build from a config table (unknown keys are an error)."""
        known = {f.name: f.type for f in fields(cls)}
        unknown = set(values) - set(known)
        if unknown:
            raise ValueError(f"unknown AMD setting(s): {', '.join(sorted(unknown))}")
        kwargs: dict[str, Any] = {}
        for key, value in values.items():
            if key == "not_sure_result":
                if value not in ("live", "machine"):
                    raise ValueError("amd.not_sure_result must be 'live' or 'machine'")
                kwargs[key] = value
            else:
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError(f"amd.{key} must be a non-negative integer")
                kwargs[key] = value
        return cls(**kwargs)


@dataclass(frozen=True)
class AmdVerdict:
    result: Literal["live", "machine"]
    cause: str
    decided_at_ms: int


class AmdDetector:
    """Feed one voice/silence flag per 20 ms frame; :attr:`verdict` is set once decided."""

    def __init__(self, config: AmdConfig | None = None) -> None:
        self.config = config or AmdConfig()
        self.elapsed_ms = 0
        self.words = 0
        self.voice_run_ms = 0
        self.silence_run_ms = 0
        self.greeting_voice_ms = 0
        self.in_word = False
        self.verdict: AmdVerdict | None = None

    def _decide(self, result: Literal["live", "machine"], cause: str) -> AmdVerdict:
        self.verdict = AmdVerdict(result, cause, self.elapsed_ms)
        return self.verdict

    def feed(self, voiced: bool) -> AmdVerdict | None:
        if self.verdict is not None:
            return self.verdict
        cfg = self.config
        self.elapsed_ms += FRAME_MS
        if voiced:
            self.silence_run_ms = 0
            self.voice_run_ms += FRAME_MS
            if self.words or self.voice_run_ms >= cfg.min_word_ms:
                self.greeting_voice_ms += FRAME_MS
            if not self.in_word and self.voice_run_ms >= cfg.min_word_ms:
                self.in_word = True
                self.words += 1
                self.greeting_voice_ms = self.voice_run_ms
            if self.words >= cfg.maximum_words:
                return self._decide("machine", "MAXWORDS")
            if self.greeting_voice_ms >= cfg.greeting_ms:
                return self._decide("machine", "LONGGREETING")
        else:
            self.silence_run_ms += FRAME_MS
            if self.silence_run_ms >= cfg.between_words_silence_ms:
                self.in_word = False
                self.voice_run_ms = 0
            if not self.words and self.silence_run_ms >= cfg.initial_silence_ms:
                return self._decide("machine", "INITIALSILENCE")
            if self.words and self.silence_run_ms >= cfg.after_greeting_silence_ms:
                return self._decide("live", "HUMAN")
        if self.elapsed_ms >= cfg.total_analysis_ms:
            return self._decide(cfg.not_sure_result, "TOOLONG")
        return None


class AudioAmd:
    """:class:`AmdDetector` over mu-law audio: decodes, splits into 20 ms frames, runs the VAD."""

    def __init__(self, config: AmdConfig | None = None) -> None:
        import webrtcvad

        from .codec import ulaw_to_pcm16

        self._decode = ulaw_to_pcm16
        self.detector = AmdDetector(config)
        self._vad = webrtcvad.Vad(self.detector.config.vad_mode)
        self._buffer = b""

    def feed(self, ulaw: bytes) -> AmdVerdict | None:
        self._buffer += ulaw
        while len(self._buffer) >= 160 and self.detector.verdict is None:
            frame, self._buffer = self._buffer[:160], self._buffer[160:]
            self.detector.feed(self._vad.is_speech(self._decode(frame), 8000))
        return self.detector.verdict
