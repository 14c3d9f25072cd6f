"""``dialplan serve``: run the HTTP service (FastAPI on uvicorn) on one socket."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path
from typing import Any

import click

from ..errors import UsageError
from .options import clock_option, driver_option


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


def _toml_table(path: Path, name: str) -> dict[str, Any]:
    """The ``[name]`` table of a TOML file (empty when it has none); a file that cannot be read
    or is not TOML is a usage error."""
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None
    found = data.get(name, {})
    if not isinstance(found, dict):
        raise UsageError(f"{path}: [{name}] must be a table")
    return dict(found)


def _sip_table(sip_config: Path | None, proxy: str | None) -> tuple[dict[str, Any], Path]:
    """The ``[sip]`` table of ``--driver sip``: ``--sip-config``'s (if any) with ``--proxy`` over
    its ``proxy``, checked now (a bad one is a usage error), and the folder its paths are in."""
    from ..drivers.sip.config import from_mapping

    table: dict[str, Any] = {}
    base = Path.cwd()
    if sip_config is not None:
        table, base = _toml_table(sip_config, "sip"), sip_config.parent
    if proxy is not None:
        table["proxy"] = proxy
    try:
        from_mapping(table, base)
    except UsageError as exc:
        raise UsageError(f"{sip_config}: {exc}" if sip_config is not None else str(exc)) from None
    return table, base


def _smpp_table(smpp_config_file: Path) -> dict[str, Any]:
    """The ``[smpp]`` table of ``--smpp-config`` (a text campaign file works), checked now."""
    from ..messaging.smpp_config import smpp_config

    table = _toml_table(smpp_config_file, "smpp")
    if not table:
        raise UsageError(f"{smpp_config_file}: needs an [smpp] table")
    try:
        smpp_config(table, "smpp")
    except ValueError as exc:
        raise UsageError(f"{smpp_config_file}: {exc}") from None
    return dict(table)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@click.command()
@click.option("--db", default="service.sqlite", show_default=True, type=click.Path(dir_okay=False),
              help="Database of keys, flows and calls: a SQLite file (created if missing), or"
                   " postgresql://USER@HOST:PORT/DB, which several servers can share.")  # fmt: skip
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
@click.option("--rate-limit-per-server", is_flag=True,
              help="PostgreSQL --db: keep each key's limit in this server's memory (no database"
                   " write per request) instead of one limit shared by every server.")  # fmt: skip
@driver_option(
    "sim: simulated calls; sip: real SIP calls (single calls and broadcasts) on the trunk of"
    " --sip-config/--proxy (broadcasts then run on the real clock)."
)
@clock_option(
    "Call broadcasts: virtual (simulated calls take no time) or real, as in `broadcast run`."
)
@click.option("--sip-config", type=click.Path(dir_okay=False, path_type=Path),
              help="TOML file with a [sip] table (the keys of a campaign's [sip]; a campaign file works).")  # fmt: skip
@click.option("--proxy", help="SIP trunk HOST:PORT (overrides [sip] proxy); numbers become sip:NUMBER@proxy.")  # fmt: skip
@click.option("--smpp-config", type=click.Path(dir_okay=False, path_type=Path),
              help="TOML file with an [smpp] table (a text campaign's; docs/sms.md): text broadcasts"
              " send through that SMSC, on the real clock.")  # fmt: skip
@click.option("--max-calls", default=100, show_default=True, type=click.IntRange(1, 10_000),
              help="--driver sip: calls up at the same time (more wait their turn).")  # fmt: skip
@click.option("--peer-timeout", default=30.0, show_default=True, type=click.FloatRange(0.5, 3600),
              help="PostgreSQL --db: seconds without a heartbeat after which another server counts"
                   " as gone (its unfinished calls are booked as interrupted).")  # fmt: skip
@click.option("--control-wait", default=5.0, show_default=True, type=click.FloatRange(0.1, 60),
              help="PostgreSQL --db: seconds a live-call control (EnableX play, hang up) waits for"
                   " the server running the call to take it (503 after, and it never runs).")  # fmt: skip
@click.option("--drain-timeout", default=30.0, show_default=True, type=click.FloatRange(0, 3600),
              help="Real clock: seconds the calls in flight of a stopped broadcast (stop, shutdown) may go on before they are hung up.")  # fmt: skip
@click.option("--access-log/--no-access-log", default=True, show_default=True)
def serve(
    db: str,
    host: str,
    port: int,
    allow_private: bool,
    sync_limit: float,
    max_body: int,
    rate_limit: float,
    rate_limit_per_server: bool,
    driver: str,
    clock: str,
    sip_config: Path | None,
    proxy: str | None,
    smpp_config: Path | None,
    max_calls: int,
    peer_timeout: float,
    control_wait: float,
    drain_timeout: float,
    access_log: bool,
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json, interactive docs at /docs).

    Create an API key first with `dialplan keys create --db DB --account NAME --scope write`.
    Stops on Ctrl-C / SIGTERM. Exit status: 0 stopped, 2 usage error (bad database, busy port).
    """
    import uvicorn

    from ..service import Settings, create_app

    if driver != "sip" and (sip_config is not None or proxy is not None):
        raise UsageError("--sip-config and --proxy need --driver sip")
    sip, base = _sip_table(sip_config, proxy) if driver == "sip" else ({}, Path.cwd())
    settings = Settings(
        db_path=db,
        allow_private=allow_private,
        sync_limit_s=sync_limit,
        max_body_bytes=max_body,
        rate_per_s=rate_limit,
        rate_limit_per_server=rate_limit_per_server,
        broadcast_clock="real" if driver == "sip" or clock == "real" else "virtual",
        broadcast_driver="sip" if driver == "sip" else "sim",
        sip=sip,
        smpp=_smpp_table(smpp_config) if smpp_config is not None else None,
        peer_timeout_s=peer_timeout,
        control_wait_s=control_wait,
        drain_s=drain_timeout,
    )
    sock = _listen(host, port)
    runner = None
    if driver == "sip":
        from ..service.siprunner import SipCallRunner

        runner = SipCallRunner.from_table(sip, base, allow_private, max_calls)
    try:
        app = create_app(settings, runner)
    except BaseException:
        if runner is not None:
            runner.close()
        raise
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
