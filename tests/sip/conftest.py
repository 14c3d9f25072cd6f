"""Real SIP peers on 127.0.0.1 (baresip, SIPp) started per test on free ports, stopped by PID.

Outside CI a missing tool skips the test; in CI (``CI`` set) it fails it."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dialplan.drivers.sip.tts import PromptCache
from tools.sip_peers import Baresip, Sipp, sipp_uas_scenario, write_wav

IN_CI = bool(os.environ.get("CI"))


def require(*tools: str, root: bool = False) -> None:
    """Skip (fail in CI) when a tool is missing or root is needed and we are not root."""
    missing = [t for t in tools if shutil.which(t) is None]
    problem = f"missing tool(s): {', '.join(missing)}" if missing else ""
    if not problem and root and os.geteuid() != 0:
        problem = "SIPp plays RFC 4733 captures only as root"
    if problem:
        if IN_CI:
            pytest.fail(f"{problem} (required in CI)")
        pytest.skip(problem)


@pytest.fixture(scope="session")
def prompt_cache(tmp_path_factory: pytest.TempPathFactory) -> PromptCache:
    return PromptCache(tmp_path_factory.mktemp("prompts"))


def speech_wav(path: Path, text: str, pad_s: float = 0.0, lead_s: float = 0.0) -> Path:
    """espeak-ng speech as 8 kHz mono 16-bit WAV with silence before/after (sox -D)."""
    require("espeak-ng", "sox")
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(raw), "--", text], check=True, timeout=30)
    subprocess.run(
        [
            "sox",
            "-D",
            str(raw),
            "-r",
            "8000",
            "-c",
            "1",
            "-b",
            "16",
            str(path),
            "pad",
            str(lead_s),
            str(pad_s),
        ],
        check=True,
        timeout=30,
    )
    return path


@pytest.fixture
def baresip(tmp_path: Path) -> Iterator[Callable[..., Baresip]]:
    """Factory: ``baresip(name, user=..., greeting=WAV)`` → a running auto-answering peer."""
    started: list[Baresip] = []

    def start(name: str = "peer", user: str = "ivrpeer", greeting: Path | None = None) -> Baresip:
        require("baresip")
        peer = Baresip(tmp_path / name, user=user, greeting=greeting).start()
        started.append(peer)
        return peer

    yield start
    for peer in started:
        peer.stop()


@pytest.fixture
def sipp(tmp_path: Path) -> Iterator[Callable[..., Sipp]]:
    """Factory: ``sipp(scenario_xml, calls=1)`` → a running SIPp UAS."""
    started: list[Sipp] = []

    def start(scenario: str, calls: int = 1, name: str | None = None, **kw: Any) -> Sipp:
        require("sipp")
        directory = tmp_path / (name or f"sipp{len(started)}")
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "scenario.xml"
        path.write_text(scenario)
        peer = Sipp(path, directory, max_calls=calls, **kw).start()
        started.append(peer)
        return peer

    yield start
    for peer in started:
        peer.stop()


def uas(**kw: Any) -> str:
    return sipp_uas_scenario(**kw)


def run(coro: Any, timeout: float = 60.0) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


__all__ = ["require", "run", "speech_wav", "uas", "write_wav"]
