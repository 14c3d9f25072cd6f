"""The sound library: the account's sounds in the campaign store (table ``sounds``, migration 4),
an SQLite file or a PostgreSQL database (``postgresql://…``, shared by every worker).

A sound is made once — a WAV/MP3 converted to 8 kHz μ-law, or TTS/SSML spoken — and stored
with its length; campaigns and dialplans play it by id or by name (``<play
type="callfireid">``, the recipient column ``prompt``) without fetching or synthesising it again.
Rows read like CallFire's ``CampaignSound`` (:meth:`Sound.as_campaign_sound`).

On PostgreSQL the table also holds the service's per-account libraries (``/v2/campaigns/sounds``
of ``serve --db postgresql://…``, PG migration 8): ``SoundLibrary(dsn, account=…)`` sees only
that account's sounds, ``SoundLibrary(dsn)`` only the campaign store's own (``account`` NULL).
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..broadcast.store.backend import is_postgres
from ..broadcast.store.sqlite import Store
from ..errors import CampaignError
from . import render
from .names import is_library_name
from .ssml import SsmlError, check_ssml
from .voices import VoiceError, espeak_voice


class SoundLibraryError(CampaignError):
    """A sound that cannot be added, or one that is not in the library (exit 2)."""


@dataclass(frozen=True, slots=True)
class Sound:
    id: int
    name: str
    kind: str  # file | tts | ssml
    source: str  # the file name, the text or the SSML document
    voice: str | None
    language: str | None
    sha256: str
    length_ms: int
    created_at: float
    status: str = "ACTIVE"
    duplicate: bool = False

    @property
    def length_s(self) -> float:
        return self.length_ms / 1000

    def as_campaign_sound(self) -> dict[str, object]:
        """CallFire's ``CampaignSound`` shape."""
        return {
            "id": self.id,
            "name": self.name,
            "created": round(self.created_at * 1000),
            "lengthInSeconds": round(self.length_ms / 1000),
            "status": self.status,
            "duplicate": self.duplicate,
        }


_COLUMNS = "id, name, kind, source, voice, language, sha256, length_ms, created_at, status"


def _row(values: tuple[object, ...], duplicate: bool = False) -> Sound:
    sound = Sound(*values)  # type: ignore[arg-type]
    return dataclasses.replace(sound, duplicate=True) if duplicate else sound


def check_name(name: str) -> str:
    name = name.strip()
    if not is_library_name(name):
        raise SoundLibraryError(
            f"sound name {name!r}: use 1-100 letters, digits, space, '_' or '-', with a letter"
            " (all digits is an id); give one with --name"
        )
    return name


