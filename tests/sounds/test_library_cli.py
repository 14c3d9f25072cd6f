"""``dialplan sounds``: the sound library in the campaign store (real sox, espeak-ng, SQLite)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from dialplan.broadcast.store.migrations import LATEST
from dialplan.sounds.library import SoundLibrary
from tests.broadcast.test_migrations import release1_db
from tests.clirun import run as cli


def tone(path: Path, seconds: float = 1.5, rate: int = 16000) -> Path:
    """A real audio file made by sox (WAV or MP3 after the suffix)."""
    subprocess.run(
        ["sox", "-n", "-r", str(rate), "-c", "1", str(path), "synth", str(seconds), "sine", "440"],
        check=True,
        capture_output=True,
    )
    return path


def sox_ulaw(path: Path) -> bytes:
    """What sox alone makes of ``path`` as 8 kHz μ-law (the stored bytes must be these)."""
    out = subprocess.run(
        ["sox", "-D", str(path), "-r", "8000", "-c", "1", "-t", "ul", "-"],
        check=True,
        capture_output=True,
    )
    return out.stdout


def test_add_list_get_rm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "b.sqlite")
    wav = tone(tmp_path / "welcome.wav", 1.5)
    mp3 = tone(tmp_path / "jingle.mp3", 3.0)
    code, out, err = cli(capsys, "sounds", "add", str(wav), "--db", db, "--format", "json")
    assert code == 0, err
    first = json.loads(out)
    assert (
        first["name"] == "welcome" and first["lengthInSeconds"] == 2 and first["status"] == "ACTIVE"
    )
    code, out, err = cli(capsys, "sounds", "add", str(mp3), "--db", db, "--format", "json")
    assert code == 0, err
    assert json.loads(out)["lengthInSeconds"] == 3
    code, out, err = cli(
        capsys, "sounds", "add", "--tts", "Hello Mary", "--voice", "FEMALE1", "--name", "hi",
        "--db", db,
    )  # fmt: skip
    assert code == 0, err
    assert out.split("\t")[1:3] == ["hi", "tts"]
    code, out, _ = cli(capsys, "sounds", "list", "--db", db, "--format", "json")
    items = json.loads(out)["items"]
    assert [i["name"] for i in items] == ["welcome", "jingle", "hi"]
    assert [i["id"] for i in items] == [1, 2, 3]
    with SoundLibrary(db, readonly=True) as lib:
        assert lib.audio("welcome") == sox_ulaw(wav)  # converted once, stored as is
        assert lib.get(2).length_ms == pytest.approx(3000, abs=60)
    out_wav = tmp_path / "hi.wav"
    code, out, err = cli(capsys, "sounds", "get", "hi", "--db", db, "--output", str(out_wav))
    assert code == 0, err
    seconds = subprocess.run(["soxi", "-D", str(out_wav)], capture_output=True, text=True).stdout
    assert 0.5 < float(seconds) < 3.0
    # the same audio again is the same sound; the same name with other audio is refused
    code, out, _ = cli(capsys, "sounds", "add", str(wav), "--db", db)
    assert code == 0 and "already in the library" in out
    other = (
        tone(tmp_path / "other" / "welcome.wav", 0.5)
        if (tmp_path / "other").mkdir() is None
        else None
    )
    assert other is not None
    code, _, err = cli(capsys, "sounds", "add", str(other), "--db", db)
    assert code == 2 and "a sound named 'welcome' exists already (id 1)" in err
    code, out, _ = cli(capsys, "sounds", "rm", "welcome", "--db", db)
    assert code == 0 and out.startswith("removed 1")
    code, _, err = cli(capsys, "sounds", "get", "welcome", "--db", db)
    assert code == 2 and "no sound 'welcome' in the library" in err


def test_ssml_sound(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "b.sqlite")
    doc = tmp_path / "greeting.ssml"
    doc.write_text(
        '<speak><break time="1s"/>Your code is <say-as interpret-as="digits">42</say-as></speak>'
    )
    code, out, err = cli(
        capsys, "sounds", "add", "--ssml", str(doc), "--db", db, "--format", "json"
    )
    assert code == 0, err
    assert json.loads(out)["name"] == "greeting"
    with SoundLibrary(db, readonly=True) as lib:
        audio = lib.audio("greeting")
    assert set(audio[:7000]) <= {0xFF, 0x7F}  # the leading break, kept
    assert len(audio) > 2 * 8000


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda p: p.joinpath("fake.wav").write_text("hello, not audio"),
            "fake.wav: not a readable audio file",
        ),
        (lambda p: p.joinpath("empty.wav").write_bytes(b""), "empty.wav: empty file"),
        (
            lambda p: p.joinpath("tune.ogg").write_bytes(b"OggS"),
            "only .wav and .mp3 files are accepted",
        ),
        (lambda p: p.joinpath("bad.mp3").write_bytes(b"\xff\xfb" + b"\x00" * 4000), "bad.mp3: "),
    ],
)
def test_hostile_audio_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: object, message: str
) -> None:
    make(tmp_path)  # type: ignore[operator]
    name = next(p for p in tmp_path.iterdir() if p.suffix in (".wav", ".ogg", ".mp3"))
    db = tmp_path / "b.sqlite"
    code, _out, err = cli(capsys, "sounds", "add", str(name), "--db", str(db))
    assert code == 2 and message in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    with SoundLibrary(db, readonly=True) as lib:
        assert lib.sounds() == []


def test_too_long_audio_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    long = tone(tmp_path / "long.wav", 601.0, rate=8000)
    code, _, err = cli(capsys, "sounds", "add", str(long), "--db", str(tmp_path / "b.sqlite"))
    assert code == 2 and "601 s long; the limit is 600 s" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tts", "hi", "--voice", "ROBOT"], "tts: unknown voice 'ROBOT'"),
        (["--tts", "hi", "--voice", "Female", "--language", "xx-QQ"], "no voice speaks language"),
        (["--tts", ""], "nothing to say"),
        (["--tts", "hi", "--name", "a.wav"], "sound name 'a.wav'"),
        (["--tts", "hi", "--name", "123"], "sound name '123'"),
        ([], "give exactly one of FILE, --tts TEXT or --ssml FILE"),
        (["--voice", "MALE1", "x.wav"], "--voice and --language go with --tts"),
    ],
)
def test_bad_adds_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, err = cli(capsys, "sounds", "add", *args, "--db", str(tmp_path / "b.sqlite"))
    assert code == 2 and message in err, err


def test_hostile_ssml_file_is_refused_with_its_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "evil.ssml"
    doc.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE speak [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<speak>&x;</speak>'
    )
    code, _, err = cli(
        capsys, "sounds", "add", "--ssml", str(doc), "--db", str(tmp_path / "b.sqlite")
    )
    assert code == 2 and f"{doc}:1:1: DOCTYPE/ENTITY declarations are refused" in err


def test_migration_4_adds_the_library_to_a_release1_database(tmp_path: Path) -> None:
    path = release1_db(tmp_path)
    assert LATEST >= 4
    with SoundLibrary(path) as lib:  # a writing open upgrades
        lib.add_tts("Hello", name="hello")
        assert [s.name for s in lib.sounds()] == ["hello"]
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == LATEST
    assert con.execute("SELECT COUNT(*) FROM recipients").fetchone()[0] > 0  # nothing lost
    con.close()


def test_a_database_without_a_library_is_read_without_changing_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = release1_db(tmp_path)
    code, out, _ = cli(capsys, "sounds", "list", "--db", str(path))
    assert code == 0 and out == ""
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 0


def test_lint_checks_library_names_against_sounds_db(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = tmp_path / "plan.xml"
    plan.write_text(
        '<dialplan name="R">\n<play type="callfireid">welcome</play>\n'
        '<play type="callfireid">1</play>\n<play type="callfireid">hello.wav</play>\n<hangup/>\n'
        "</dialplan>\n"
    )
    db = tmp_path / "b.sqlite"
    cache = ["--cache-dir", str(tmp_path / "cache")]

    def codes(*extra: str) -> list[str]:
        code, out, err = cli(capsys, "lint", str(plan), "--format", "json", *cache, *extra)
        assert code in (0, 1), err
        return sorted(f"{d['line']}:{d['code']}" for d in json.loads(out) if d["code"][0] != "I")

    assert codes() == ["2:W079", "4:E02A"]  # a name cannot be checked without a library
    with SoundLibrary(db) as lib:
        lib.add_tts("Hello", name="other")
    assert codes("--sounds-db", str(db)) == ["2:E072", "4:E02A"]  # id 1 exists, welcome not
    with SoundLibrary(db) as lib:
        lib.add_tts("Welcome", name="welcome")
    assert codes("--sounds-db", str(db)) == ["4:E02A"]  # the cache knows the library changed
    code, _, err = cli(capsys, "lint", str(plan), "--sounds-db", str(tmp_path / "none.sqlite"))
    assert code == 2 and "--sounds-db: no database" in err
