"""A ``[sounds]`` campaign on PostgreSQL called over real SIP by a worker: the sound it plays
comes from the database's library, and its stored μ-law bytes are what goes on the wire."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dialplan.sounds.library import SoundLibrary
from tests.clirun import run
from tests.sip.conftest import require, sipp, uas  # noqa: F401 (sipp: the fixture)
from tests.sounds.test_sounds_sip import RtpCapture

pytestmark = pytest.mark.sip


def test_a_sip_worker_plays_the_library_sound_of_a_sounds_campaign(
    pg_db: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    sipp: Any,  # noqa: F811
) -> None:
    require("sox", "sipp", root=True)
    wav = tmp_path / "welcome.wav"
    subprocess.run(
        ["sox", "-n", "-r", "44100", "-c", "2", str(wav), "synth", "2.0", "sine", "300-900"],
        check=True,
    )
    with SoundLibrary(pg_db) as lib:  # the library lives in the PostgreSQL database
        stored = lib.audio(lib.add_file(wav).id)
    assert len(stored) == 16000
    peer = sipp(uas(), calls=1, timeout_s=60)
    (tmp_path / "r.csv").write_text("phone_number,first\n+12125550101,Ann\n")
    path = tmp_path / "c.toml"
    path.write_text(
        'name = "welcome"\nrecipients = "r.csv"\nfrom_number = "+12125550100"\n'
        'answering_machine_config = "LIVE_IMMEDIATE"\n'
        '[sounds]\nlive_sound_id = "welcome"\nidle_hangup = 1\n'
        f'[sip]\nproxy = "{peer.hostport}"\n'
    )
    capture = RtpCapture()
    try:
        code, _, err = run(
            capsys, "broadcast", "run", str(path), "--db", pg_db, "--driver", "sip",
            "--no-progress", "--report", str(tmp_path / "r.html"),
        )  # fmt: skip
        time.sleep(0.2)
    finally:
        streams = capture.stop()
    assert code == 0, err
    assert any(stored in payload for payload in streams.values()), {
        ssrc: len(p) for ssrc, p in streams.items()
    }
    with psycopg.connect(pg_db) as conn:
        assert conn.execute("SELECT final_result FROM recipients").fetchall() == [("LA",)]
