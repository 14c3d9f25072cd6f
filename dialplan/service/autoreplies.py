"""Each account's text auto-replies in the service database, and the hook a text broadcast's
run answers replies with (:class:`AccountAutoReplies`), which books every reply it sent.

The rules are rows of ``text_auto_replies``; what they mean is :mod:`dialplan.messaging.autoreply`'s.
A reply sent is a row of ``text_auto_reply_texts`` (shown as a ``Text`` by :mod:`.autoreply_texts`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..messaging.autoreply import AutoReply
from ..messaging.port import InboundText
from .sql import ServiceDatabase as Database
from .storage import now

if TYPE_CHECKING:
    from ..broadcast.campaign import Campaign

#: the campaign of a service broadcast (:func:`.broadcasts.files.campaign_name`)
_BROADCAST = re.compile(r"^broadcast-([0-9]+)$")
_RULE = "SELECT id, number, keyword, pattern, message FROM text_auto_replies"


def _rule(row: Any) -> AutoReply:
    return AutoReply(int(row["id"]), row["message"], row["number"], row["keyword"], row["pattern"])


def create(db: Database, account: str, rule: AutoReply) -> int:
    """Store ``rule`` (its id is ignored) for ``account``; its new id."""
    with db.write() as conn:
        row = conn.execute(
            "INSERT INTO text_auto_replies (account, number, keyword, pattern, message,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (account, rule.number, rule.keyword, rule.match, rule.message, now()),
        ).fetchone()
    return int(row[0])


def get(db: Database, account: str, rule_id: int) -> AutoReply | None:
    with db.connect() as conn:
        row = conn.execute(f"{_RULE} WHERE account = ? AND id = ?", (account, rule_id)).fetchone()
    return None if row is None else _rule(row)


def find(
    db: Database, account: str, number: str | None, limit: int, offset: int
) -> tuple[list[AutoReply], int]:
    """A page of the account's rules, oldest first (``number``: those naming it), and how many."""
    cond, args = "account = ?", [account]
    if number is not None:
        cond += " AND number = ?"
        args.append(number)
    with db.connect() as conn:
        total = conn.execute(f"SELECT COUNT(*) FROM text_auto_replies WHERE {cond}", args)
        n = int(total.fetchone()[0])
        rows = conn.execute(
            f"{_RULE} WHERE {cond} ORDER BY id LIMIT ? OFFSET ?", (*args, limit, offset)
        ).fetchall()
    return [_rule(r) for r in rows], n


def rules_of(db: Database, account: str) -> list[AutoReply]:
    with db.connect() as conn:
        rows = conn.execute(f"{_RULE} WHERE account = ? ORDER BY id", (account,)).fetchall()
    return [_rule(r) for r in rows]


def delete(db: Database, account: str, rule_id: int) -> bool:
    """Remove the rule (the texts it sent stay); False when the account has none of that id."""
    with db.write() as conn:
        gone = conn.execute(
            "DELETE FROM text_auto_replies WHERE account = ? AND id = ?", (account, rule_id)
        ).rowcount
    return bool(gone)


class AccountAutoReplies:
    """The hook of one text broadcast's run (:class:`~dialplan.messaging.autoreply.AutoReplies`):
    its account's rules, read when a reply needs them, and every reply booked."""

    def __init__(self, db: Database, account: str, broadcast_id: int) -> None:
        self.db = db
        self.account = account
        self.broadcast_id = broadcast_id

    def rules(self) -> Sequence[AutoReply]:
        return rules_of(self.db, self.account)

    def sent(self, rule: AutoReply, inbound: InboundText, text: str, result: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO text_auto_reply_texts (account, auto_reply_id, broadcast_id,"
                " from_number, to_number, inbound, message, result, sent_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self.account,
                    rule.id,
                    self.broadcast_id,
                    inbound.to,  # the reply comes from the number that was texted
                    inbound.from_number,
                    inbound.text,
                    text,
                    result,
                    inbound.at,
                ),
            )


class WorkerAutoReplies:
    """What ``broadcast worker`` answers replies with: the auto-replies of each service text
    broadcast it sends (a campaign named ``broadcast-<id>``, its account as ``dnc_scope``), from
    the service's tables in the same PostgreSQL database — none when the service keeps them
    elsewhere (its schema is not there) or the campaign is no service broadcast."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._db: Database | None = None
        self._looked = False

    def __call__(self, campaign: Campaign) -> AccountAutoReplies | None:
        found = _BROADCAST.match(campaign.name)
        if found is None or not campaign.dnc_scope:
            return None
        db = self._database()
        return None if db is None else AccountAutoReplies(db, campaign.dnc_scope, int(found[1]))

    def _database(self) -> Database | None:
        if not self._looked:
            self._looked = True
            import psycopg

            from .pgstorage import SCHEMA, PgDatabase

            with psycopg.connect(self.dsn, autocommit=True) as conn:
                there = conn.execute(
                    "SELECT to_regclass(%s)", (f"{SCHEMA}.text_auto_replies",)
                ).fetchone()
            if there is not None and there[0] is not None:
                self._db = PgDatabase(self.dsn)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
