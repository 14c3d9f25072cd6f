"""API keys: high-entropy random secrets, stored only as SHA-256 digests, with scopes and an account.

A key reads ``dpk_<id>_<secret>``: ``id`` (public, shown by ``keys list``) and 32 random bytes of
secret. Only ``sha256(key)`` is stored. A fast digest is enough (and a slow password hash would cost
every request): the secret has 256 bits of entropy, so it cannot be guessed from the digest.
Scopes nest: ``admin`` ⊇ ``write`` ⊇ ``read``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import UsageError
from .sql import Row
from .sql import ServiceDatabase as Database
from .storage import now

SCOPES: tuple[str, ...] = ("read", "write", "admin")
_IMPLIED = {"read": {"read"}, "write": {"read", "write"}, "admin": {"read", "write", "admin"}}
_ACCOUNT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def digest(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One key as stored (never its secret)."""

    id: str
    account: str
    scopes: frozenset[str]
    label: str
    rate_per_s: float | None
    created_at: float
    revoked_at: float | None

    def allows(self, scope: str) -> bool:
        """True when one of the key's scopes grants ``scope``."""
        return any(scope in _IMPLIED[s] for s in self.scopes if s in _IMPLIED)

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "account": self.account,
            "scopes": sorted(self.scopes, key=SCOPES.index),
            "label": self.label,
            "rate_per_s": self.rate_per_s,
            "created_at": self.created_at,
            "revoked": self.revoked_at is not None,
        }


def _row_key(r: Row) -> ApiKey:
    return ApiKey(
        id=r["id"],
        account=r["account"],
        scopes=frozenset(r["scopes"].split()),
        label=r["label"],
        rate_per_s=r["rate_per_s"],
        created_at=r["created_at"],
        revoked_at=r["revoked_at"],
    )


def create_key(
    db: Database,
    account: str,
    scopes: Sequence[str],
    label: str = "",
    rate_per_s: float | None = None,
) -> tuple[ApiKey, str]:
    """Store a new key; return it and its secret (shown once, never stored)."""
    if not _ACCOUNT.match(account):
        raise UsageError(
            f"bad account {account!r}: 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit)"
        )
    if not scopes:
        raise UsageError("a key needs at least one scope (read, write, admin)")
    for scope in scopes:
        if scope not in SCOPES:
            raise UsageError(f"bad scope {scope!r}: use read, write or admin")
    if rate_per_s is not None and not rate_per_s > 0:
        raise UsageError(f"bad rate limit {rate_per_s!r}: use a number of requests per second > 0")
    key_id = secrets.token_hex(6)
    secret = f"dpk_{key_id}_{secrets.token_urlsafe(32)}"
    created = now()
    with db.write() as conn:
        conn.execute(
            "INSERT INTO api_keys (id, account, digest, scopes, label, rate_per_s, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                key_id,
                account,
                digest(secret),
                " ".join(sorted(set(scopes))),
                label,
                rate_per_s,
                created,
            ),
        )
    return ApiKey(key_id, account, frozenset(scopes), label, rate_per_s, created, None), secret


def find_key(db: Database, secret: str) -> ApiKey | None:
    """The live key whose secret is ``secret`` (looked up by digest), or None."""
    with db.connect() as conn:
        row = conn.execute(
            "SELECT * FROM api_keys WHERE digest = ? AND revoked_at IS NULL", (digest(secret),)
        ).fetchone()
    return _row_key(row) if row is not None else None


def list_keys(db: Database, account: str | None = None) -> list[ApiKey]:
    """Every key (of ``account`` when given), oldest first."""
    with db.connect() as conn:
        if account is None:
            rows = conn.execute("SELECT * FROM api_keys ORDER BY created_at, id").fetchall()
        else:
            rows = conn.execute(
                "SELECT * FROM api_keys WHERE account = ? ORDER BY created_at, id", (account,)
            ).fetchall()
    return [_row_key(r) for r in rows]


def revoke_key(db: Database, key_id: str, account: str | None = None) -> bool:
    """Revoke a key by id (only within ``account`` when given); False when there is no such key."""
    with db.write() as conn:
        sql = "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"
        args: tuple[object, ...] = (now(), key_id)
        if account is not None:
            sql += " AND account = ?"
            args += (account,)
        return conn.execute(sql, args).rowcount == 1
