"""Test helpers: campaign files in a temp dir, and a small fake dialplan runner."""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dialplan.broadcast.campaign import Campaign, load_campaign
from dialplan.broadcast.reporting.stats import export_rows
from dialplan.broadcast.store.sqlite import Store
from dialplan.broadcast.telephony.port import CallSpec, CallSummary

PLAN = """<dialplan name="T">
  <amd><live><play type="tts">Hi ${contact.first}</play></live>
  <machine><play type="tts">Sorry we missed you</play></machine></amd>
</dialplan>
"""


def fake_runner(spec: CallSpec) -> CallSummary:
    """Machines hear a 10 s message; a live ``1`` is transferred (30 s) after stashing
    ``tickets=yes``; a live ``2`` stashes ``volunteer=yes``; ``9`` opts out (DNC)."""
    if spec.amd == "machine":
        return CallSummary("hangup", 10.0, (), (("vm", "message"),))
    first = spec.inputs[0] if spec.inputs else ""
    if first == "1":
        return CallSummary("transfer", 30.0, (("tickets", "yes"),), (("Greeting", "hi"),))
    if first == "2":
        return CallSummary("hangup", 15.0, (("volunteer", "yes"),), (("Greeting", "hi"),))
    if first == "9":
        number = spec.variables["call.phonenumber"]
        return CallSummary("hangup", 8.0, (("optout", "yes"),), (("Greeting", "hi"),), (number,))
    return CallSummary("hangup", 20.0, (), (("Greeting", "hi"),))


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return str(value)


def write_campaign(
    tmp: Path,
    rows: Sequence[dict[str, str]],
    *,
    name: str = "test",
    tables: dict[str, dict[str, Any]] | None = None,
    schedules: Sequence[dict[str, Any]] = (),
    dnc: Sequence[str] | None = None,
    **top: Any,
) -> Path:
    """A campaign TOML + recipients CSV (+ DNC list) in ``tmp``; returns the TOML path."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "plan.xml").write_text(PLAN)
    columns: list[str] = []
    for r in rows:
        for k in r:
            if k not in columns:
                columns.append(k)
    with (tmp / "recipients.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, columns)
        w.writeheader()
        w.writerows(rows)
    lines = [
        f"name = {toml_value(name)}",
        'dialplan = "plan.xml"',
        'recipients = "recipients.csv"',
        'from_number = "+12125550100"',
    ]
    if dnc is not None:
        (tmp / "dnc.txt").write_text("\n".join(dnc) + "\n")
        lines.append('dnc = "dnc.txt"')
    for k, v in top.items():
        lines.append(f"{k} = {toml_value(v)}")
    tables = {"simulation": {"seed": 1, "start": "2026-12-01T12:00:00Z"}, **(tables or {})}
    for table, values in tables.items():
        lines.append(f"[{table}]")
        for k, v in values.items():
            if isinstance(v, dict):
                inner = ", ".join(f"{json.dumps(a)} = {toml_value(b)}" for a, b in v.items())
                lines.append(f"{k} = {{ {inner} }}")
            else:
                lines.append(f"{k} = {toml_value(v)}")
    for s in schedules:
        lines.append("[[schedules]]")
        for k, v in s.items():
            lines.append(f"{k} = {toml_value(v)}")
    path = tmp / "campaign.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def campaign(tmp: Path, rows: Sequence[dict[str, str]], **kw: Any) -> Campaign:
    return load_campaign(write_campaign(tmp, rows, **kw))


#: the crash and lease tests' campaign
N = 2500
MAX_ATTEMPTS = 3


def crash_campaign(tmp: Path) -> Path:
    """Retries, a DNC list, a webhook: what a kill -9 could break (N + 2 rows)."""
    rows = [
        {"phone_number": f"({('212', '312', '415', '808')[i % 4]}) 555-{i:04d}", "first": f"n{i}"}
        for i in range(N)
    ]
    rows += [
        {"phone_number": "(212) 555-0007", "first": "dup"},
        {"phone_number": "99", "first": "bad"},
    ]
    return write_campaign(
        tmp,
        rows,
        dnc=["2125550100", "4155550102"],
        max_active=20,
        calls_per_second=5,
        tables={
            "retry_config": {
                "max_attempts": MAX_ATTEMPTS,
                "minutes_between_attempts": 20,
                "retry_results": ["BUSY", "NO_ANS", "CARRIER_ERROR"],
            },
            "local_time_restriction": {"begin": "09:00", "end": "21:00"},
            "webhook": {"url": "http://127.0.0.1:9/hook", "secret": "k"},
            "network": {"allow_private": True},
            "simulation": {"seed": 3, "start": "2026-12-01T12:00:00Z"},
        },
    )


def count(db: Path, sql: str) -> int:
    """One number from ``sql`` on ``db`` (0 while the file or table is not there yet)."""
    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(db, timeout=5)
        try:
            return int(con.execute(sql).fetchone()[0])
        finally:
            con.close()
    except sqlite3.OperationalError:
        return 0


def snapshot(db: Path) -> tuple[list[dict[str, Any]], list[tuple[str, bytes]]]:
    """Every recipient's export row, and the outbox events (id, body)."""
    store = Store(db)
    try:
        rows = list(export_rows(store, "test"))
        events = sorted(
            (e, bytes(b)) for e, b in store.db.execute("SELECT event_id, body FROM outbox")
        )
        return rows, events
    finally:
        store.close()
