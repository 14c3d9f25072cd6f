"""The keys a campaign file may hold, per section, and the check that reports every unknown one.

This table is the one list of keys: the campaign reader refuses to read a key that is not in
it (see ``_Reader.get``), so the two cannot drift apart.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from typing import Any

from .sounds_config import SOUND_KEYS

#: section path → its keys; ``None`` means "any key" (free-form tables).
#: ``schedules[]`` is every element of the ``schedules`` list.
SECTIONS: dict[str, frozenset[str] | None] = {
    "": frozenset(
        {
            "name",
            "dialplan",
            "recipients",
            "dnc",
            "dnc_scope",
            "from_number",
            "default_region",
            "phone_column",
            "answering_machine_config",
            "max_active",
            "calls_per_second",
            "retry_config",
            "local_time_restriction",
            "default_time_zone",
            "schedules",
            "scrub_duplicates",
            "allowed_countries",
            "custom_data",
            "webhook",
            "network",
            "simulation",
            "sip",
            # text campaigns (channel = "sms", docs/sms.md)
            "channel",
            "message",
            "message_column",
            "big_message_strategy",
            "messages_per_second",
            "text",
            "smpp",
            "sounds",
            "labels",
            "resume_next_day",
            "max_active_transfers",
        }
    ),
    "sounds": SOUND_KEYS,
    "retry_config": frozenset({"max_attempts", "minutes_between_attempts", "retry_results"}),
    "local_time_restriction": frozenset({"begin", "end"}),
    "schedules[]": frozenset(
        {
            "start_date",
            "stop_date",
            "start_time_of_day",
            "stop_time_of_day",
            "days_of_week",
            "time_zone",
        }
    ),
    "webhook": frozenset({"url", "secret"}),
    "network": frozenset({"allow_private"}),
    "simulation": frozenset({"seed", "start", "weights", "inputs"}),
    "simulation.weights": frozenset(
        {"LA", "AM", "BUSY", "NO_ANS", "CARRIER_ERROR"}
        | {"DELIVERED", "UNDELIVERED", "CARRIER_TEMP_ERROR", "NO_RECEIPT"}
    ),
    "text": frozenset({"help_reply", "stop_reply", "start_reply"}),
    "simulation.inputs": None,
    "custom_data": None,
}


def _sip_keys() -> frozenset[str]:
    from ..drivers.sip.config import KNOWN

    return frozenset(KNOWN)


def _sip_amd_keys() -> frozenset[str]:
    from dataclasses import fields

    from ..drivers.sip.amd import AmdConfig

    return frozenset(f.name for f in fields(AmdConfig))


def section_keys(section: str) -> frozenset[str] | None:
    """The keys of ``section`` (``None``: any key). Unlisted sections are free-form."""
    if section == "sip":
        return _sip_keys()
    if section == "sip.amd":
        return _sip_amd_keys()
    if section == "smpp":
        from ..messaging.smpp_config import KNOWN as smpp_keys

        return smpp_keys
    return SECTIONS.get(section)


def _suggest(key: str, known: frozenset[str]) -> str:
    by_lower = {k.lower(): k for k in known}
    if key.lower() in by_lower:  # only the case differs
        return f" (did you mean {by_lower[key.lower()]!r}?)"
    close = difflib.get_close_matches(key.lower(), sorted(by_lower), n=1, cutoff=0.6)
    return f" (did you mean {by_lower[close[0]]!r}?)" if close else ""


def _elsewhere(key: str, section: str) -> str:
    """`` (it belongs in [retry_config])`` for a key of another section."""
    homes = [
        f"[[{name[:-2]}]]" if name.endswith("[]") else f"[{name}]" if name else "the top level"
        for name, keys in SECTIONS.items()
        if name != section and keys is not None and key in keys and name != "simulation.weights"
    ]
    return f" (it belongs in {' or '.join(homes)})" if homes else ""


def unknown_keys(data: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """``(key path, message)`` for every unknown key at any depth, in file order."""
    yield from _walk(data, "", "")


def _walk(data: Mapping[str, Any], section: str, prefix: str) -> Iterator[tuple[str, str]]:
    known = section_keys(section)
    if known is None:
        return
    case_insensitive = section == "simulation.weights"
    for key, value in data.items():
        if key not in known and not (case_insensitive and key.upper() in known):
            yield f"{prefix}{key}", f"unknown key{_elsewhere(key, section) or _suggest(key, known)}"
            continue
        child = f"{section}.{key}" if section else key
        if isinstance(value, dict) and (child in SECTIONS or child in ("sip", "sip.amd", "smpp")):
            yield from _walk(value, child, f"{prefix}{key}.")
        elif key == "schedules" and not section and isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    yield from _walk(item, "schedules[]", f"schedules[{i}].")
