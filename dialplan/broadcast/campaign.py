"""The campaign file: TOML (or JSON with the same structure) after CallFire's CallBroadcast.

Every problem is a :class:`~dialplan.errors.CampaignError` naming the file and the key.
Relative paths (dialplan, recipients, dnc) are read relative to the campaign file.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from ..errors import CampaignError
from .campaign_keys import section_keys, unknown_keys
from .sounds_config import Sounds, read_sounds

AM_CONFIGS = ("AM_ONLY", "AM_AND_LIVE", "LIVE_WITH_AMD", "LIVE_IMMEDIATE")
#: results a simulated attempt can have (the ``sim_result`` column and outcome weights)
SIM_RESULTS = ("LA", "AM", "BUSY", "NO_ANS", "CARRIER_ERROR")
#: attempt results that may be retried
#: upper bound of ``retry_config.max_attempts`` (a number that always fails is retried at most this often)
MAX_ATTEMPTS = 100
#: bounds of other numbers: beyond them a value is a typo, and the virtual clock would leave
#: the range datetime can represent (100 attempts a year apart from 2199 still fit)
MAX_ACTIVE = 10_000
MIN_CPS, MAX_CPS = 0.001, 1000.0
MAX_RETRY_MINUTES = 525_600.0  # one year
EARLIEST, LATEST = date(1970, 1, 1), date(2199, 12, 31)
RETRYABLE = ("LA", "AM", "BUSY", "NO_ANS", "CARRIER_ERROR", "XFER", "INTERNAL_ERROR")
#: results a simulated text can have (the ``sim_result`` column and outcome weights)
TEXT_SIM_RESULTS = ("DELIVERED", "UNDELIVERED", "NO_RECEIPT", "CARRIER_ERROR", "CARRIER_TEMP_ERROR")
#: text results that may be retried (temporary submit errors, a lost runner)
TEXT_RETRYABLE = ("CARRIER_TEMP_ERROR", "CARRIER_ERROR", "INTERNAL_ERROR")
CHANNELS = ("voice", "sms")
BIG_MESSAGE_STRATEGIES = ("SEND_MULTIPLE", "TRIM", "DO_NOT_SEND")
DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
_HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)(?::([0-5]\d))?$")


@dataclass(frozen=True, slots=True)
class RetryConfig:
    max_attempts: int = 1
    minutes_between_attempts: float = 60.0
    retry_results: tuple[str, ...] = ("BUSY", "NO_ANS")


@dataclass(frozen=True, slots=True)
class LocalTimeRestriction:
    """Calls start only between ``begin`` and ``end`` (minutes after midnight) in the
    recipient's own time zone."""

    begin: int
    end: int


@dataclass(frozen=True, slots=True)
class Schedule:
    """One calling period, in ``time_zone``; times are seconds after midnight."""

    time_zone: str = "UTC"
    start_date: date | None = None
    stop_date: date | None = None
    start_time: int = 0
    stop_time: int = 24 * 3600
    days_of_week: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)  # Monday = 0


@dataclass(frozen=True, slots=True)
class Webhook:
    url: str
    secret: str = ""


@dataclass(frozen=True, slots=True)
class Simulation:
    seed: int = 0
    start: float | None = None  # epoch seconds of the virtual clock's start
    weights: tuple[tuple[str, float], ...] = (
        ("LA", 0.55),
        ("AM", 0.2),
        ("BUSY", 0.08),
        ("NO_ANS", 0.12),
        ("CARRIER_ERROR", 0.05),
    )
    #: caller inputs for answered calls without ``sim_inputs``: (inputs, weight)
    inputs: tuple[tuple[tuple[str, ...], float], ...] = (((), 1.0),)


@dataclass(frozen=True, slots=True)
class TextSettings:
    """A text campaign (``channel = "sms"``): the message and the replies to keywords."""

    message: str
    message_column: str = "message"
    big_message_strategy: str = "SEND_MULTIPLE"
    help_reply: str = "Reply STOP to stop receiving messages."
    stop_reply: str = (
        "You are unsubscribed and will receive no more messages. Reply START to resubscribe."
    )
    start_reply: str = "You are subscribed again. Reply STOP to stop."


