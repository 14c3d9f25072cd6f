"""``dialplan serve``: run the HTTP service (FastAPI on uvicorn) on one socket."""

from __future__ import annotations

import ipaddress
import socket
import tomllib
from typing import Any

import click

from ..errors import UsageError


def _listen(host: str, port: int) -> socket.socket:
    """A bound, listening socket (so a busy port is a one-line error, and port 0 works)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as exc:
        raise UsageError(f"--host {host}: cannot resolve ({exc.strerror or exc})") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _sip_table(driver: str, path: str | None) -> dict[str, Any]:
    """The ``[sip]`` table of ``--sip-config`` (checked now: a bad one is a usage error)."""
    if path is None:
        if driver == "sip":
            raise UsageError(
                "--driver sip needs --sip-config FILE (a TOML file with a [sip] table)"
            )
        return {}
    from pathlib import Path

    from ..drivers.sip.config import from_mapping

    try:
        data = tomllib.loads(Path(path).read_text("utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None
    table = data.get("sip")
    if not isinstance(table, dict) or not table.get("proxy"):
        raise UsageError(f'{path}: sip: a [sip] table with proxy = "HOST:PORT" is required')
    try:
        from_mapping(table, Path(path).parent)
    except UsageError as exc:
        raise UsageError(f"{path}: {exc}") from None
    return table


@click.command()
@click.option("--db", default="service.sqlite", show_default=True, type=click.Path(dir_okay=False),
              help="SQLite database of keys, flows and calls (created if missing).")  # fmt: skip
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind (loopback by default; anything else is reachable from the network).")  # fmt: skip
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535),
              help="TCP port (0: any free port, printed at start).")  # fmt: skip
@click.option("--allow-private", is_flag=True,
              help="Let webhooks reach loopback and private addresses (local and test servers).")  # fmt: skip
@click.option("--sync-limit", default=30.0, show_default=True, type=click.FloatRange(0.01, 600),
              help="Seconds a sync-mode call request is held before it answers 202.")  # fmt: skip
@click.option("--max-body", default=5 * 1024 * 1024, show_default=True, type=click.IntRange(1024),
              help="Largest request body in bytes (413 above).")  # fmt: skip
@click.option("--rate-limit", default=50.0, show_default=True, type=click.FloatRange(0.01, 1e6),
              help="Requests per second per API key (bursts of twice that), unless the key has its own.")  # fmt: skip
@click.option("--driver", type=click.Choice(["sim", "sip"]), default="sim", show_default=True,
              help="Call broadcasts: sim (simulated calls) or sip (real calls to --sip-config's trunk; real clock).")  # fmt: skip
@click.option("--clock", type=click.Choice(["virtual", "real"]), default="virtual", show_default=True,
              help="Call broadcasts: virtual (simulated calls take no time) or real, as in `broadcast run`.")  # fmt: skip
@click.option("--sip-config", type=click.Path(dir_okay=False),
              help="TOML file with the [sip] table (trunk) call broadcasts dial through with --driver sip.")  # fmt: skip
@click.option("--access-log/--no-access-log", default=True, show_default=True)
def serve(
    db: str,
    host: str,
    port: int,
    allow_private: bool,
    sync_limit: float,
    max_body: int,
    rate_limit: float,
    driver: str,
    clock: str,
    sip_config: str | None,
    access_log: bool,
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json, interactive docs at /docs).

    Create an API key first with `dialplan keys create --db DB --account NAME --scope write`.
    Stops on Ctrl-C / SIGTERM. Exit status: 0 stopped, 2 usage error (bad database, busy port).
    """
    import uvicorn

    from ..service import Settings, create_app

    sip = _sip_table(driver, sip_config)
    app = create_app(
        Settings(
            db_path=db,
            allow_private=allow_private,
            sync_limit_s=sync_limit,
            max_body_bytes=max_body,
            rate_per_s=rate_limit,
            broadcast_clock="real" if driver == "sip" or clock == "real" else "virtual",
            broadcast_driver="sip" if driver == "sip" else "sim",
            sip=sip,
        )
    )
    sock = _listen(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    if not _is_loopback(bound_host):
        click.echo(
            f"dialplan: warning: listening on {bound_host}, reachable from other machines", err=True
        )
    click.echo(f"dialplan: serving http://{shown}:{bound_port} (docs at /docs)", err=True)
    config = uvicorn.Config(
        app, log_level="info" if access_log else "warning", access_log=access_log, lifespan="on"
    )
    server = uvicorn.Server(config)
    # long-lived responses (the dashboard's event streams) end when the server is asked to stop,
    # else uvicorn's graceful shutdown would wait for them
    app.state.exiting = lambda: server.should_exit
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
