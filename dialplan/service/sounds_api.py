"""``/v2/campaigns/sounds``: the account's sound library over HTTP, in CallFire's shape.

CallFire's Swagger has ``GET /campaigns/sounds`` (a ``CampaignSoundPage``), ``GET …/{id}``,
``GET …/{id}.wav`` / ``.mp3`` and ``POST …/tts`` (``TextToSpeech``: ``message``, ``voice``), and
no upload: ``POST …/files?name=`` (the WAV or MP3 as the raw body, ``Content-Type`` ``audio/wav``
or ``audio/mpeg``) and ``DELETE …/{id}`` are defined here in the same style (docs/sounds.md).
Each account has its own library: a file next to the service database
(``<db>-sounds-<account>.sqlite``), or on ``serve --db postgresql://…`` the account's rows of the
database's ``sounds`` table, shared by every server; campaigns play it by id or name.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from ..broadcast.store.backend import is_postgres
from ..sounds.library import Sound, SoundLibrary, SoundLibraryError
from .auth import ReadKey, WriteKey
from .problems import ProblemError, problem_responses

router = APIRouter(prefix="/v2/campaigns/sounds", tags=["sounds"])
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
_SUFFIX = {"audio/wav": ".wav", "audio/x-wav": ".wav", "audio/wave": ".wav", "audio/mpeg": ".mp3"}


class CampaignSound(BaseModel):
    id: int
    name: str
    created: int = Field(description="Unix time in milliseconds")
    lengthInSeconds: int
    status: str
    duplicate: bool


class CampaignSoundPage(BaseModel):
    items: list[CampaignSound]
    limit: int
    offset: int
    totalCount: int


class TextToSpeech(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1, max_length=2_000)
    voice: Literal["MALE1", "FEMALE1", "FEMALE2", "SPANISH1", "FRENCHCANADIAN1"] | None = None
    name: str | None = Field(default=None, description="Not in CallFire's shape: the sound's name")


class ResourceId(BaseModel):
    id: int


def account_library(db_path: str | Path, account: str) -> Path:
    """The account's library file next to the service database ``db_path``."""
    db = Path(str(db_path))
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", account)
    return db.with_name(f"{db.stem}-sounds-{safe}.sqlite")


def open_account_library(
    db: str | Path, local: str | Path, account: str, *, readonly: bool = False
) -> SoundLibrary | None:
    """The account's library: on PostgreSQL (``db``) its rows of the shared ``sounds`` table,
    else its file beside ``local``; ``None``: a read of a library never written to."""
    if is_postgres(db):
        return SoundLibrary(str(db), account=account)
    path = account_library(local, account)
    if readonly and not path.is_file():
        return None
    try:
        return SoundLibrary(path, readonly=readonly)
    except SoundLibraryError:
        return None


def _library(request: Request, account: str, *, readonly: bool = False) -> SoundLibrary | None:
    settings = request.app.state.settings
    return open_account_library(settings.db_path, settings.local_path, account, readonly=readonly)


def _get(request: Request, account: str, sound_id: int) -> tuple[Sound, SoundLibrary]:
    lib = _library(request, account, readonly=True)
    found = lib.find(sound_id) if lib is not None else None
    if found is None or lib is None:
        if lib is not None:
            lib.close()
        raise ProblemError(404, "not-found", f"no sound {sound_id}")
    return found, lib


_READ_ERRORS = problem_responses(401, 403, 404, 422, 429)
_WRITE_ERRORS = problem_responses(400, 401, 403, 413, 415, 422, 429)


@router.get("", response_model=CampaignSoundPage, responses=_READ_ERRORS, summary="Find sounds")
def find_sounds(
    request: Request,
    who: ReadKey,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    filter: str = Query("", description="Part of the name"),
) -> dict[str, Any]:
    lib = _library(request, who.account, readonly=True)
    sounds = []
    if lib is not None:
        with lib:
            sounds = [s for s in lib.sounds() if filter.lower() in s.name.lower()]
    page = sounds[offset : offset + limit]
    return {
        "items": [s.as_campaign_sound() for s in page],
        "limit": limit,
        "offset": offset,
        "totalCount": len(sounds),
    }


