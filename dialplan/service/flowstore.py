"""Stored flows: versioned dialplans of one account, checked by the linter before they are kept."""

from __future__ import annotations

import json
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from .._api import lint
from ..diagnostics import Diagnostic
from ..model import Plan, build_plan
from ..parse import ParseFailure, parse, read_source
from .problems import ProblemError
from .sql import ServiceDatabase as Database
from .storage import now


@dataclass(frozen=True, slots=True)
class FlowVersion:
    """One stored version of a flow."""

    flow_id: str
    name: str
    version: int
    format: str
    source: str
    findings: list[dict[str, Any]]
    created_at: float

    def plan(self) -> Plan:
        """The model of this version (stored versions passed the linter, so they build)."""
        return _plan(self.flow_id, self.version, source_name(self.name, self.format), self.source)


FORMATS = ("xml", "yaml")


def source_name(name: str, format: str) -> str:
    """The file name a flow's source is read (and its findings reported) under: a Callr YAML
    scenario is recognised by its ``.yaml`` name (:func:`dialplan.callr.is_yaml`)."""
    if format == "yaml" and not name.lower().endswith((".yaml", ".yml")):
        return f"{name}.yaml"
    return name


#: Models of recently used versions: versions never change, and reusing one Plan object also
#: lets the engine reuse its compiled program (``engine.program.program_for`` caches by plan).
_PLANS: OrderedDict[tuple[str, int], Plan] = OrderedDict()
_PLANS_MAX = 32
_PLANS_LOCK = threading.Lock()


def _plan(flow_id: str, version: int, name: str, source: str) -> Plan:
    key = (flow_id, version)
    with _PLANS_LOCK:
        if key in _PLANS:
            _PLANS.move_to_end(key)
            return _PLANS[key]
    try:
        plan = build_plan(parse(read_source(source.encode("utf-8"), name)))
    except ParseFailure as failure:  # pragma: no cover - refused at upload
        raise ProblemError(422, "invalid-dialplan", str(failure.diagnostic.message)) from None
    with _PLANS_LOCK:
        plan = _PLANS.setdefault(key, plan)
        while len(_PLANS) > _PLANS_MAX:
            _PLANS.popitem(last=False)
    return plan


def checked_findings(name: str, source: str, format: str = "xml") -> list[dict[str, Any]]:
    """Every lint finding of ``source`` as JSON objects; a 422 problem listing them when any is
    an error. ``format``: ``xml`` (CallFire) or ``yaml`` (a Callr Actions scenario)."""
    try:
        data = source.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ProblemError(
            422, "invalid-request", f"{format}: not encodable as UTF-8 ({exc.reason})"
        ) from None
    # bytes, never str: a str that does not look like XML would be read as a *path*
    found: list[Diagnostic] = lint(data, source_name(name, format))
    findings = [d.to_dict() for d in found]
    errors = [d for d in found if d.severity.name == "ERROR"]
    if errors:
        first = errors[0]
        more = f" (+{len(errors) - 1} more errors)" if len(errors) > 1 else ""
        raise ProblemError(
            422,
            "invalid-dialplan",
            f"{first.file}:{first.line}:{first.column}: {first.code} {first.message}{more}",
            diagnostics=findings,
        )
    return findings


def create_flow(
    db: Database, account: str, name: str, xml: str, format: str = "xml"
) -> FlowVersion:
    """Check and store a new flow (version 1); ``xml`` is the source in ``format``."""
    findings = checked_findings(name, xml, format)
    flow_id = "flw_" + secrets.token_hex(8)
    created = now()
    with db.write() as conn:
        conn.execute(
            "INSERT INTO flows (id, account, name, created_at) VALUES (?, ?, ?, ?)",
            (flow_id, account, name, created),
        )
        conn.execute(
            "INSERT INTO flow_versions (flow_id, version, format, source, findings, created_at)"
            " VALUES (?, 1, ?, ?, ?, ?)",
            (flow_id, format, xml, json.dumps(findings), created),
        )
    return FlowVersion(flow_id, name, 1, format, xml, findings, created)


def add_version(
    db: Database, account: str, flow_id: str, xml: str, format: str = "xml"
) -> FlowVersion:
    """Check and store the next version of an existing flow (in either format)."""
    name = flow_name(db, account, flow_id)
    findings = checked_findings(name, xml, format)
    created = now()
    with db.write() as conn:
        version = conn.execute(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM flow_versions WHERE flow_id = ?",
            (flow_id,),
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO flow_versions (flow_id, version, format, source, findings, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (flow_id, version, format, xml, json.dumps(findings), created),
        )
    return FlowVersion(flow_id, name, version, format, xml, findings, created)


def _not_found(flow_id: str) -> ProblemError:
    return ProblemError(404, "not-found", f"no flow {flow_id!r}")


def flow_name(db: Database, account: str, flow_id: str) -> str:
    """The flow's name; 404 when the account has no such flow (other accounts' flows included)."""
    with db.connect() as conn:
        row = conn.execute(
            "SELECT name FROM flows WHERE id = ? AND account = ?", (flow_id, account)
        ).fetchone()
    if row is None:
        raise _not_found(flow_id)
    return str(row["name"])


def get_version(db: Database, account: str, flow_id: str, version: int | None) -> FlowVersion:
    """One version (the latest when ``version`` is None) of one of the account's flows."""
    sql = (
        "SELECT f.name, v.* FROM flows f JOIN flow_versions v ON v.flow_id = f.id"
        " WHERE f.id = ? AND f.account = ?"
    )
    args: tuple[object, ...] = (flow_id, account)
    if version is not None:
        sql += " AND v.version = ?"
        args += (version,)
    sql += " ORDER BY v.version DESC LIMIT 1"
    with db.connect() as conn:
        row = conn.execute(sql, args).fetchone()
    if row is None:
        if version is not None:
            flow_name(db, account, flow_id)  # 404 for the flow first
            raise ProblemError(404, "not-found", f"flow {flow_id!r} has no version {version}")
        raise _not_found(flow_id)
    return FlowVersion(
        row["flow_id"],
        row["name"],
        row["version"],
        row["format"],
        row["source"],
        json.loads(row["findings"]),
        row["created_at"],
    )


def list_versions(db: Database, flow_id: str) -> list[tuple[int, float]]:
    """(version, created_at) of every version of a flow, oldest first."""
    with db.connect() as conn:
        rows = conn.execute(
            "SELECT version, created_at FROM flow_versions WHERE flow_id = ? ORDER BY version",
            (flow_id,),
        ).fetchall()
    return [(r["version"], r["created_at"]) for r in rows]


def list_flows(db: Database, account: str, limit: int, offset: int) -> list[FlowVersion]:
    """The latest version of each of the account's flows, newest flow first."""
    with db.connect() as conn:
        ids = [
            r["id"]
            for r in conn.execute(
                "SELECT id FROM flows WHERE account = ? ORDER BY created_at DESC, id"
                " LIMIT ? OFFSET ?",
                (account, limit, offset),
            )
        ]
    return [get_version(db, account, flow_id, None) for flow_id in ids]
