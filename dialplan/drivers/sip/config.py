"""The ``[sip]`` settings (campaign file table or ``--sip-config`` TOML) → driver configuration.

```toml
[sip]
proxy = "127.0.0.1:5080"          # trunk / outbound proxy; numbers become sip:NUMBER@proxy
from_user = "15555550100"         # From user part (caller ID)
from_display = "Acme Clinic"
from_host = "acme.example"        # From domain (default: the local address)
local_host = "127.0.0.1"
local_port = 5070                 # 0 = any free port
rtp_ports = "20000-20999"
username = "acme"                 # digest credentials if the trunk challenges (401/407)
password = "secret"
transfer_uri = "sip:{number}@127.0.0.1:5080"
ring_timeout_s = 30                # ring this long, then CANCEL
rtp_timeout_s = 30                 # no RTP from the callee this long → BYE
max_duration_s = 14400             # answered calls end (BYE) after this long (spec §2.6: 4 h)
t1_s = 0.5                         # RFC 3261 T1; no response → give up after 64·T1
amd_mode = "auto"                 # auto (plans with <amd>), always, never
recordings_dir = "recordings"
prompt_cache_dir = "~/.cache/dialplan/prompts"
sounds_dir = "sounds"             # <play type="callfireid">ID</play> → sounds/ID.wav

[sip.amd]                         # Asterisk-AMD-style thresholds (see dialplan.drivers.sip.amd)
initial_silence_ms = 2500
greeting_ms = 1500
after_greeting_silence_ms = 800
total_analysis_ms = 5000
min_word_ms = 100
between_words_silence_ms = 50
maximum_words = 3
```
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ...engine.context import MAX_DURATION_S
from ...errors import UsageError
from .amd import AmdConfig
from .driver import DriverOptions
from .tts import PromptCache
from .ua import SipConfig

_STR = (
    "proxy",
    "from_user",
    "from_display",
    "from_host",
    "local_host",
    "username",
    "password",
    "transfer_uri",
)
_NUM = ("ring_timeout_s", "rtp_timeout_s", "max_duration_s", "t1_s")
#: the [sip] key of each SipConfig field whose name differs
_FIELDS = {"t1_s": "t1"}
_PATHS = ("recordings_dir", "prompt_cache_dir", "sounds_dir")
KNOWN = {*_STR, *_NUM, *_PATHS, "local_port", "rtp_ports", "amd_mode", "amd"}


def parse_port_range(text: str) -> tuple[int, int]:
    low, sep, high = str(text).partition("-")
    if not sep or not low.strip().isdigit() or not high.strip().isdigit():
        raise UsageError(f"bad port range {text!r}: use LOW-HIGH, e.g. 20000-20999")
    lo, hi = int(low), int(high)
    if not 1024 <= lo < hi <= 65535:
        raise UsageError(f"bad port range {text!r}: need 1024 ≤ LOW < HIGH ≤ 65535")
    return lo, hi


def from_mapping(
    data: Mapping[str, Any], base: Path | None = None
) -> tuple[SipConfig, DriverOptions]:
    """Build the configuration from a ``[sip]`` table (raises :class:`UsageError`)."""
    unknown = set(data) - KNOWN
    if unknown:
        raise UsageError(f"[sip]: unknown key(s): {', '.join(sorted(unknown))}")
    base = base or Path.cwd()
    cfg = SipConfig()
    options = DriverOptions()
    for key in _STR:
        if key in data:
            if not isinstance(data[key], str):
                raise UsageError(f"[sip] {key}: must be a string")
            setattr(cfg, key, data[key])
    for key in _NUM:
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise UsageError(f"[sip] {key}: must be a positive number")
            setattr(cfg, _FIELDS.get(key, key), float(value))
    if cfg.max_duration_s > MAX_DURATION_S:
        raise UsageError(
            f"[sip] max_duration_s: at most {MAX_DURATION_S:g} (the engine's limit, spec §2.6)"
        )
    if "local_port" in data:
        port = data["local_port"]
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise UsageError("[sip] local_port: must be a port number (0 = any)")
        cfg.local_port = port
    if "rtp_ports" in data:
        cfg.rtp_ports = parse_port_range(data["rtp_ports"])
    if "amd_mode" in data:
        if data["amd_mode"] not in ("auto", "always", "never"):
            raise UsageError("[sip] amd_mode: use auto, always or never")
        options.amd_mode = data["amd_mode"]
    if "amd" in data:
        if not isinstance(data["amd"], Mapping):
            raise UsageError("[sip.amd] must be a table")
        try:
            options.amd = AmdConfig.from_mapping(dict(data["amd"]))
        except ValueError as exc:
            raise UsageError(f"[sip.amd] {exc}") from None
    for key in _PATHS:
        if key in data:
            if not isinstance(data[key], str):
                raise UsageError(f"[sip] {key}: must be a path string")
            path = Path(data[key]).expanduser()
            path = path if path.is_absolute() else base / path
            if key == "prompt_cache_dir":
                options.prompt_cache = PromptCache(path)
            else:
                setattr(options, key, path)
    return cfg, options


def load_file(path: Path) -> tuple[SipConfig, DriverOptions]:
    """Read the ``[sip]`` table of a TOML file (a campaign file or a separate one)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    table = data.get("sip", {})
    if not isinstance(table, dict):
        raise UsageError(f"{path}: [sip] must be a table")
    return from_mapping(table, path.parent)


def with_overrides(cfg: SipConfig, **values: Any) -> SipConfig:
    """``cfg`` with the given (non-None) fields replaced (command-line options win)."""
    return replace(cfg, **{k: v for k, v in values.items() if v is not None})
