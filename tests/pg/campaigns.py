"""Scripted campaigns for the PostgreSQL worker tests: every outcome is in the CSV.

Each recipient's ``sim_result`` fixes the result of every attempt, so the final results depend
only on the retry policy — any number of workers in any interleaving must end where the
single-process SQLite run ends.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.broadcast.helpers import write_campaign

AREAS = ("212", "312", "415", "808", "303", "907")
#: no contact fields: the engine's cache answers most calls (the test is about the workers)
PLAN = """<dialplan name="T">
  <amd><live><play type="tts">Hello from the food bank</play></live>
  <machine><play type="tts">Sorry we missed you</play></machine></amd>
</dialplan>
"""
SCRIPT = ("LA", "LA", "AM", "BUSY", "NO_ANS", "LA", "CARRIER_ERROR", "LA", "BUSY", "AM", "LA")


def rows(n: int, script: tuple[str, ...] = SCRIPT) -> list[dict[str, str]]:
    return [
        {
            "phone_number": f"({AREAS[i % 6]}) {200 + (i // 10000) % 800:03d}-{i % 10000:04d}",
            "first": f"n{i}",
            "sim_result": script[(i * 7) % len(script)],
        }
        for i in range(n)
    ]


def scripted(
    tmp: Path,
    n: int,
    *,
    cps: float = 100,
    max_active: int = 400,
    webhook: str | None = None,
    retry_results: tuple[str, ...] = ("BUSY", "NO_ANS", "INTERNAL_ERROR"),
    script: tuple[str, ...] = SCRIPT,
    **top: Any,
) -> Path:
    """A campaign of ``n`` scripted recipients (three attempts, retries a minute apart)."""
    tables: dict[str, dict[str, Any]] = {
        "retry_config": {
            "max_attempts": 3,
            "minutes_between_attempts": 1,
            "retry_results": list(retry_results),
        },
        "simulation": {"seed": 7, "start": "2026-12-01T15:00:00Z"},
    }
    if webhook is not None:
        tables["webhook"] = {"url": webhook, "secret": "s3cret"}
        tables["network"] = {"allow_private": True}
    path = write_campaign(
        tmp, rows(n, script), name="scripted", max_active=max_active, calls_per_second=cps, tables=tables,
        **top,
    )  # fmt: skip
    (tmp / "plan.xml").write_text(PLAN)
    return path
