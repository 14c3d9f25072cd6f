"""The one conversion between CallFire's CallBroadcast (``/v2`` JSON) and the campaign file.

A broadcast created over the API *is* a campaign: its settings are written as a campaign file
(``campaign.json``, read by :func:`~dialplan.broadcast.campaign.load_campaign` like any other)
and read back from it. :data:`FIELDS` is the table of API field ↔ campaign key ↔ conversion;
docs/api.md shows the same table (a test checks they agree). ``sounds`` (CallFire's
``CallBroadcastSounds``) is the campaign's ``[sounds]`` table; ``labels``, ``resumeNextDay`` and
``maxActiveTransfers`` are its top-level keys. The one field CallFire has that the runtime does
not use (``retryConfig.retryPhoneTypes``) is kept with the broadcast and echoed; fields the
campaign file has that CallFire lacks are optional extensions (``callsPerSecond`` …).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from ...broadcast.campaign import SIM_RESULTS, TEXT_SIM_RESULTS
from ..problems import ProblemError

Convert = Callable[[Any, str], Any]


def _same(value: Any, where: str) -> Any:
    return value


def _local_date_to_key(value: Any, where: str) -> str:
    """``{"year": 2026, "month": 4, "day": 8}`` → ``"2026-04-08"``."""
    try:
        return date(int(value["year"]), int(value["month"]), int(value["day"])).isoformat()
    except (KeyError, TypeError, ValueError) as exc:
        raise invalid(where, f"not a date (year, month, day): {exc}") from None


def _local_date_to_api(value: Any, where: str) -> dict[str, int]:
    day = date.fromisoformat(str(value))
    return {"year": day.year, "month": day.month, "day": day.day}


def _local_time_to_key(value: Any, where: str) -> str:
    """``{"hour": 9, "minute": 30}`` → ``"09:30:00"`` (``24:00`` is the end of the day)."""
    try:
        h, m, s = (
            int(value.get("hour", 0)),
            int(value.get("minute", 0)),
            int(value.get("second", 0)),
        )
    except (AttributeError, TypeError, ValueError) as exc:
        raise invalid(where, f"not a time of day (hour, minute, second): {exc}") from None
    return f"{h:02d}:{m:02d}:{s:02d}"


def _local_time_to_api(value: Any, where: str) -> dict[str, int]:
    parts = [int(p) for p in str(value).split(":")] + [0, 0]
    return {"hour": parts[0], "minute": parts[1], "second": parts[2]}


def _ltr_to_key(value: Any, where: str) -> dict[str, str] | None:
    """``{enabled, beginHour, beginMinute, endHour, endMinute}`` → ``{begin, end}``
    (``enabled`` false: no restriction)."""
    if not value.get("enabled", False):
        return None
    try:
        begin = f"{int(value.get('beginHour', 0)):02d}:{int(value.get('beginMinute', 0)):02d}"
        end = f"{int(value.get('endHour', 0)):02d}:{int(value.get('endMinute', 0)):02d}"
    except (TypeError, ValueError) as exc:
        raise invalid(where, str(exc)) from None
    return {"begin": begin, "end": end}


def _ltr_to_api(value: Any, where: str) -> dict[str, Any]:
    bh, bm = (int(x) for x in str(value["begin"]).split(":")[:2])
    eh, em = (int(x) for x in str(value["end"]).split(":")[:2])
    return {"enabled": True, "beginHour": bh, "beginMinute": bm, "endHour": eh, "endMinute": em}


#: Schedule fields: API name → (campaign key, to key, to API)
_SCHEDULE: dict[str, tuple[str, Convert, Convert]] = {
    "startDate": ("start_date", _local_date_to_key, _local_date_to_api),
    "stopDate": ("stop_date", _local_date_to_key, _local_date_to_api),
    "startTimeOfDay": ("start_time_of_day", _local_time_to_key, _local_time_to_api),
    "stopTimeOfDay": ("stop_time_of_day", _local_time_to_key, _local_time_to_api),
    "timeZone": ("time_zone", _same, _same),
    "daysOfWeek": ("days_of_week", _same, _same),
}


def _schedules_to_key(value: Any, where: str) -> list[dict[str, Any]]:
    out = []
    for i, item in enumerate(value):
        entry = {}
        for api, (key, to_key, _) in _SCHEDULE.items():
            if item.get(api) is not None:
                entry[key] = to_key(item[api], f"{where}[{i}].{api}")
        out.append(entry)
    return out


def _schedules_to_api(value: Any, where: str) -> list[dict[str, Any]]:
    out = []
    for item in value:
        entry = {}
        for api, (key, _, to_api) in _SCHEDULE.items():
            if key in item:
                entry[api] = to_api(item[key], api)
        out.append(entry)
    return out


_RETRY: dict[str, str] = {
    "maxAttempts": "max_attempts",
    "minutesBetweenAttempts": "minutes_between_attempts",
    "retryResults": "retry_results",
}


def _retry_to_key(value: Any, where: str) -> dict[str, Any]:
    return {key: value[api] for api, key in _RETRY.items() if value.get(api) is not None}


def _retry_to_api(value: Any, where: str) -> dict[str, Any]:
    out = {api: value[key] for api, key in _RETRY.items() if key in value}
    if "minutesBetweenAttempts" in out:  # an integer in CallFire's description
        out["minutesBetweenAttempts"] = round(out["minutesBetweenAttempts"])
    return out


#: ``CallBroadcastSounds`` field → ``[sounds]`` key (``idleHangup``/``transferTimeout``: extensions)
SOUNDS: dict[str, str] = {
    **{
        f"{m}Sound{api}": f"{m}_sound_{key}"
        for m in ("live", "machine", "transfer", "dnc")
        for api, key in (("Text", "text"), ("TextVoice", "text_voice"), ("Id", "id"))
    },
    "transferDigit": "transfer_digit",
    "transferNumber": "transfer_number",
    "dncDigit": "dnc_digit",
    "idleHangup": "idle_hangup",
    "transferTimeout": "transfer_timeout",
}
_SOUND_KEYS = {key: api for api, key in SOUNDS.items()}


def library_sound_name(tag: str, sound_id: int) -> str:
    """The name, in the campaign store's library, of the copy of an account's sound
    ``sound_id`` (``tag``: the account's, made by the broadcast layer); a name, not an id, so it
    never collides with the store's own ids."""
    return f"{tag}-{sound_id}"


def _sound_id_to_api(value: Any) -> Any:
    """``"acct…-7"`` (the copy of the account's sound 7) → ``7``."""
    tail = str(value).rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else value


def _sounds_to_key(value: Any, where: str) -> dict[str, Any]:
    return {SOUNDS[api]: v for api, v in value.items() if v is not None and api in SOUNDS}


def _sounds_to_api(value: Any, where: str) -> dict[str, Any]:
    out = {}
    for key, v in value.items():
        api = _SOUND_KEYS.get(key)
        if api is not None:
            out[api] = _sound_id_to_api(v) if api.endswith("SoundId") else v
    return out


def _webhook_to_api(value: Any, where: str) -> dict[str, Any]:
    return {"url": value["url"]}  # the secret is never shown again


@dataclass(frozen=True, slots=True)
class Field:
    """One row of the table: an API field, its campaign key, and both conversions."""

    api: str
    key: str
    callfire: bool
    conversion: str
    to_key: Convert = _same
    to_api: Convert = _same


FIELDS: tuple[Field, ...] = (
    Field("fromNumber", "from_number", True, "as is"),
    Field("answeringMachineConfig", "answering_machine_config", True, "as is (same enumeration)"),
    Field("maxActive", "max_active", True, "as is"),
    Field(
        "localTimeRestriction",
        "local_time_restriction",
        True,
        '`{enabled, beginHour, beginMinute, endHour, endMinute}` ↔ `{begin = "HH:MM", end = '
        '"HH:MM"}`; `enabled: false` → no key',
        _ltr_to_key,
        _ltr_to_api,
    ),
    Field(
        "schedules",
        "schedules",
        True,
        "each `{startDate, stopDate: LocalDate, startTimeOfDay, stopTimeOfDay: LocalTime, timeZone,"
        " daysOfWeek}` ↔ `{start_date = YYYY-MM-DD, start_time_of_day = HH:MM:SS, …}`",
        _schedules_to_key,
        _schedules_to_api,
    ),
    Field(
        "retryConfig",
        "retry_config",
        True,
        "`maxAttempts` ↔ `max_attempts`, `minutesBetweenAttempts` ↔ `minutes_between_attempts`"
        " (an integer in the API), `retryResults` ↔ `retry_results`; `retryPhoneTypes` is kept"
        " and echoed (one number per recipient)",
        _retry_to_key,
        _retry_to_api,
    ),
    Field(
        "sounds",
        "sounds",
        True,
        "`CallBroadcastSounds` ↔ `[sounds]`: each field its snake_case twin (`liveSoundText` ↔"
        " `live_sound_text` …); a `…SoundId` (a sound of the account's library) is copied into"
        " the campaign store once; extensions `idleHangup`, `transferTimeout` (seconds)",
        _sounds_to_key,
        _sounds_to_api,
    ),
    Field("labels", "labels", True, "as is (list of strings; shown by `broadcast list`)"),
    Field(
        "resumeNextDay",
        "resume_next_day",
        True,
        "as is; left out: `true` (the campaign file's default, not CallFire's `false`)",
    ),
    Field(
        "maxActiveTransfers",
        "max_active_transfers",
        True,
        "as is (transfers in progress at once; see docs/sounds.md)",
    ),
    Field(
        "message",
        "message",
        True,
        "text broadcasts: as is (`${contact.*}` fields; a recipient's `message` overrides it)",
    ),
    Field(
        "bigMessageStrategy",
        "big_message_strategy",
        True,
        "text broadcasts: as is (`SEND_MULTIPLE`, `TRIM`, `DO_NOT_SEND`)",
    ),
    Field("callsPerSecond", "calls_per_second", False, "as is (number)"),
    Field("allowedCountries", "allowed_countries", False, "as is (ISO region codes)"),
    Field("customData", "custom_data", False, "as is (JSON object, echoed in webhook events)"),
    Field("defaultRegion", "default_region", False, "as is (region of national numbers)"),
    Field("defaultTimeZone", "default_time_zone", False, "as is (IANA zone)"),
    Field("scrubDuplicates", "scrub_duplicates", False, "as is (boolean)"),
    Field(
        "simulation",
        "simulation",
        False,
        "`{seed, start, weights, inputs}`, the same names and values as `[simulation]`",
    ),
    Field(
        "webhook",
        "webhook",
        False,
        "`{url, secret}` as `[webhook]`; the secret is write-only",
        _same,
        _webhook_to_api,
    ),
)

BY_API = {f.api: f for f in FIELDS}
BY_KEY = {f.key: f for f in FIELDS}
#: fields that broadcasts created by earlier releases kept beside their campaign file (echoed
#: when the campaign file lacks them); ``name`` is kept with the broadcast (the campaign's own
#: name in the store is ``broadcast-<id>``, unique)
LEGACY_KEPT = ("labels", "resumeNextDay", "maxActiveTransfers")
#: the campaign file's keys the service writes itself (never from the body)
FILES = {"dialplan": "dialplanXml / flowId", "recipients": "recipients", "phone_column": ""}


def invalid(where: str, message: str) -> ProblemError:
    """A 422 naming the API field (one line, as every bad input)."""
    return ProblemError(422, "invalid-request", f"{where}: {message}", field=where)


def to_campaign(body: Mapping[str, Any]) -> dict[str, Any]:
    """The campaign-file settings of an API body (fields set to ``null`` are left out)."""
    out: dict[str, Any] = {}
    for f in FIELDS:
        value = body.get(f.api)
        if value is None:
            continue
        converted = f.to_key(value, f.api)
        if converted is not None:
            out[f.key] = converted
    return out


def to_api(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The API fields of campaign-file settings (keys the API does not show are left out)."""
    out: dict[str, Any] = {}
    for key, value in settings.items():
        f = BY_KEY.get(key)
        if f is not None and value is not None:
            out[f.api] = f.to_api(value, f.api)
    return out


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def api_path(key_path: str) -> str:
    """``retry_config.max_attempts`` → ``retryConfig.maxAttempts`` (for error messages)."""
    head, sep, tail = key_path.partition(".")
    index = ""
    if "[" in head:
        head, bracket, rest = head.partition("[")
        index = bracket + rest
    f = BY_KEY.get(head)
    name = f.api if f is not None else _camel(head)
    if tail and head == "local_time_restriction":
        return name
    return name + index + (sep + ".".join(_camel(p) for p in tail.split(".")) if tail else "")


_CAMPAIGN_ERROR = re.compile(r"^.*?: ([A-Za-z_][\w.\[\]]*): (.*)$", re.S)


def campaign_problem(message: str) -> ProblemError:
    """A campaign-file error (``FILE: key: message``) as a 422 naming the API field."""
    first = message.splitlines()[0]
    m = _CAMPAIGN_ERROR.match(first)
    if m is None:  # not about one key: the message without the server's file name
        return ProblemError(422, "invalid-request", first.split(": ", 1)[-1])
    return invalid(api_path(m.group(1)), m.group(2))


def check_sim_attributes(attributes: Mapping[str, str], where: str, channel: str = "voice") -> None:
    """``sim_result`` must name a result the simulated driver (or messaging driver) knows."""
    known = TEXT_SIM_RESULTS if channel == "sms" else SIM_RESULTS
    value = (attributes.get("sim_result") or "").strip().upper()
    if value and value not in known:
        raise invalid(
            f"{where}.attributes.sim_result",
            f"unknown result {value!r} (use {', '.join(known)})",
        )
