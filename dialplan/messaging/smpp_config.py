"""The ``[smpp]`` table of a text campaign: where the SMSC is and how to talk to it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True, slots=True)
class SmppConfig:
    host: str = "127.0.0.1"
    port: int = 2775
    system_id: str = ""
    password: str = ""
    system_type: str = ""
    #: submits awaiting their response at once (the SMPP window)
    window: int = 10
    #: seconds between checks that the session is alive (smpp34 itself sends enquire_link)
    liveness_s: float = 5.0
    #: reconnect backoff: first and longest wait (seconds), and how long to keep trying
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0
    reconnect_give_up_s: float = 300.0
    #: how often one segment is resubmitted after ESME_RTHROTTLED / ESME_RMSGQFUL
    throttle_retries: int = 20
    throttle_wait_s: float = 0.2
    #: seconds to wait for the delivery receipts still missing when the campaign ends
    receipt_wait_s: float = 5.0
    source_ton: int = -1  # -1: from the number (short code 3, E.164 1, else 5)
    source_npi: int = -1


KNOWN = frozenset(f.name for f in fields(SmppConfig))
_LIMITS: dict[str, tuple[float, float]] = {
    "port": (1, 65535),
    "window": (1, 1000),
    "liveness_s": (0.05, 3600),
    "reconnect_min_s": (0.01, 3600),
    "reconnect_max_s": (0.01, 3600),
    "reconnect_give_up_s": (0, 86400),
    "throttle_retries": (0, 10_000),
    "throttle_wait_s": (0, 3600),
    "receipt_wait_s": (0, 86400),
    "source_ton": (-1, 6),
    "source_npi": (-1, 18),
}


def smpp_config(data: Mapping[str, Any], where: str) -> SmppConfig:
    """Validate the table; every problem is ``ValueError("<where>.<key>: message")``."""
    values: dict[str, Any] = {}
    defaults = SmppConfig()
    for key, value in data.items():
        if key not in KNOWN:
            raise ValueError(f"{where}.{key}: unknown key")
        default = getattr(defaults, key)
        if isinstance(default, str):
            if not isinstance(value, str):
                raise ValueError(f"{where}.{key}: expected a string")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{where}.{key}: expected a number")
        elif isinstance(default, int) and not isinstance(value, int):
            raise ValueError(f"{where}.{key}: expected an integer")
        if key in _LIMITS:
            low, high = _LIMITS[key]
            if not low <= value <= high:
                raise ValueError(f"{where}.{key}: must be between {low:g} and {high:g}")
        values[key] = float(value) if isinstance(default, float) else value
    for key, limit in (("system_id", 15), ("password", 8), ("system_type", 12)):
        if len(values.get(key, "")) > limit:
            raise ValueError(f"{where}.{key}: at most {limit} characters (SMPP 3.4)")
    return SmppConfig(**values)