TEXT_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("DELIVERED", 0.93),
    ("UNDELIVERED", 0.03),
    ("NO_RECEIPT", 0.01),
    ("CARRIER_ERROR", 0.01),
    ("CARRIER_TEMP_ERROR", 0.02),
)


@dataclass(frozen=True, slots=True)
class Campaign:
    name: str
    path: Path
    #: the dialplan file; ``None`` for a message campaign (``sounds``)
    dialplan: Path | None
    recipients: Path
    from_number: str = ""
    default_region: str = "US"
    phone_column: str = "phone_number"
    answering_machine_config: str = "AM_AND_LIVE"
    max_active: int = 10
    calls_per_second: float = 1.0
    retry: RetryConfig = field(default_factory=RetryConfig)
    local_time_restriction: LocalTimeRestriction | None = None
    default_time_zone: str = "UTC"
    schedules: tuple[Schedule, ...] = ()
    dnc: Path | None = None
    #: the campaigns whose ``<dnc>`` numbers this one skips (see ``add_account_dnc``): those of
    #: the same scope in the store — one per store by default, one per account in the service
    dnc_scope: str = ""
    scrub_duplicates: bool = True
    allowed_countries: tuple[str, ...] = ()
    custom_data: dict[str, Any] = field(default_factory=dict)
    webhook: Webhook | None = None
    allow_private: bool = False
    simulation: Simulation = field(default_factory=Simulation)
    #: the ``[sip]`` table for ``--driver sip`` (see ``dialplan.drivers.sip.config``)
    sip: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    #: ``voice`` (calls running ``dialplan``) or ``sms`` (texts: :attr:`text`)
    channel: str = "voice"
    text: TextSettings | None = None
    #: the ``[smpp]`` table (see :mod:`dialplan.messaging.smpp_config`): the SMSC of a text
    #: campaign's ``--driver smpp``, and of a voice campaign's ``<sms>`` on ``--driver sip``
    smpp: dict[str, Any] = field(default_factory=dict)
    #: the ``[sounds]`` table: a message campaign compiled into a dialplan (see .sounds_campaign)
    sounds: Sounds | None = None
    labels: tuple[str, ...] = ()
    #: ``false``: calls stop with the first calling day (see docs/sounds.md); the default
    #: ``true`` resumes on the next calling day, as every release before this key did
    resume_next_day: bool = True
    #: transfers in progress at once (``None``: no limit); see docs/sounds.md
    max_active_transfers: int | None = None
    #: the XML the calls run, as stored in a PostgreSQL campaign (see :mod:`.pg.sources`):
    #: used instead of reading ``dialplan`` or generating one from ``[sounds]``
    dialplan_xml: str | None = None

    @property
    def amd_enabled(self) -> bool:
        return self.answering_machine_config != "LIVE_IMMEDIATE"


class _Reader:
    """Typed access to one section (see :mod:`.campaign_keys`) with errors that name
    ``file: key``."""

    def __init__(
        self, path: Path, data: dict[str, Any], prefix: str = "", section: str = ""
    ) -> None:
        self.path = path
        self.data = data
        self.prefix = prefix
        self.section = section

    def fail(self, key: str, message: str) -> CampaignError:
        return CampaignError(f"{self.path}: {self.prefix}{key}: {message}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        known = section_keys(self.section)
        assert known is None or key.upper() in known or key in known, f"{self.section}.{key}?"
        if key not in self.data:
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            raise self.fail(key, f"expected {_kind_name(kinds)}, got a boolean")
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kinds):
            raise self.fail(key, f"expected {_kind_name(kinds)}, got {type(value).__name__}")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(key, f"expected a finite number, got {value}")
        return value

    def number(self, key: str, kind: type, default: float, low: float, high: float) -> Any:
        """A number between ``low`` and ``high`` (inclusive)."""
        value = self.get(key, kind, default)
        if not low <= value <= high:
            raise self.fail(key, f"must be between {_num(low)} and {_num(high)}, got {_num(value)}")
        return value

    def require(self, key: str, kind: type | tuple[type, ...]) -> Any:
        if key not in self.data:
            raise self.fail(key, "is required")
        return self.get(key, kind)

    def table(self, key: str) -> _Reader | None:
        value = self.get(key, dict)
        if value is None:
            return None
        child = f"{self.section}.{key}" if self.section else key
        return _Reader(self.path, value, f"{self.prefix}{key}.", child)


