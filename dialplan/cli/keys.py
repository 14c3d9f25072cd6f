"""``dialplan keys``: create, list and revoke the service's API keys."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from ..service.sql import ServiceDatabase

_DB = click.option(
    "--db",
    default="service.sqlite",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The service database, a SQLite file or postgresql://USER@HOST:PORT/DB (as given to"
    " `dialplan serve`).",
)


@contextmanager
def _opened(db: str) -> Iterator[ServiceDatabase]:
    from ..service.sql import open_database

    database = open_database(db)
    try:
        yield database
    finally:
        database.close()


@click.group()
def keys() -> None:
    """Manage API keys (stored as SHA-256 digests; a key's secret is shown once)."""


@keys.command()
@_DB
@click.option("--account", required=True, help="The account the key acts for.")
@click.option("--scope", "scopes", multiple=True, type=click.Choice(["read", "write", "admin"]),
              default=("read",), show_default=True,
              help="Repeat for several; write includes read, admin includes both.")  # fmt: skip
@click.option("--label", default="", help="A note for `keys list`.")
@click.option("--rate-limit", type=click.FloatRange(min=0.001), default=None,
              help="Requests per second for this key (default: the server's --rate-limit).")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)  # fmt: skip
def create(
    db: str, account: str, scopes: tuple[str, ...], label: str, rate_limit: float | None, fmt: str
) -> None:
    """Create a key and print its secret (only now: it is not stored)."""
    from ..service.keys import create_key

    with _opened(db) as database:
        made, secret = create_key(database, account, list(scopes), label, rate_limit)
    if fmt == "json":
        click.echo(json.dumps({**made.to_dict(), "key": secret}, indent=2))
        return
    click.echo(secret)
    click.echo(
        f"key {made.id} for account {made.account} ({', '.join(sorted(made.scopes))});"
        " store it now, it cannot be shown again",
        err=True,
    )


@keys.command(name="list")
@_DB
@click.option("--account", default=None, help="Only this account's keys.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)  # fmt: skip
def list_(db: str, account: str | None, fmt: str) -> None:
    """List keys: id, account, scopes, created, revoked (never the secrets)."""
    from ..service.keys import list_keys

    with _opened(db) as database:
        found = list_keys(database, account)
    if fmt == "json":
        click.echo(json.dumps([k.to_dict() for k in found], indent=2))
        return
    for k in found:
        created = datetime.fromtimestamp(k.created_at, UTC).strftime("%Y-%m-%d %H:%M")
        state = "revoked" if k.revoked_at is not None else "active"
        scopes = ",".join(sorted(k.scopes))
        label = f"  {k.label}" if k.label else ""
        click.echo(f"{k.id}  {k.account:<16} {scopes:<16} {created}  {state}{label}")
    if not found:
        click.echo("no keys", err=True)


@keys.command()
@_DB
@click.argument("key_id")
def revoke(db: str, key_id: str) -> None:
    """Revoke the key KEY_ID (exit 1 when there is no such active key)."""
    from ..service.keys import revoke_key

    with _opened(db) as database:
        revoked = revoke_key(database, key_id)
    if not revoked:
        click.echo(f"dialplan: no active key {key_id!r}", err=True)
        raise SystemExit(1)
    click.echo(f"revoked {key_id}", err=True)