class SoundLibrary:
    """The ``sounds`` table of one campaign database (SQLite, or PostgreSQL: the same queries
    with ``%s`` for ``?``, on an autocommit connection). ``account`` (PostgreSQL only): that
    account's library instead of the campaign store's own."""

    def __init__(
        self, db: str | Path, *, readonly: bool = False, account: str | None = None
    ) -> None:
        self.path = str(db)
        self._pg: Any = None
        self.account = account
        if account is not None and not is_postgres(db):
            raise ValueError("an account's library in the campaign store needs PostgreSQL")
        if is_postgres(db):
            from ..broadcast.pg.connect import connect, describe
            from ..broadcast.store.backend import need_psycopg

            need_psycopg()
            self.path = describe(str(db))
            self._pg = connect(str(db))  # migrated: the library is there
            return
        self.store = Store(db, readonly=readonly)
        if readonly and self.store.version < 4:
            self.store.close()
            raise SoundLibraryError(f"{db}: the database has no sound library yet")

    def _mine(self, where: str, params: tuple[object, ...] = ()) -> tuple[str, tuple[object, ...]]:
        """``WHERE where`` limited to this library's rows (one account's, on PostgreSQL)."""
        if self._pg is None:
            return f" WHERE {where}", params
        return f" WHERE {where} AND coalesce(account, '') = ?", (*params, self.account or "")

    def _select(self, what: str, where: str, params: tuple[object, ...] = ()) -> Any:
        clause, params = self._mine(where, params)
        return self._sql(f"SELECT {what} FROM sounds{clause}", params)

    def _sql(self, sql: str, params: tuple[object, ...] = ()) -> Any:
        if self._pg is not None:
            return self._pg.execute(sql.replace("?", "%s"), params)
        return self.store.db.execute(sql, params)

    def close(self) -> None:
        if self._pg is not None:
            self._pg.close()
        else:
            self.store.close()

    def __enter__(self) -> SoundLibrary:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- adding ------------------------------------------------------------------------------
    def add_file(self, path: Path, name: str | None = None) -> Sound:
        try:
            audio = render.convert_file(path)
        except render.SoundError as exc:
            raise SoundLibraryError(str(exc)) from None
        return self._add(name or path.stem, "file", path.name, None, None, audio)

    def add_tts(
        self, text: str, voice: str | None = None, language: str | None = None, name: str = ""
    ) -> Sound:
        try:
            audio = render.speak(text, espeak_voice(voice, language))
        except (VoiceError, render.SoundError) as exc:
            raise SoundLibraryError(f"tts: {exc}") from None
        return self._add(name or _auto_name("tts", text), "tts", text, voice, language, audio)

    def add_ssml(self, document: str, name: str = "", where: str = "ssml") -> Sound:
        try:
            audio = render.speak_ssml(check_ssml(document))
        except SsmlError as exc:
            raise SoundLibraryError(f"{where}:{exc}") from None
        except render.SoundError as exc:
            raise SoundLibraryError(f"{where}: {exc}") from None
        return self._add(name or _auto_name("ssml", document), "ssml", document, None, None, audio)

    def add_copy(self, sound: Sound, audio: bytes, name: str) -> Sound:
        """A sound of another library (``audio``: its stored bytes) under ``name`` here."""
        return self._add(name, sound.kind, sound.source, sound.voice, sound.language, audio)

    def _add(
        self,
        name: str,
        kind: str,
        source: str,
        voice: str | None,
        language: str | None,
        audio: bytes,
    ) -> Sound:
        name = check_name(name)
        digest = hashlib.sha256(audio).hexdigest()
        existing = self.find(name)
        if existing is not None:
            if existing.sha256 == digest:
                return _row(self._fetch(existing.id), duplicate=True)
            raise SoundLibraryError(
                f"a sound named {name!r} exists already (id {existing.id}); remove it first"
            )
        self._begin()
        owner = ("", ()) if self._pg is None else (", account", (self.account,))
        cur = self._sql(
            f"INSERT INTO sounds (name, kind, source, voice, language, audio, sha256, length_ms,"
            f" created_at{owner[0]}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?{', ?' * len(owner[1])})"
            " RETURNING id",
            (
                name,
                kind,
                source,
                voice,
                language,
                audio,
                digest,
                round(len(audio) * 1000 / render.RATE),
                time.time(),
                *owner[1],
            ),
        )
        (sound_id,) = cur.fetchone()
        self._commit()
        return _row(self._fetch(int(sound_id)))

    def _begin(self) -> None:
        if self._pg is None:
            self.store.begin()

    def _commit(self) -> None:
        if self._pg is None:
            self.store.commit()

    # -- reading -----------------------------------------------------------------------------
    def _fetch(self, sound_id: int) -> tuple[object, ...]:
        row = self._select(_COLUMNS, "id = ?", (sound_id,)).fetchone()
        assert row is not None
        return tuple(row)

    def find(self, ref: str | int) -> Sound | None:
        """The sound with id ``ref`` (digits) or name ``ref``."""
        text = str(ref).strip()
        if text.isdigit():
            row = self._select(_COLUMNS, "id = ?", (int(text),)).fetchone()
        else:
            row = self._select(_COLUMNS, "name = ?", (text,)).fetchone()
        return _row(tuple(row)) if row is not None else None

    def get(self, ref: str | int) -> Sound:
        found = self.find(ref)
        if found is None:
            raise SoundLibraryError(f"{self.path}: no sound {str(ref)!r} in the library")
        return found

    def audio(self, ref: str | int) -> bytes:
        """The stored μ-law bytes of a sound."""
        sound = self.get(ref)
        row = self._select("audio", "id = ?", (sound.id,)).fetchone()
        return bytes(row[0])

    def sounds(self) -> list[Sound]:
        clause, params = self._mine("1 = 1")
        rows = self._sql(f"SELECT {_COLUMNS} FROM sounds{clause} ORDER BY id", params)
        return [_row(tuple(r)) for r in rows]

    def names(self) -> set[str]:
        """Every id and name (what ``<play type="callfireid">`` may name)."""
        refs: set[str] = set()
        for sound_id, name in self._select("id, name", "1 = 1"):
            refs.update((str(sound_id), name))
        return refs

    def remove(self, ref: str | int) -> Sound:
        sound = self.get(ref)
        self._begin()
        clause, params = self._mine("id = ?", (sound.id,))
        self._sql(f"DELETE FROM sounds{clause}", params)
        self._commit()
        return sound


def _auto_name(kind: str, text: str) -> str:
    return f"{kind}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:10]}"


def library_names(db: str | Path) -> set[str] | None:
    """The ids and names of ``db``'s library (``None``: no such file or no library yet)."""
    if not is_postgres(db) and not Path(db).is_file():
        return None
    try:
        with SoundLibrary(db, readonly=True) as lib:
            return lib.names()
    except SoundLibraryError:
        return None


def library_reader(db: str | Path) -> Callable[[str], bytes | None]:
    """``ref → μ-law bytes`` from ``db``'s library (``None``: not there), each sound read once
    and then kept in memory: a sound is never fetched or made again per call."""
    cache: dict[str, bytes | None] = {}

    def read(ref: str) -> bytes | None:
        if ref not in cache:
            data = None
            if is_postgres(db) or Path(db).is_file():
                try:
                    with SoundLibrary(db, readonly=True) as lib:
                        found = lib.find(ref)
                        data = lib.audio(found.id) if found is not None else None
                except SoundLibraryError:
                    data = None
            cache[ref] = data
        return cache[ref]

    return read
