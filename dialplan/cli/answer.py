"""``dialplan answer``: answer calls to configured numbers with their dialplans (SIP UAS)."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import click

from ..errors import UsageError


def parse_listen(text: str) -> tuple[str, int]:
    """``udp:HOST:PORT``, ``HOST:PORT`` or ``[v6]:PORT`` → (host, port); UDP only."""
    spec = text.strip()
    transport, sep, rest = spec.partition(":")
    if sep and transport.lower() in ("udp", "tcp", "tls"):
        if transport.lower() != "udp":
            raise UsageError(f"--listen {text}: only udp is supported")
        spec = rest
    if spec.startswith("["):
        host, _, port_text = spec[1:].partition("]")
        port_text = port_text.lstrip(":")
    else:
        host, _, port_text = spec.rpartition(":")
    if not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise UsageError(f"--listen {text}: use udp:HOST:PORT, e.g. udp:127.0.0.1:5060")
    return host, int(port_text)


@click.command("answer")
@click.option(
    "--numbers",
    "numbers_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="numbers.toml: number → dialplan, limits, hours (docs/inbound.md)",
)
@click.option(
    "--listen",
    default=None,
    help="udp:HOST:PORT to answer on (default: [sip] local_host/local_port, else "
    "udp:127.0.0.1:5060; port 0 = any free port)",
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("inbound.sqlite"),
    show_default=True,
    help="SQLite file where every call is kept",
)
@click.option(
    "--allow-private",
    is_flag=True,
    help="let <get>/<post> and audio URLs reach loopback/private addresses",
)
@click.option("-v", "--verbose", is_flag=True, help="log SIP/media events to stderr")
def answer(
    numbers_file: Path, listen: str | None, db: Path, allow_private: bool, verbose: bool
) -> None:
    """Answer calls to the numbers in --numbers until interrupted (SIGINT/SIGTERM); calls
    still up then are hung up and stored. Prints where it listens on stderr."""
    import logging

    from ..inbound.numbers import load_numbers
    from ..inbound.server import InboundServer
    from ..inbound.store import InboundStore

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(name)s: %(message)s",
    )
    numbers = load_numbers(numbers_file)
    numbers.options.allow_private = allow_private
    if numbers.options.prompt_cache is not None:
        numbers.options.prompt_cache.allow_private = allow_private
    host, port = (
        parse_listen(listen) if listen else (numbers.sip.local_host, numbers.sip.local_port or 5060)
    )
    store = InboundStore(db)

    async def serve() -> InboundServer:
        server = InboundServer(numbers, store, local_host=host, local_port=port)
        try:
            await server.start()
        except OSError as exc:
            raise UsageError(f"--listen {host}:{port}: cannot bind: {exc}") from None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        h, p = server.address
        distinct = len({c.number for c in numbers.numbers.values()})
        click.echo(
            f"dialplan: answering {distinct} number(s) on udp:{h}:{p} (calls kept in {db})",
            err=True,
        )
        await stop.wait()
        await server.close()
        return server

    try:
        server = asyncio.run(serve())
    finally:
        store.close()
    s = server.stats
    refused = ", ".join(f"{n}×{k}" for k, n in sorted(s.rejected.items())) or "none"
    click.echo(
        f"dialplan: stopped: {s.invites} INVITEs, {s.answered} answered, "
        f"{s.finished} finished, refused: {refused}",
        err=True,
    )
