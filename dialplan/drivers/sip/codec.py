"""G.711 mu-law (PCMU) encode/decode with lookup tables (no ``audioop``, gone in Python 3.13)."""

from __future__ import annotations

import array
import sys

_BIAS = 0x84
_CLIP = 32635


def _decode_one(byte: int) -> int:
    u = ~byte & 0xFF
    sign = u & 0x80
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    sample = ((mantissa << 3) + _BIAS) << exponent
    sample -= _BIAS
    return -sample if sign else sample


def _encode_one(sample: int) -> int:
    sign = 0x80 if sample < 0 else 0
    if sample < 0:
        sample = -sample
    sample = min(sample, _CLIP) + _BIAS
    exponent = 7
    mask = 0x4000
    while exponent > 0 and not sample & mask:
        exponent -= 1
        mask >>= 1
    mantissa = (sample >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


_DECODE = array.array("h", [_decode_one(b) for b in range(256)])
_ENCODE = bytes(_encode_one(s - 32768) for s in range(65536))
SILENCE = 0xFF  # mu-law code of 0


def ulaw_to_pcm16(data: bytes) -> bytes:
    """mu-law bytes → little-endian signed 16-bit PCM."""
    out = array.array("h", [_DECODE[b] for b in data])
    if sys.byteorder != "little":
        out.byteswap()
    return out.tobytes()


def pcm16_to_ulaw(data: bytes) -> bytes:
    """Little-endian signed 16-bit PCM → mu-law bytes."""
    samples = array.array("h")
    samples.frombytes(data[: len(data) - len(data) % 2])
    if sys.byteorder != "little":
        samples.byteswap()
    return bytes(_ENCODE[s + 32768] for s in samples)


def tone(freq_hz: float, duration_ms: int, amplitude: int = 8000) -> bytes:
    """A sine tone as mu-law at 8 kHz (the beep before a recording)."""
    import math

    n = 8 * duration_ms
    return bytes(
        _ENCODE[int(amplitude * math.sin(2 * math.pi * freq_hz * i / 8000)) + 32768]
        for i in range(n)
    )
