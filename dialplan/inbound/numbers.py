"""The number configuration (``numbers.toml``): which dialplan answers which number, and how.

```toml
blacklist = ["15550000666"]            # callers refused (603) on every number

[sip]                                  # the [sip] table of docs/sip.md (listen address, trunk
local_port = 5060                      # for bridged transfer legs, prompt cache, recordings …)

[auth]                                 # optional: the trunk must answer a digest challenge
username = "trunk"
password = "secret"
realm = "dialplan"

[webhook]                              # optional: signed ringing/connected/disconnected events
url = "https://hooks.example/inbound"
secret = "s3cret"
allow_private = false

[numbers."15551234567"]
dialplan = "main-menu.xml"             # relative to this file
variables = { office = "Springfield" } # preset ${office}
max_concurrent = 10                    # 486 Busy Here beyond it (default 10)
answer_after_s = 0                     # ring this long before answering (default 0)
transfer = "bridge"                    # bridge (whisper, hold music, continue-after) or refer
blacklist = ["15550000777"]            # callers refused on this number

[numbers."15551234567".hours]          # business hours; outside them out_of_hours answers
zone = "America/New_York"
weekdays = "09:00-17:00"               # also: mon … sun, weekend, daily; "09:00-12:00,13:00-17:00"
sat = "10:00-14:00"
out_of_hours = "closed.xml"            # absent: calls outside the hours get 480
```

Every error is one line naming the file and the key, and unknown keys say what was meant.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..drivers.sip import config as sipconfig
from ..drivers.sip.driver import DriverOptions
from ..drivers.sip.ua import SipConfig
from ..errors import InvalidDialplan, UsageError
from ..model import Plan

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_GROUPS = {"weekdays": DAYS[:5], "weekend": DAYS[5:], "daily": DAYS}
TOP_KEYS = ("blacklist", "sip", "auth", "webhook", "numbers")
NUMBER_KEYS = (
    "dialplan",
    "variables",
    "max_concurrent",
    "answer_after_s",
    "transfer",
    "blacklist",
    "hours",
    "name",
)
HOURS_KEYS = ("zone", "out_of_hours", *DAYS, *_DAY_GROUPS)
AUTH_KEYS = ("username", "password", "realm")
WEBHOOK_KEYS = ("url", "secret", "allow_private")
TRANSFER_MODES = ("bridge", "refer")


@dataclass(frozen=True)
class BusinessHours:
    """Open periods per weekday (0 = Monday) in ``zone``; ``out_of_hours`` answers otherwise."""

    zone: ZoneInfo
    periods: Mapping[int, tuple[tuple[time, time], ...]]
    out_of_hours: Plan | None = None
    out_of_hours_path: str = ""

    def is_open(self, when: datetime) -> bool:
        local = when.astimezone(self.zone)
        now = local.time()
        return any(start <= now < end for start, end in self.periods.get(local.weekday(), ()))


@dataclass(frozen=True)
class NumberConfig:
    number: str
    plan: Plan
    dialplan_path: str
    name: str = ""
    variables: Mapping[str, str] = field(default_factory=dict)
    max_concurrent: int = 10
    answer_after_s: float = 0.0
    transfer: str = "bridge"
    blacklist: frozenset[str] = frozenset()
    hours: BusinessHours | None = None

    def plan_at(self, when: datetime) -> tuple[Plan | None, str, bool]:
        """(plan, its path, out of hours?) for a call at ``when``; plan None = closed."""
        if self.hours is None or self.hours.is_open(when):
            return self.plan, self.dialplan_path, False
        return self.hours.out_of_hours, self.hours.out_of_hours_path, True


@dataclass(frozen=True)
class AuthConfig:
    username: str
    password: str
    realm: str = "dialplan"


@dataclass(frozen=True)
class WebhookConfig:
    url: str
    secret: str
    allow_private: bool = False


@dataclass(frozen=True)
class NumbersFile:
    path: Path
    numbers: Mapping[str, NumberConfig]
    blacklist: frozenset[str] = frozenset()
    sip: SipConfig = field(default_factory=SipConfig)
    options: DriverOptions = field(default_factory=DriverOptions)
    auth: AuthConfig | None = None
    webhook: WebhookConfig | None = None

    def lookup(self, called: str) -> NumberConfig | None:
        """The configuration of a called number (Request-URI or To user part)."""
        for key in number_keys(called):
            config = self.numbers.get(key)
            if config is not None:
                return config
        return None

    def blacklisted(self, config: NumberConfig, caller: str) -> bool:
        keys = set(number_keys(caller))
        return bool(keys & (self.blacklist | config.blacklist))


def number_keys(text: str) -> list[str]:
    """The spellings a number is looked up by: digits only (``+1 555…`` → ``1555…``), and a
    10-digit NANP number with and without its leading 1; a non-numeric user part as it is."""
    digits = "".join(c for c in text if c.isdigit())
    if not digits or any(c.isalpha() for c in text):
        return [text.strip()]
    keys = [digits]
    if len(digits) == 11 and digits.startswith("1"):
        keys.append(digits[1:])
    elif len(digits) == 10:
        keys.append("1" + digits)
    return keys


class _Reader:
    """Checks one file's values; every error is ``FILE: KEY: problem``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> UsageError:
        return UsageError(f"{self.path}: {key}: {problem}")

    def unknown(self, table: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
        for key in table:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise self.fail(f"{where}{key}", f"unknown key{hint}")

    def table(self, value: Any, key: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(key, "must be a table")
        return value

    def text(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "must be a non-empty string")
        return value

    def numbers_list(self, value: Any, key: str) -> frozenset[str]:
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            raise self.fail(key, "must be a list of phone numbers")
        out: set[str] = set()
        for item in value:
            out.update(number_keys(str(item)))
        return frozenset(out)

    def plan(self, value: Any, key: str) -> tuple[Plan, str]:
        from .._api import load

        name = self.text(value, key)
        path = Path(name).expanduser()
        path = path if path.is_absolute() else self.path.parent / path
        if not path.is_file():
            raise self.fail(key, f"dialplan file {str(path)!r} not found")
        try:
            return load(str(path)), str(path)
        except InvalidDialplan as exc:
            raise self.fail(key, str(exc)) from None

    def hours(self, value: Any, where: str) -> BusinessHours:
        table = self.table(value, where.rstrip("."))
        self.unknown(table, HOURS_KEYS, where)
        zone_name = self.text(table.get("zone"), f"{where}zone") if "zone" in table else None
        if zone_name is None:
            raise self.fail(f"{where}zone", "required (an IANA time zone, e.g. America/New_York)")
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail(f"{where}zone", f"unknown time zone {zone_name!r}") from None
        periods: dict[int, list[tuple[time, time]]] = {}
        for key, days in (*_DAY_GROUPS.items(), *((d, (d,)) for d in DAYS)):
            if key not in table:
                continue
            ranges = self.ranges(table[key], f"{where}{key}")
            for day in days:
                periods[DAYS.index(day)] = ranges  # a single day overrides its group
        plan, path = (None, "")
        if "out_of_hours" in table:
            plan, path = self.plan(table["out_of_hours"], f"{where}out_of_hours")
        if not periods:
            raise self.fail(where.rstrip("."), "no open hours given (mon … sun, weekdays, daily)")
        return BusinessHours(zone, {d: tuple(r) for d, r in periods.items()}, plan, path)

    def ranges(self, value: Any, key: str) -> list[tuple[time, time]]:
        text = self.text(value, key)
        out = []
        for part in text.split(","):
            start, sep, end = part.strip().partition("-")
            try:
                if not sep:
                    raise ValueError
                begin = time.fromisoformat(start.strip())
                finish = (
                    time.max
                    if end.strip() in ("24:00", "24:00:00")
                    else time.fromisoformat(end.strip())
                )
            except ValueError:
                raise self.fail(key, f"bad hours {part.strip()!r}: use HH:MM-HH:MM") from None
            if finish <= begin:
                raise self.fail(key, f"bad hours {part.strip()!r}: the end is not after the start")
            out.append((begin, finish))
        return out

    def number(self, number: str, value: Any) -> NumberConfig:
        where = f'numbers."{number}".'
        table = self.table(value, where.rstrip("."))
        self.unknown(table, NUMBER_KEYS, where)
        if "dialplan" not in table:
            raise self.fail(f"{where}dialplan", "required (the dialplan XML file)")
        plan, path = self.plan(table["dialplan"], f"{where}dialplan")
        variables = self.table(table.get("variables", {}), f"{where}variables")
        for name, v in variables.items():
            if isinstance(v, dict | list | bool):
                raise self.fail(f"{where}variables.{name}", "must be a string or a number")
        max_concurrent = table.get("max_concurrent", 10)
        if isinstance(max_concurrent, bool) or not isinstance(max_concurrent, int):
            raise self.fail(f"{where}max_concurrent", "must be a positive integer")
        if max_concurrent < 1:
            raise self.fail(f"{where}max_concurrent", "must be a positive integer")
        answer_after = table.get("answer_after_s", 0)
        if isinstance(answer_after, bool) or not isinstance(answer_after, int | float):
            raise self.fail(f"{where}answer_after_s", "must be a number of seconds")
        if not 0 <= answer_after <= 300:
            raise self.fail(f"{where}answer_after_s", "must be between 0 and 300 seconds")
        transfer = table.get("transfer", "bridge")
        if transfer not in TRANSFER_MODES:
            raise self.fail(f"{where}transfer", "must be 'bridge' or 'refer'")
        return NumberConfig(
            number=number,
            plan=plan,
            dialplan_path=path,
            name=str(table.get("name", "")),
            variables={str(k): str(v) for k, v in variables.items()},
            max_concurrent=max_concurrent,
            answer_after_s=float(answer_after),
            transfer=transfer,
            blacklist=self.numbers_list(table.get("blacklist", []), f"{where}blacklist"),
            hours=self.hours(table["hours"], f"{where}hours.") if "hours" in table else None,
        )


def load_numbers(path: Path) -> NumbersFile:
    """Read and check ``numbers.toml`` (raises :class:`UsageError`, exit 2, one line)."""
    reader = _Reader(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None
    reader.unknown(data, TOP_KEYS, "")
    numbers_table = reader.table(data.get("numbers", {}), "numbers")
    if not numbers_table:
        raise reader.fail("numbers", 'no numbers configured (add [numbers."NUMBER"])')
    numbers: dict[str, NumberConfig] = {}
    for number, value in numbers_table.items():
        config = reader.number(number, value)
        for key in number_keys(number):
            if key in numbers and numbers[key].number != number:
                raise reader.fail(
                    f'numbers."{number}"', f"the same number as {numbers[key].number!r}"
                )
            numbers[key] = config
    auth = None
    if "auth" in data:
        table = reader.table(data["auth"], "auth")
        reader.unknown(table, AUTH_KEYS, "auth.")
        auth = AuthConfig(
            reader.text(table.get("username"), "auth.username"),
            reader.text(table.get("password"), "auth.password"),
            reader.text(table.get("realm", "dialplan"), "auth.realm"),
        )
    webhook = None
    if "webhook" in data:
        table = reader.table(data["webhook"], "webhook")
        reader.unknown(table, WEBHOOK_KEYS, "webhook.")
        url = reader.text(table.get("url"), "webhook.url")
        if not url.startswith(("http://", "https://")):
            raise reader.fail("webhook.url", "must be an http:// or https:// URL")
        allow = table.get("allow_private", False)
        if not isinstance(allow, bool):
            raise reader.fail("webhook.allow_private", "must be true or false")
        webhook = WebhookConfig(url, reader.text(table.get("secret"), "webhook.secret"), allow)
    sip = reader.table(data.get("sip", {}), "sip")
    try:
        sip_config, options = sipconfig.from_mapping(sip, path.parent)
    except UsageError as exc:
        raise UsageError(f"{path}: {exc}") from None
    return NumbersFile(
        path=path,
        numbers=numbers,
        blacklist=reader.numbers_list(data.get("blacklist", []), "blacklist"),
        sip=sip_config,
        options=options,
        auth=auth,
        webhook=webhook,
    )
