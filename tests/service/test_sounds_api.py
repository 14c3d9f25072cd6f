"""``/v2/campaigns/sounds`` on a live ``dialplan serve``: CallFire's CampaignSound shape, the
upload defined here, TTS, audio back as WAV, per-account libraries."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .conftest import Server


def _wav(tmp: Path) -> bytes:
    path = tmp / "tone.wav"
    subprocess.run(
        ["sox", "-n", "-r", "8000", "-c", "1", str(path), "synth", "2.0", "sine", "440"],
        check=True,
        capture_output=True,
    )
    return path.read_bytes()


def test_upload_tts_list_get_audio_delete(server: Server, tmp_path: Path) -> None:
    key = server.key("soundco", "write")
    other = server.key("othercorp", "write")
    with server.client(key) as c:
        assert c.get("/v2/campaigns/sounds").json() == {
            "items": [], "limit": 100, "offset": 0, "totalCount": 0,
        }  # fmt: skip
        up = c.post(
            "/v2/campaigns/sounds/files",
            params={"name": "welcome"},
            content=_wav(tmp_path),
            headers={"Content-Type": "audio/wav"},
        )
        assert up.status_code == 201, up.text
        sound_id = up.json()["id"]
        tts = c.post("/v2/campaigns/sounds/tts", json={"message": "Hello Mary", "voice": "FEMALE1"})
        assert tts.status_code == 200, tts.text
        assert set(tts.json()) == {
            "id",
            "name",
            "created",
            "lengthInSeconds",
            "status",
            "duplicate",
        }
        got = c.get(f"/v2/campaigns/sounds/{sound_id}").json()
        assert (
            got["name"] == "welcome" and got["lengthInSeconds"] == 2 and got["status"] == "ACTIVE"
        )
        page = c.get("/v2/campaigns/sounds", params={"filter": "WEL"}).json()
        assert [s["name"] for s in page["items"]] == ["welcome"] and page["totalCount"] == 1
        wav = c.get(f"/v2/campaigns/sounds/{sound_id}.wav")
        assert wav.status_code == 200 and wav.headers["content-type"] == "audio/wav"
        assert wav.content[:4] == b"RIFF"
        bad = c.post(
            "/v2/campaigns/sounds/files",
            params={"name": "fake"},
            content=b"not audio at all",
            headers={"Content-Type": "audio/wav"},
        )
        assert bad.status_code == 422 and "not a readable audio file" in bad.json()["detail"]
        assert "Traceback" not in bad.text
        wrong = c.post("/v2/campaigns/sounds/files", params={"name": "x"}, content=b"x")
        assert wrong.status_code == 415
    with server.client(other) as c:  # another account has its own library
        assert c.get(f"/v2/campaigns/sounds/{sound_id}").status_code == 404
    with server.client(key) as c:
        assert c.delete(f"/v2/campaigns/sounds/{sound_id}").status_code == 204
        assert c.get(f"/v2/campaigns/sounds/{sound_id}").status_code == 404
