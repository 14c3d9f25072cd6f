"""The texts auto-replies sent, as CallFire ``Text``s: ``findTexts`` lists them after the texts of
the account's broadcasts, ``getText`` finds them, by the id :data:`TEXT_IDS` + their row (the
texts of broadcasts are their recipients, whose ids stay far below)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .broadcasts.callrows import CallFilter
from .sql import ServiceDatabase as Database

#: the first id of a text an auto-reply sent
TEXT_IDS = 2**52
_SENT = (
    "SELECT id, auto_reply_id, broadcast_id, from_number, to_number, inbound, message, result,"
    " sent_at FROM text_auto_reply_texts"
)


@dataclass(frozen=True, slots=True)
class SentReplies:
    """The texts auto-replies sent, beside the broadcasts' in ``findTexts`` and ``getText``
    (:class:`~.broadcast_routes.MoreItems`)."""

    def page(
        self,
        db: Database,
        account: str,
        broadcast_id: int | None,
        batch_id: int | None,
        where: CallFilter,
        limit: int,
        offset: int,
    ) -> tuple[list[dict[str, Any]], int]:
        """The account's replies that ``where`` selects, oldest first, and how many there are."""
        if batch_id is not None or (where.states and "FINISHED" not in where.states):
            return [], 0  # in no batch; every one is FINISHED
        cond: list[str] = ["account = ?"]
        args: list[object] = [account]
        if broadcast_id is not None:
            cond.append("broadcast_id = ?")
            args.append(broadcast_id)
        if where.ids:
            ids = sorted(i - TEXT_IDS for i in where.ids if i > TEXT_IDS)
            if not ids:
                return [], 0
            cond.append(f"id IN ({','.join('?' * len(ids))})")
            args.extend(ids)
        if where.results:
            cond.append(f"result IN ({','.join('?' * len(where.results))})")
            args.extend(sorted(where.results))
        if where.to_number:
            cond.append("to_number = ?")
            args.append(where.to_number)
        sql = " AND ".join(cond)
        with db.connect() as conn:
            total = conn.execute(f"SELECT COUNT(*) FROM text_auto_reply_texts WHERE {sql}", args)
            n = int(total.fetchone()[0])
            rows = []
            if limit > 0:
                rows = conn.execute(
                    f"{_SENT} WHERE {sql} ORDER BY id LIMIT ? OFFSET ?", (*args, limit, offset)
                ).fetchall()
        return [text_json(r) for r in rows], n

    def one(self, db: Database, account: str, text_id: int) -> dict[str, Any] | None:
        if text_id <= TEXT_IDS:
            return None
        with db.connect() as conn:
            row = conn.execute(
                f"{_SENT} WHERE account = ? AND id = ?", (account, text_id - TEXT_IDS)
            ).fetchone()
        return None if row is None else text_json(row)


def text_json(row: Any) -> dict[str, Any]:
    """CallFire's Text of one reply sent: FINISHED, one record; its rule and the text it answered
    as attributes ``autoReplyId`` and ``inReplyTo``."""
    text_id = TEXT_IDS + int(row["id"])
    at = round(float(row["sent_at"]) * 1000)
    return {
        "id": text_id,
        "fromNumber": row["from_number"],
        "toNumber": row["to_number"],
        "attributes": {"autoReplyId": str(row["auto_reply_id"]), "inReplyTo": row["inbound"]},
        "state": "FINISHED",
        "campaignId": int(row["broadcast_id"]),
        "inbound": False,
        "created": at,
        "modified": at,
        "message": row["message"],
        "finalTextResult": row["result"],
        "records": [
            {
                "id": text_id,
                "finishTime": at,
                "message": row["message"],
                "textResult": row["result"],
            }
        ],
    }
