"""Recording the caller's audio (mu-law RTP payloads) to a 16-bit 8 kHz WAV file."""

from __future__ import annotations

import wave
from pathlib import Path

from .codec import ulaw_to_pcm16


class WavRecorder:
    """An audio sink: decodes each 20 ms payload and appends it to ``path``. Tracks trailing
    silence (mean absolute amplitude below ``silence_level``) for the silence stop rule."""

    def __init__(self, path: Path, silence_level: int = 300) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._wav = wave.open(str(path), "wb")  # noqa: SIM115 - closed by close()
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(8000)
        self.samples = 0
        self.trailing_silence_s = 0.0
        self.heard_voice = False
        self.silence_level = silence_level
        self.closed = False

    def __call__(self, payload: bytes) -> None:
        if self.closed:
            return
        pcm = ulaw_to_pcm16(payload)
        self._wav.writeframes(pcm)
        self.samples += len(payload)
        level = sum(
            abs(int.from_bytes(pcm[i : i + 2], "little", signed=True))
            for i in range(0, len(pcm), 16)
        )
        level //= max(1, len(pcm) // 16)
        if level < self.silence_level:
            self.trailing_silence_s += len(payload) / 8000
        else:
            self.trailing_silence_s = 0.0
            self.heard_voice = True

    @property
    def duration_s(self) -> float:
        return self.samples / 8000

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._wav.close()
