"""Prompt audio: espeak-ng TTS cached per text and voice, audio files and URLs through sox."""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from dialplan.drivers.sip.tts import PromptCache, PromptError, espeak_voice

from .audio import ulaw_speech_span_s
from .conftest import require, run, speech_wav

pytestmark = pytest.mark.sip


def test_voice_names() -> None:
    assert espeak_voice(None) == "en-us"
    assert espeak_voice("female1") == "en-us+f3"
    assert espeak_voice("spanish1") == "es"
    assert espeak_voice("unknown-voice") == "en-us"


def test_tts_is_speech_cached_and_deterministic(tmp_path: Path) -> None:
    require("espeak-ng", "sox")
    cache = PromptCache(tmp_path / "c")

    async def go() -> tuple[bytes, bytes, bytes, bytes]:
        # two concurrent requests for one prompt share one synthesis
        a, b = await asyncio.gather(
            cache.tts("Your balance is ten dollars."), cache.tts("Your balance is ten dollars.")
        )
        c = await PromptCache(tmp_path / "c2").tts("Your balance is ten dollars.")
        d = await cache.tts("Your balance is ten dollars.", "female1")
        return a, b, c, d

    a, b, c, d = run(go())
    assert a == b == c  # sox -D: byte-identical across runs
    assert a != d  # the voice is part of the key
    assert len(list((tmp_path / "c").glob("*.ul"))) == 2
    start, end, voiced = ulaw_speech_span_s(a)
    assert 1.0 < end - start < 4.0 and voiced > 0.8


@pytest.fixture
def http_dir(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    root = tmp_path / "www"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_audio_from_file_and_url(tmp_path: Path, http_dir: tuple[Path, str]) -> None:
    require("espeak-ng", "sox")
    root, base = http_dir
    wav = speech_wav(root / "greeting.wav", "Thank you for calling.", pad_s=0.5)
    cache = PromptCache(tmp_path / "c", allow_private=True)  # the test server is on loopback

    async def go() -> tuple[bytes, bytes, bytes]:
        return (
            await cache.audio(str(wav)),
            await cache.audio(wav.as_uri()),
            await cache.audio(f"{base}/greeting.wav"),
        )

    from_path, from_file_url, from_http = run(go())
    assert from_path == from_file_url == from_http
    assert abs(len(from_path) / 8000 - (len(wav.read_bytes()) - 44) / 16000) < 0.05
    with pytest.raises(PromptError, match="not found"):
        run(cache.audio(str(tmp_path / "missing.wav")))
    with pytest.raises(PromptError, match="cannot fetch"):
        run(cache.audio(f"{base}/missing.wav"))
    with pytest.raises(PromptError, match="unsupported"):
        run(cache.audio("ftp://127.0.0.1/x.wav"))


def test_audio_url_on_loopback_is_refused_by_default(
    tmp_path: Path, http_dir: tuple[Path, str]
) -> None:
    """Prompts fetched over HTTP go through the private/loopback guard (``[network] allow_private``)."""
    root, base = http_dir
    (root / "x.wav").write_bytes(b"RIFF")
    with pytest.raises(PromptError, match="loopback"):
        run(PromptCache(tmp_path / "c").audio(f"{base}/x.wav"))