def _num(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _kind_name(kinds: tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}
    names |= {list: "a list", dict: "a table"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def parse_hhmm(text: str, reader: _Reader, key: str) -> int:
    """``"HH:MM"`` (or ``HH:MM:SS``) → seconds after midnight (``24:00`` allowed)."""
    m = _HHMM.match(text.strip())
    if not m or (m.group(1) == "24" and (m.group(2) != "00" or (m.group(3) or "00") != "00")):
        raise reader.fail(key, f"expected a time of day HH:MM, got {text!r}")
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3) or 0)


def _zone(name: str, reader: _Reader, key: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise reader.fail(key, f"unknown time zone {name!r}") from None
    return name


def _date(value: Any, reader: _Reader, key: str, latest: date) -> date:
    """A date between :data:`EARLIEST` and ``latest``."""
    day: date | None = None
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    elif isinstance(value, str):
        with contextlib.suppress(ValueError):
            day = date.fromisoformat(value)
    if day is None:
        raise reader.fail(key, f"expected a date YYYY-MM-DD, got {value!r}")
    if not EARLIEST <= day <= latest:
        raise reader.fail(key, f"must be between {EARLIEST} and {latest}, got {day}")
    return day


def _has_a_calling_day(s: Schedule) -> bool:
    assert s.start_date is not None and s.stop_date is not None
    span = min((s.stop_date - s.start_date).days + 1, 7)
    return any((s.start_date.weekday() + i) % 7 in s.days_of_week for i in range(span))


def _check_json(value: Any, reader: _Reader, key: str) -> None:
    """``value`` can be echoed in a webhook event as JSON (finite numbers, no TOML dates)."""
    if isinstance(value, dict):
        for k, v in value.items():
            _check_json(v, reader, f"{key}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_json(v, reader, f"{key}[{i}]")
    elif isinstance(value, float) and not math.isfinite(value):
        raise reader.fail(key, f"expected a finite number, got {value}")
    elif isinstance(value, date | time):
        raise reader.fail(
            key, f"dates and times are not JSON: write it as a string, {str(value)!r}"
        )


def _epoch(value: Any, reader: _Reader, key: str) -> float:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise reader.fail(key, f"expected an ISO 8601 date-time, got {value!r}") from None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        if not EARLIEST <= value.astimezone(UTC).date() <= LATEST:
            raise reader.fail(key, f"must be between {EARLIEST} and {LATEST}, got {value}")
        return value.timestamp()
    raise reader.fail(key, f"expected an ISO 8601 date-time, got {value!r}")


def read_campaign_data(path: Path, source: bytes | None = None) -> dict[str, Any]:
    """The parsed campaign file (``source``: its bytes as stored), not validated."""
    try:
        text = path.read_bytes() if source is None else source
    except OSError as exc:
        raise CampaignError(f"{path}: cannot read campaign file: {exc.strerror}") from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            data = tomllib.loads(text.decode("utf-8"))
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise CampaignError(f"{path}: not valid {kind}: {exc}") from None
    if not isinstance(data, dict):
        raise CampaignError(f"{path}: the campaign must be a table/object")
    return data


def load_campaign(path: str | Path, *, source: bytes | None = None) -> Campaign:
    """Read and validate a campaign file. ``source``: the file's bytes as stored in a
    PostgreSQL campaign (see :mod:`.pg.sources`); ``path`` then only names it, and the files it
    names are not looked for (a worker machine need not have them)."""
    path = Path(path)
    data = read_campaign_data(path, source)
    unknown = [f"{path}: {key}: {message}" for key, message in unknown_keys(data)]
    if unknown:
        raise CampaignError("\n".join(unknown))
    r = _Reader(path, data)
    base = path.parent

    def file_key(reader: _Reader, key: str, required: bool) -> Path | None:
        value = reader.require(key, str) if required else reader.get(key, str)
        if value is None:
            return None
        p = (base / value) if not Path(value).is_absolute() else Path(value)
        if source is None and not p.is_file():
            raise reader.fail(key, f"file not found: {p}")
        return p

    name = r.require("name", str).strip()
    if not name:
        raise r.fail("name", "must not be empty")
    channel = r.get("channel", str, "voice").lower()
    if channel not in CHANNELS:
        raise r.fail("channel", f"expected one of {', '.join(CHANNELS)}, got {channel!r}")
    sms = channel == "sms"
    for key in ("message", "message_column", "big_message_strategy", "messages_per_second"):
        if not sms and key in data:
            raise r.fail(key, 'only text campaigns have it (add channel = "sms")')
    if sms and "dialplan" in data:
        raise r.fail("dialplan", "a text campaign sends `message`, it runs no dialplan")
    sounds = None
    if (t := r.table("sounds")) is not None:
        if sms:
            raise r.fail("sounds", "a text campaign sends `message`, it plays no sounds")
        if "dialplan" in data:
            raise r.fail("sounds", "give a dialplan or a [sounds] table, not both")
        sounds = read_sounds(t)
    # a text campaign has no dialplan: its file stands in for it where a path is needed
    dialplan = path if sms else file_key(r, "dialplan", sounds is None)
    recipients = file_key(r, "recipients", True)
    dnc = file_key(r, "dnc", False)
    dnc_scope = r.get("dnc_scope", str, "")
    assert recipients is not None
    labels = r.get("labels", list, [])
    for i, label in enumerate(labels):
        if not isinstance(label, str) or not label.strip():
            raise r.fail(f"labels[{i}]", "expected a non-empty string")
    resume_next_day = r.get("resume_next_day", bool, True)
    max_transfers = r.get("max_active_transfers", int, None)
    if max_transfers is not None and not 1 <= max_transfers <= MAX_ACTIVE:
        raise r.fail("max_active_transfers", f"must be between 1 and {MAX_ACTIVE}")

    region = r.get("default_region", str, "US").upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise r.fail("default_region", f"unknown region {region!r}")
    from_number = r.get("from_number", str, "")
    amc = r.get("answering_machine_config", str, "AM_AND_LIVE").upper()
    if amc not in AM_CONFIGS:
        raise r.fail("answering_machine_config", f"expected one of {', '.join(AM_CONFIGS)}")
    max_active = r.number("max_active", int, 10, 1, MAX_ACTIVE)
    cps = r.number("calls_per_second", float, 1.0, MIN_CPS, MAX_CPS)
    if sms and "messages_per_second" in data:
        if "calls_per_second" in data:
            raise r.fail("messages_per_second", "give it or calls_per_second, not both")
        cps = r.number("messages_per_second", float, 1.0, MIN_CPS, MAX_CPS)
    retryable = TEXT_RETRYABLE if sms else RETRYABLE

    retry = RetryConfig(retry_results=("CARRIER_TEMP_ERROR",)) if sms else RetryConfig()
    if (t := r.table("retry_config")) is not None:
        max_attempts = t.number("max_attempts", int, 1, 1, MAX_ATTEMPTS)
        minutes = t.number("minutes_between_attempts", float, 60.0, 0, MAX_RETRY_MINUTES)
        results = t.get("retry_results", list, list(retry.retry_results))
        for item in results:
            if not isinstance(item, str) or item.upper() not in retryable:
                raise t.fail(
                    "retry_results", f"unknown result {item!r}; use {', '.join(retryable)}"
                )
        retry = RetryConfig(max_attempts, minutes, tuple(x.upper() for x in results))

    ltr = None
    if (t := r.table("local_time_restriction")) is not None:
        begin = parse_hhmm(t.require("begin", str), t, "begin") // 60
        end = parse_hhmm(t.require("end", str), t, "end") // 60
        if begin == end:
            raise t.fail("end", "must differ from begin")
        ltr = LocalTimeRestriction(begin, end)
    default_tz = _zone(r.get("default_time_zone", str, "UTC"), r, "default_time_zone")

    schedules = []
    raw_schedules = r.get("schedules", list, [])
    for i, item in enumerate(raw_schedules):
        if not isinstance(item, dict):
            raise r.fail(f"schedules[{i}]", "expected a table")
        t = _Reader(path, item, f"schedules[{i}].", "schedules[]")
        sd = t.get("start_date", (str, date), None)
        ed = t.get("stop_date", (str, date), None)
        days = t.get("days_of_week", list, list(DAYS))
        day_numbers = []
        for d in days:
            if not isinstance(d, str) or d.upper() not in DAYS:
                raise t.fail("days_of_week", f"unknown day {d!r}; use {', '.join(DAYS)}")
            day_numbers.append(DAYS.index(d.upper()))
        if not day_numbers:
            raise t.fail(
                "days_of_week", "is empty: nobody would ever be called (leave it out for every day)"
            )
        sched = Schedule(
            time_zone=_zone(t.get("time_zone", str, default_tz), t, "time_zone"),
            start_date=_date(sd, t, "start_date", LATEST) if sd is not None else None,
            stop_date=_date(ed, t, "stop_date", date.max) if ed is not None else None,
            start_time=parse_hhmm(t.get("start_time_of_day", str, "00:00"), t, "start_time_of_day"),
            stop_time=parse_hhmm(t.get("stop_time_of_day", str, "24:00"), t, "stop_time_of_day"),
            days_of_week=tuple(sorted(set(day_numbers))),
        )
        if sched.start_time >= sched.stop_time:
            raise t.fail("stop_time_of_day", "must be after start_time_of_day")
        if sched.start_date and sched.stop_date and sched.stop_date < sched.start_date:
            raise t.fail("stop_date", "must not be before start_date")
        if sched.start_date and sched.stop_date and not _has_a_calling_day(sched):
            raise t.fail(
                "days_of_week",
                f"none of them falls between {sched.start_date} and {sched.stop_date}:"
                " nobody would ever be called",
            )
        schedules.append(sched)

    allowed = r.get("allowed_countries", list, [])
    for c in allowed:
        if not isinstance(c, str) or c.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise r.fail(
                "allowed_countries", f"unknown region code {c!r} (use ISO codes: US, CA, …)"
            )
    custom_data = r.get("custom_data", dict, {})
    _check_json(custom_data, r, "custom_data")

    webhook = None
    if (t := r.table("webhook")) is not None:
        url = t.require("url", str)
        if not re.match(r"^https?://[^/\s]+", url):
            raise t.fail("url", f"expected an http(s) URL, got {url!r}")
        secret = t.require("secret", str)
        if not secret:
            raise t.fail("secret", "must not be empty (events are signed with it)")
        webhook = Webhook(url, secret)
    allow_private = False
    if (t := r.table("network")) is not None:
        allow_private = t.get("allow_private", bool, False)

    sim = Simulation(weights=TEXT_WEIGHTS) if sms else Simulation()
    sim_results = TEXT_SIM_RESULTS if sms else SIM_RESULTS
    if (t := r.table("simulation")) is not None:
        seed = t.get("seed", int, 0)
        start = t.get("start", (str, datetime), None)
        weights = sim.weights
        if (w := t.table("weights")) is not None:
            pairs = []
            for key in w.data:
                if key.upper() not in sim_results:
                    raise w.fail(key, f"unknown result; use {', '.join(sim_results)}")
                value = w.get(key, float)
                if value < 0:
                    raise w.fail(key, "must not be negative")
                pairs.append((key.upper(), value))
            if not pairs or sum(v for _, v in pairs) <= 0:
                raise t.fail("weights", "at least one weight must be positive")
            weights = tuple(pairs)
        inputs = sim.inputs
        if (w := t.table("inputs")) is not None:
            pairs2 = []
            for key in w.data:
                value = w.get(key, float)
                if value < 0:
                    raise w.fail(key, "must not be negative")
                pairs2.append((split_inputs(key), value))
            if not pairs2 or sum(v for _, v in pairs2) <= 0:
                raise t.fail("inputs", "at least one weight must be positive")
            inputs = tuple(pairs2)
        sim = Simulation(
            seed=seed,
            start=_epoch(start, t, "start") if start is not None else None,
            weights=weights,
            inputs=inputs,
        )

    phone_column = r.get("phone_column", str, "phone_number")
    scrub = r.get("scrub_duplicates", bool, True)
    sip = r.get("sip", dict, None) or {}
    if sip:
        from ..drivers.sip.config import from_mapping
        from ..errors import UsageError

        try:
            from_mapping(sip, path.parent)
        except UsageError as exc:
            raise r.fail("sip", str(exc).removeprefix("[sip] ").removeprefix("[sip]: ")) from None
    text = _text_settings(r, data) if sms else None
    if not sms and "text" in data:
        raise r.fail("text", 'only text campaigns have it (add channel = "sms")')
    smpp = r.get("smpp", dict, None) or {}
    try:
        from ..messaging.smpp_config import smpp_config

        smpp_config(smpp, "smpp")
    except ValueError as exc:
        raise CampaignError(f"{path}: {exc}") from None
    return Campaign(
        name=name,
        path=path,
        dialplan=dialplan,
        recipients=recipients,
        from_number=from_number,
        default_region=region,
        phone_column=phone_column,
        answering_machine_config=amc,
        max_active=max_active,
        calls_per_second=cps,
        retry=retry,
        local_time_restriction=ltr,
        default_time_zone=default_tz,
        schedules=tuple(schedules),
        dnc=dnc,
        dnc_scope=dnc_scope,
        scrub_duplicates=scrub,
        allowed_countries=tuple(c.upper() for c in allowed),
        custom_data=custom_data,
        webhook=webhook,
        allow_private=allow_private,
        simulation=sim,
        sip=dict(sip),
        raw=r.data,
        channel=channel,
        text=text,
        smpp=dict(smpp),
        sounds=sounds,
        labels=tuple(label.strip() for label in labels),
        resume_next_day=resume_next_day,
        max_active_transfers=max_transfers,
    )


def _text_settings(r: _Reader, data: dict[str, Any]) -> TextSettings:
    message = r.require("message", str)
    column = r.get("message_column", str, "message")
    strategy = r.get("big_message_strategy", str, "SEND_MULTIPLE").upper()
    if strategy not in BIG_MESSAGE_STRATEGIES:
        raise r.fail("big_message_strategy", f"expected one of {', '.join(BIG_MESSAGE_STRATEGIES)}")
    replies: dict[str, str] = {}
    if (t := r.table("text")) is not None:
        for key in ("help_reply", "stop_reply", "start_reply"):
            value = t.get(key, str)
            if value is not None:
                if not value.strip():
                    raise t.fail(key, "must not be empty")
                replies[key] = value
    if not r.get("from_number", str, "").strip():
        raise r.fail("from_number", "a text campaign needs the number it sends from")
    return TextSettings(message, column, strategy, **replies)


def split_inputs(text: str) -> tuple[str, ...]:
    """``"1;2;#"`` → ``("1", "2", "#")`` (as in ``dialplan simulate --inputs``)."""
    return tuple(part.strip() for part in text.split(";") if part.strip())


def start_of(campaign: Campaign, wall_now: float) -> float:
    """Where the virtual clock starts: ``[simulation] start``, else the earliest schedule
    start date, else ``wall_now``."""
    if campaign.simulation.start is not None:
        return campaign.simulation.start
    dates = [s for s in campaign.schedules if s.start_date is not None]
    if dates and len(dates) == len(campaign.schedules):
        first = min(dates, key=lambda s: s.start_date or date.max)
        assert first.start_date is not None
        local = datetime.combine(first.start_date, time(0), tzinfo=ZoneInfo(first.time_zone))
        return local.timestamp()
    return wall_now
