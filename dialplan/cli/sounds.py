"""``dialplan sounds``: the sound library of a campaign database (add, list, get, rm)."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import click

from ..broadcast.store.sqlitefile import on_database
from ..errors import UsageError
from .broadcast import DEFAULT_DB

_db_option = click.option(
    "--db",
    type=click.Path(dir_okay=False),
    default=DEFAULT_DB,
    show_default=True,
    help="The campaign database that holds the library: an SQLite file or postgresql://….",
)
_format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)


def _need_database(db: str) -> None:
    """An SQLite file that is not there is a usage error (a PostgreSQL one says so itself)."""
    from ..broadcast.store.backend import is_postgres

    if not is_postgres(db) and not Path(db).is_file():
        raise UsageError(f"no database {db}")


@click.group()
def sounds() -> None:
    """The sound library: sounds made once (8 kHz μ-law) and played by id or name."""


def _show(sound: object, fmt: str) -> None:
    from ..sounds.library import Sound

    assert isinstance(sound, Sound)
    if fmt == "json":
        click.echo(json.dumps(sound.as_campaign_sound()))
        return
    dup = " (already in the library)" if sound.duplicate else ""
    click.echo(f"{sound.id}\t{sound.name}\t{sound.kind}\t{sound.length_s:.1f} s{dup}")


@sounds.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--tts", "tts", metavar="TEXT", help="Speak TEXT instead of reading a file.")
@click.option("--voice", help="TTS voice: MALE1, FEMALE1 … or Female/Male with --language.")
@click.option("--language", help="BCP-47 language of the TTS text (en-US, fr-FR …).")
@click.option(
    "--ssml",
    "ssml",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Speak an SSML document (a file).",
)
@click.option("--name", default="", help="The sound's name (default: the file name).")
@_db_option
@_format_option
@on_database("db")
def add(
    file: Path | None,
    tts: str | None,
    voice: str | None,
    language: str | None,
    ssml: Path | None,
    name: str,
    db: str,
    fmt: str,
) -> None:
    """Add FILE (WAV or MP3), or --tts TEXT, or --ssml FILE to the library."""
    from ..sounds.library import SoundLibrary

    given = [x for x in (file, tts, ssml) if x is not None]
    if len(given) != 1:
        raise UsageError("give exactly one of FILE, --tts TEXT or --ssml FILE")
    if (voice or language) and tts is None:
        raise UsageError("--voice and --language go with --tts")
    if file is not None and not file.is_file():
        raise UsageError(f"no such file {file}")
    document = None
    if ssml is not None:
        try:
            document = ssml.read_bytes().decode("utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read {ssml}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise UsageError(f"{ssml}: not UTF-8 text") from None
    with SoundLibrary(db) as lib:
        if file is not None:
            sound = lib.add_file(file, name or None)
        elif tts is not None:
            sound = lib.add_tts(tts, voice, language, name)
        else:
            assert document is not None and ssml is not None
            sound = lib.add_ssml(document, name or ssml.stem, str(ssml))
    _show(sound, fmt)


@sounds.command(name="list")
@_db_option
@_format_option
@on_database("db")
def list_sounds(db: str, fmt: str) -> None:
    """Every sound: id, name, kind, length."""
    from ..sounds.library import SoundLibrary, SoundLibraryError

    _need_database(db)
    try:
        lib = SoundLibrary(db, readonly=True)
    except SoundLibraryError:
        items = []
    else:
        with lib:
            items = lib.sounds()
    if fmt == "json":
        click.echo(json.dumps({"items": [s.as_campaign_sound() for s in items]}))
        return
    for sound in items:
        _show(sound, fmt)


@sounds.command()
@click.argument("sound")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the audio: .ul as stored (8 kHz μ-law), .wav or .mp3 converted by sox.",
)
@_db_option
@_format_option
@on_database("db")
def get(sound: str, output: Path | None, db: str, fmt: str) -> None:
    """One sound (by id or name); --output writes its audio."""
    from ..sounds.library import SoundLibrary

    _need_database(db)
    with SoundLibrary(db, readonly=True) as lib:
        found = lib.get(sound)
        audio = lib.audio(found.id) if output is not None else b""
    if output is not None:
        _write_audio(audio, output)
    _show(found, fmt)


def _write_audio(audio: bytes, output: Path) -> None:
    if not output.parent.is_dir():
        raise UsageError(f"cannot write {output}: no such directory {output.parent}")
    if output.suffix.lower() == ".ul":
        output.write_bytes(audio)
        return
    with tempfile.TemporaryDirectory(prefix="dialplan-sound-") as tmp:
        raw = Path(tmp) / "sound.ul"
        raw.write_bytes(audio)
        argv = ["sox", "-t", "ul", "-r", "8000", "-c", "1", str(raw), str(output)]
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise UsageError(f"cannot write {output}: {proc.stderr.strip().splitlines()[-1:]}")


@sounds.command()
@click.argument("sound")
@_db_option
@on_database("db")
def rm(sound: str, db: str) -> None:
    """Remove a sound (by id or name) from the library."""
    from ..sounds.library import SoundLibrary

    _need_database(db)
    with SoundLibrary(db) as lib:
        gone = lib.remove(sound)
    click.echo(f"removed {gone.id}\t{gone.name}")
