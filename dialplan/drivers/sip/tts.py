"""Prompt audio as 8 kHz mu-law: TTS through espeak-ng and audio files/URLs through sox.

Results are cached on disk by content key (text + voice, or URL), so a prompt is synthesised
once per campaign. ``sox -D`` (no dither) makes the output byte-identical from run to run."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

from ...sounds.render import tts_argv, ulaw_argv
from ...sounds.ssml import SsmlError, check_ssml, is_ssml
from ...sounds.voices import CALLFIRE_VOICES, lenient_voice

#: CallFire voice names → espeak-ng voices (the one table: :mod:`dialplan.sounds.voices`)
VOICES = CALLFIRE_VOICES


class PromptError(RuntimeError):
    """A prompt could not be produced (tool missing, bad file, download failed)."""


def espeak_voice(voice: str | None) -> str:
    """A ``<play voice>``'s espeak-ng voice (``VOICE@LANGUAGE`` too); unknown: the default."""
    return lenient_voice(voice)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dialplan" / "prompts"


async def _run(*argv: str, timeout: float = 30.0) -> None:
    exe = shutil.which(argv[0])
    if exe is None:
        raise PromptError(f"{argv[0]} is not installed")
    proc = await asyncio.create_subprocess_exec(
        exe, *argv[1:], stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        _, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise PromptError(f"{argv[0]} timed out") from None
    if proc.returncode != 0:
        raise PromptError(f"{argv[0]} failed: {err.decode(errors='replace').strip()[:200]}")


class PromptCache:
    """Makes and caches mu-law prompts; one synthesis per key even with concurrent requests."""

    def __init__(self, directory: Path | None = None, *, allow_private: bool = False) -> None:
        self.directory = directory or default_cache_dir()
        #: audio URLs may point at loopback/private addresses (``[network] allow_private``)
        self.allow_private = allow_private
        self._memory: dict[str, bytes] = {}
        self._pending: dict[str, asyncio.Future[bytes]] = {}

    def _key(self, *parts: str) -> str:
        return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:32]

    async def _cached(self, key: str, make: object) -> bytes:
        if key in self._memory:
            return self._memory[key]
        if key in self._pending:
            return await asyncio.shield(self._pending[key])
        fut: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[key] = fut
        try:
            path = self.directory / f"{key}.ul"
            if not path.is_file():
                self.directory.mkdir(parents=True, exist_ok=True)
                await make(path)  # type: ignore[operator]
            data = path.read_bytes()
            self._memory[key] = data
            fut.set_result(data)
            return data
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()  # mark retrieved
            raise
        finally:
            del self._pending[key]

    async def tts(self, text: str, voice: str | None = None) -> bytes:
        """Speech for ``text`` as 8 kHz mu-law (espeak-ng → sox -D); a text that is an SSML
        document is checked and spoken in espeak-ng's SSML mode (see :mod:`dialplan.sounds.ssml`)."""
        espeak = espeak_voice(voice)
        ssml = is_ssml(text)
        pad = 0.0
        spoken = text
        if ssml:
            try:
                doc = check_ssml(text)
            except SsmlError as exc:
                raise PromptError(f"SSML refused: {exc}") from None
            espeak, pad, spoken = doc.voice, doc.leading_silence_s, doc.text

        async def make(path: Path) -> None:
            with tempfile.TemporaryDirectory() as tmp:
                wav = Path(tmp) / "tts.wav"
                src = Path(tmp) / "text.txt"
                src.write_text(spoken, encoding="utf-8")
                await _run(*tts_argv(espeak, str(wav), str(src), ssml))
                await _to_ulaw(wav, path, pad)

        key = (
            self._key("ssml", espeak, spoken, f"{pad:.3f}")
            if ssml
            else self._key("tts", espeak, text)
        )
        return await self._cached(key, make)

    async def audio(self, location: str) -> bytes:
        """An audio file (path, ``file://`` or ``http(s)://`` URL) as 8 kHz mu-law."""

        async def make(path: Path) -> None:
            parsed = urlparse(location)
            with tempfile.TemporaryDirectory() as tmp:
                if parsed.scheme in ("http", "https"):
                    import httpx

                    from ...netguard import UnsafeUrl, async_guarded_transport

                    suffix = Path(parsed.path).suffix or ".wav"
                    src = Path(tmp) / f"download{suffix}"
                    try:
                        transport = async_guarded_transport(self.allow_private)
                        async with httpx.AsyncClient(
                            timeout=20, follow_redirects=True, transport=transport, trust_env=False
                        ) as client:
                            resp = await client.get(location)
                            resp.raise_for_status()
                    except (httpx.HTTPError, UnsafeUrl) as exc:
                        raise PromptError(f"cannot fetch {location}: {exc}") from exc
                    src.write_bytes(resp.content)
                elif parsed.scheme == "file":
                    src = Path(unquote(parsed.path))
                elif parsed.scheme in ("",) or len(parsed.scheme) == 1:
                    src = Path(location)
                else:
                    raise PromptError(f"unsupported audio location: {location}")
                if not src.is_file():
                    raise PromptError(f"audio file not found: {src}")
                await _to_ulaw(src, path)

        return await self._cached(self._key("audio", location), make)


async def _to_ulaw(src: Path, dest: Path, pad_s: float = 0.0) -> None:
    tmp = dest.with_suffix(f".{os.getpid()}.tmp.ul")
    await _run(*ulaw_argv(str(src), str(tmp), pad_s))
    tmp.replace(dest)
