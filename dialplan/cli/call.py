"""``dialplan call``: place one real SIP call, run the dialplan on it, print the result."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import click

from ..errors import UsageError


@click.command("call")
@click.argument("dialplan_file", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--to", "to", required=True, help="sip:USER@HOST:PORT, or a number on the configured trunk"
)
@click.option("--from", "from_user", help="From user part (caller ID)")
@click.option("--display", "from_display", help="From display name")
@click.option("--proxy", help="trunk / outbound proxy HOST:PORT")
@click.option(
    "--sip-config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML file with a [sip] table (e.g. the campaign file)",
)
@click.option("--local-host", help="local address to bind (default 127.0.0.1)")
@click.option(
    "--local-port", type=click.IntRange(0, 65535), help="local SIP port (default: any free port)"
)
@click.option("--rtp-ports", help="local RTP port range LOW-HIGH")
@click.option("--username", help="digest user name for a trunk that challenges")
@click.option("--password", help="digest password")
@click.option(
    "--ring-timeout",
    type=click.FloatRange(min=0, min_open=True),
    help="seconds to ring before CANCEL (default 30)",
)
@click.option(
    "--amd",
    "amd_mode",
    type=click.Choice(["auto", "always", "never"]),
    help="answering-machine detection (auto: plans with <amd>)",
)
@click.option(
    "--recordings",
    type=click.Path(file_okay=False, path_type=Path),
    help="directory for <record> WAV files",
)
@click.option(
    "--var", "variables", multiple=True, metavar="NAME=VALUE", help="preset a variable (repeatable)"
)
@click.option(
    "--contact",
    "contact",
    multiple=True,
    metavar="FIELD=VALUE",
    help="a contact field (firstName) or column (A-ZZ)",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--allow-private",
    is_flag=True,
    help="let <get>/<post> and audio URLs reach loopback/private addresses",
)
@click.option(
    "--sounds-db",
    type=click.Path(dir_okay=False, path_type=Path),
    help='campaign database whose sound library <play type="callfireid"> plays (id or name)',
)
@click.option("-v", "--verbose", is_flag=True, help="log SIP/media events to stderr")
def call(
    dialplan_file: Path,
    to: str,
    from_user: str | None,
    from_display: str | None,
    proxy: str | None,
    sip_config: Path | None,
    local_host: str | None,
    local_port: int | None,
    rtp_ports: str | None,
    username: str | None,
    password: str | None,
    ring_timeout: float | None,
    amd_mode: str | None,
    recordings: Path | None,
    variables: tuple[str, ...],
    contact: tuple[str, ...],
    fmt: str,
    allow_private: bool,
    sounds_db: Path | None,
    verbose: bool,
) -> None:
    """Place one real call to --to, run FILE when it is answered, print the result (the same
    object as `dialplan simulate`, plus a "sip" block: result code, Q.850 cause, SIP status).

    Exit status: 0 answered, 1 not answered (busy, no answer, invalid …), 2 usage error."""
    from ..drivers.sip import config as sipconfig
    from ..drivers.sip.driver import SipDriver
    from ..drivers.sip.ua import SipConfig
    from ..engine.context import CallContext
    from .simulate import load_or_report, pairs

    if verbose:
        import logging

        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s: %(message)s")
    plan: Any = load_or_report(str(dialplan_file), "not called")
    if sip_config is not None:
        cfg, options = sipconfig.load_file(sip_config)
    else:
        cfg, options = SipConfig(), sipconfig.DriverOptions()
    cfg = sipconfig.with_overrides(
        cfg,
        proxy=proxy,
        from_user=from_user,
        from_display=from_display,
        local_host=local_host,
        local_port=local_port,
        rtp_ports=sipconfig.parse_port_range(rtp_ports) if rtp_ports else None,
        username=username,
        password=password,
        ring_timeout_s=ring_timeout,
    )
    if amd_mode:
        options.amd_mode = amd_mode
    options.allow_private = allow_private
    if options.prompt_cache is not None:
        options.prompt_cache.allow_private = allow_private
    if recordings is not None:
        options.recordings_dir = recordings
    if sounds_db is not None:
        if not sounds_db.is_file():
            raise UsageError(f"--sounds-db: no database {sounds_db}")
        from ..sounds.library import library_reader

        options.sound_library = library_reader(sounds_db)
    preset = pairs(variables, "--var")
    fields = pairs(contact, "--contact")
    if not to.startswith(("sip:", "sips:")) and not cfg.proxy:
        raise UsageError("--to is a number but no trunk is configured: give --proxy or a sip: URI")

    async def run() -> Any:
        async with SipDriver(cfg, options) as driver:
            context = CallContext(
                callerid=cfg.from_user,
                phonenumber=to,
                variables=preset,
                contact=fields,
                call_id=f"call-{uuid.uuid4().hex[:12]}",
                trace=fmt == "text",
            )
            return await driver.place(to, plan, context)

    try:
        outcome = asyncio.run(run())
    except OSError as exc:
        raise UsageError(f"cannot place the call: {exc}") from None
    data = result_dict(outcome)
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        click.echo(render_text(outcome, data), nl=False)
    if outcome.call is None:
        sys.exit(1)


def result_dict(outcome: Any) -> dict[str, Any]:
    """The simulate-shaped result with a ``sip`` block (unanswered: outcome ``not_answered``)."""
    from ..engine.result import CallResult

    if outcome.call is not None:
        data = outcome.call.to_dict()
    else:
        data = CallResult(outcome="not_answered").to_dict()
        data["answered_by"] = None
    data["sip"] = {
        "to": outcome.to,
        "result": outcome.result,
        "cause": outcome.cause,
        "sip_status": outcome.sip_status,
        "duration_s": round(outcome.duration_s, 3),
        "recordings": list(outcome.recordings),
        "amd": outcome.amd_cause,
        "reason": outcome.reason,
        "ended_by": outcome.ended_by,
    }
    return data


def render_text(outcome: Any, data: dict[str, Any]) -> str:
    """The SIP summary, then (answered calls) the transcript `dialplan simulate` prints."""
    from .simulate import transcript

    sip = data["sip"]
    lines = [
        f"call to {sip['to']}: {sip['result']} (Q.850 cause {sip['cause']}, SIP {sip['sip_status']})"
    ]
    if sip["reason"]:
        lines.append(f"ended: {sip['reason']}")
    if data.get("answered_by"):
        amd = f" (AMD: {sip['amd']})" if sip.get("amd") else ""
        lines.append(f"answered by: {data['answered_by']}{amd}, talked {sip['duration_s']:.1f} s")
    for rec in sip["recordings"]:
        lines.append(f"recording: {rec}")
    text = "\n".join(lines) + "\n"
    if outcome.call is None:
        return text + "outcome: not_answered\n"
    return text + "\n" + transcript(outcome.call)
