"""``[sounds]`` campaigns on PostgreSQL: the sound library in the database (``dialplan sounds
--db postgresql://…``), campaigns playing from it dialled by workers, the same answers as on
SQLite."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from tests.clirun import run

from .test_text_campaigns import _Receiver, hook  # noqa: F401  (the webhook receiver fixture)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ROWS = [
    "12135551100,Ann,LA,1",  # transferred
    "12135771188,Bob,AM,",  # the library's voicemail
    "12135551101,Cy,LA,9",  # off the list
    "12135551102,Di,BUSY,",  # retried
    "12135551103,Ed,NO_ANS,",
    "12135551104,Flo,LA,",
    "12135551105,Gil,AM,",
    "12135551106,Hal,LA,2",
    # on the account's DNC list since Cy's call ended (dialled after it: in virtual time the
    # one-process run knows a call's DNC digit from the call's start, the workers from its end)
    "12135551101,Cy again,LA,",
]


def mary(tmp: Path, url: str) -> Path:
    text = (EXAMPLES / "charity-campaign-sounds.toml").read_text(encoding="utf-8")
    start = text.index("machine_sound_text = ")
    end = text.index("machine_sound_text_voice")
    text = text[:start] + 'machine_sound_id = "voicemail"\n' + text[end:]
    text = text.replace('machine_sound_text_voice = "MALE1"\n', "")
    text = "scrub_duplicates = false\n" + text
    text += f'\n[webhook]\nurl = "{url}"\nsecret = "s"\n[network]\nallow_private = true\n'
    path = tmp / "mary.toml"
    path.write_text(text, encoding="utf-8")
    csv = "phone_number,first,sim_result,sim_inputs\n" + "\n".join(ROWS) + "\n"
    (tmp / "charity-campaign-recipients.csv").write_text(csv, encoding="utf-8")
    return path


def test_a_sounds_campaign_on_postgresql_agrees_with_sqlite(
    pg_db: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    hook: tuple[str, type[_Receiver]],  # noqa: F811
) -> None:
    url, handler = hook
    path = mary(tmp_path, url)
    lite = str(tmp_path / "b.sqlite")
    answers, events, libraries = {}, {}, {}
    for db in (lite, pg_db):
        code, _, err = run(capsys, "broadcast", "run", str(path), "--db", db, "--no-progress")
        assert code == 2 and "machine_sound_id: no sound 'voicemail' in the library" in err, err
        code, out, err = run(
            capsys, "sounds", "add", "--tts", "Please call us back", "--voice", "FEMALE1",
            "--name", "voicemail", "--db", db,
        )  # fmt: skip
        assert code == 0, err
        code, out, err = run(capsys, "sounds", "list", "--db", db, "--format", "json")
        assert code == 0, err
        listed = json.loads(out)["items"]
        libraries[db] = [{k: v for k, v in s.items() if k != "created"} for s in listed]
        handler.received.clear()
        code, out, err = run(
            capsys, "broadcast", "run", str(path), "--db", db, "--no-progress",
            "--report", str(tmp_path / "r.html"), "--format", "json",
        )  # fmt: skip
        assert code == 0, err
        assert json.loads(out)["events_pending"] == 0
        events[db] = sorted(json.dumps(e, sort_keys=True) for e in handler.received)
        outputs = []
        for args in (
            ("stats", "Charity Campaign", "--format", "json"),
            ("export", "Charity Campaign", "--format", "csv"),
            ("export", "Charity Campaign"),
        ):
            code, out, err = run(capsys, "broadcast", *args, "--db", db)
            assert code == 0, err
            outputs.append(out)
        answers[db] = outputs
    assert libraries[pg_db] == libraries[lite] and libraries[lite][0]["name"] == "voicemail"
    lite_out, pg_out = answers[lite], answers[pg_db]
    assert json.loads(pg_out[0]) == json.loads(lite_out[0])
    assert pg_out[1] == lite_out[1]  # the CSV export, byte for byte
    assert json.loads(pg_out[2]) == json.loads(lite_out[2])
    assert events[pg_db] == events[lite]
    finals = [(r["phone_number"], r["final_result"]) for r in json.loads(pg_out[2])]
    assert ("12135551100", "XFER") in finals and ("12135771188", "AM") in finals
    assert ("12135551101", "DNC") in finals  # Cy again: the digit 9 of the first call
    refs = {
        str(e.get("prompt_ref"))
        for e in map(json.loads, events[pg_db])
        if "prompt_ref" in e  # playstate events name the sound played
    }
    assert {"live_message", "machine_message"} <= refs, refs
    with psycopg.connect(pg_db) as conn:
        (dnc,) = conn.execute("SELECT count(*) FROM dnc WHERE source = 'runtime'").fetchone() or (
            0,
        )
    assert dnc == 1


def test_the_sound_library_on_postgresql(
    pg_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """add, list, get (the stored μ-law bytes), rm; a second add of the same sound is no copy."""
    for _ in range(2):
        code, out, err = run(
            capsys, "sounds", "add", "--tts", "Hello", "--name", "hi", "--db", pg_db
        )
        assert code == 0, err
    assert "already in the library" in out
    wav = tmp_path / "hi.ul"
    code, out, err = run(capsys, "sounds", "get", "hi", "--db", pg_db, "--output", str(wav))
    assert code == 0, err
    with psycopg.connect(pg_db) as conn:
        row = conn.execute("SELECT audio, length_ms FROM sounds").fetchone()
    assert row is not None and bytes(row[0]) == wav.read_bytes() and len(wav.read_bytes()) > 1000
    code, out, err = run(capsys, "sounds", "rm", "hi", "--db", pg_db)
    assert code == 0, err
    code, out, err = run(capsys, "sounds", "get", "hi", "--db", pg_db, "--output", str(wav))
    assert code == 2 and "no sound 'hi' in the library" in err and err.count("\n") == 1