@router.get(
    "/{sound_id}.{ext}",
    response_class=Response,
    responses={
        **_READ_ERRORS,
        200: {"content": {"audio/wav": {}, "audio/mpeg": {}}, "description": "The audio"},
    },
    summary="A sound's audio as WAV or MP3",
)
def sound_audio(request: Request, who: ReadKey, sound_id: int, ext: str) -> Response:
    if ext not in ("wav", "mp3"):
        raise ProblemError(404, "not-found", f"no format {ext!r} (wav, mp3)")
    _, lib = _get(request, who.account, sound_id)
    with lib:
        audio = lib.audio(sound_id)
    with tempfile.TemporaryDirectory(prefix="dialplan-sound-") as tmp:
        raw, out = Path(tmp) / "s.ul", Path(tmp) / f"s.{ext}"
        raw.write_bytes(audio)
        argv = ["sox", "-t", "ul", "-r", "8000", "-c", "1", str(raw), str(out)]
        subprocess.run(argv, capture_output=True, check=True)
        data = out.read_bytes()
    return Response(data, media_type="audio/wav" if ext == "wav" else "audio/mpeg")


@router.get("/{sound_id}", response_model=CampaignSound, responses=_READ_ERRORS, summary="A sound")
def get_sound(request: Request, who: ReadKey, sound_id: int) -> dict[str, Any]:
    found, lib = _get(request, who.account, sound_id)
    lib.close()
    return found.as_campaign_sound()


@router.post(
    "/tts", response_model=CampaignSound, responses=_WRITE_ERRORS, summary="Text to speech"
)
async def add_tts(request: Request, who: WriteKey, body: TextToSpeech) -> dict[str, Any]:
    def make() -> Sound:
        lib = _library(request, who.account)
        assert lib is not None
        with lib:
            return lib.add_tts(body.message, body.voice, None, body.name or "")

    try:
        sound = await run_in_threadpool(make)
    except SoundLibraryError as exc:
        raise ProblemError(422, "invalid-sound", str(exc)) from None
    return sound.as_campaign_sound()


@router.post(
    "/files",
    status_code=201,
    response_model=ResourceId,
    responses=_WRITE_ERRORS,
    summary="Upload a WAV or MP3 (defined here: CallFire's Swagger has no upload)",
)
async def upload(request: Request, who: WriteKey, name: str = Query(min_length=1)) -> Any:
    suffix = _SUFFIX.get(request.headers.get("content-type", "").split(";")[0].strip().lower())
    if suffix is None:
        raise ProblemError(415, "unsupported-media-type", "send audio/wav or audio/mpeg")
    body = await request.body()
    if len(body) > MAX_UPLOAD_BYTES:
        raise ProblemError(413, "too-large", f"larger than {MAX_UPLOAD_BYTES // 2**20} MiB")

    def make() -> Sound:
        with tempfile.TemporaryDirectory(prefix="dialplan-upload-") as tmp:
            path = Path(tmp) / f"upload{suffix}"
            path.write_bytes(body)
            lib = _library(request, who.account)
            assert lib is not None
            with lib:
                return lib.add_file(path, name)

    try:
        sound = await run_in_threadpool(make)
    except SoundLibraryError as exc:
        message = str(exc).replace(str(Path(tempfile.gettempdir())), "").split(": ", 1)[-1]
        raise ProblemError(422, "invalid-sound", message) from None
    return {"id": sound.id}


@router.delete(
    "/{sound_id}",
    status_code=204,
    response_class=Response,
    responses=_READ_ERRORS,
    summary="Remove a sound",
)
def delete_sound(request: Request, who: WriteKey, sound_id: int) -> Response:
    _get(request, who.account, sound_id)[1].close()
    lib = _library(request, who.account)
    assert lib is not None
    with lib:
        lib.remove(sound_id)
    return Response(status_code=204)
