"""Webhook URLs are checked at load the way they will be connected to (issue 13 item 11), and
undelivered events are reported by ``run`` and ``stats``, never left pending silently."""

from __future__ import annotations

import ipaddress
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from dialplan.broadcast.campaign import load_campaign
from dialplan.broadcast.service import run_campaign
from dialplan.errors import CampaignError
from dialplan.netguard import blocked_reason

from .helpers import fake_runner, write_campaign

ROOT = Path(__file__).resolve().parents[2]
ROWS = [
    {"phone_number": "2125550101", "sim_result": "LA", "sim_inputs": "1"},
    {"phone_number": "2125550102", "sim_result": "BUSY"},
]

NUMERIC_LOOPBACK = [
    "127.1",
    "2130706433",
    "0x7f.0.0.1",
    "0x7f000001",
    "017700000001",
    "0177.0.0.1",
    "0",
    "127.0.0.1.",
    "localhost.",
    "LOCALHOST",
    "x.localhost",
    "[::1]",
    "[0:0:0:0:0:0:0:1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[::]",
    "10.1",
    "0xc0.0xa8.1.1",
]


def campaign_file(tmp: Path, url: str, allow_private: bool = False) -> Path:
    tables: dict[str, Any] = {"webhook": {"url": url, "secret": "s3cret"}}
    if allow_private:
        tables["network"] = {"allow_private": True}
    return write_campaign(tmp, ROWS, tables=tables)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    if args[0] == "run" and "--report" not in args:  # never into the working tree
        args = (*args, "--report", str(Path(args[1]).with_name("report.html")))
    return subprocess.run(
        [sys.executable, "-m", "dialplan", "broadcast", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize("host", NUMERIC_LOOPBACK)
def test_numeric_and_local_hosts_are_refused_at_load(tmp_path: Path, host: str) -> None:
    path = campaign_file(tmp_path, f"http://{host}:8080/events")
    with pytest.raises(CampaignError) as err:
        run_campaign(load_campaign(path), tmp_path / "db.sqlite", runner=fake_runner)
    message = str(err.value)
    assert message.startswith(f"{path}: webhook.url: unsafe URL")
    assert "\n" not in message
    assert not (tmp_path / "db.sqlite").exists()  # refused before anything was stored


def test_the_cli_refusal_is_one_line_with_the_hint(tmp_path: Path) -> None:
    path = campaign_file(tmp_path, "http://2130706433/events")
    out = cli("run", str(path), "--db", str(tmp_path / "db.sqlite"), "--no-progress")
    assert out.returncode == 2
    assert out.stderr == (
        f"dialplan: error: {path}: webhook.url: unsafe URL 'http://2130706433/events': host"
        " '2130706433' is loopback (set [network] allow_private = true for local receivers)\n"
    )


def test_preview_refuses_what_run_would_refuse(tmp_path: Path) -> None:
    path = campaign_file(tmp_path, "http://0x7f.0.0.1/events")
    out = cli("preview", str(path))
    assert out.returncode == 2
    assert out.stderr.startswith(f"dialplan: error: {path}: webhook.url: unsafe URL")


def test_a_name_resolving_to_a_private_address_is_refused(tmp_path: Path) -> None:
    name = socket.gethostname()
    try:
        addresses = {i[4][0] for i in socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)}
    except OSError:
        pytest.skip(f"the host name {name!r} does not resolve here")
    if not any(blocked_reason(ipaddress.ip_address(a.split("%")[0])) for a in addresses):
        pytest.skip(f"the host name {name!r} resolves to public addresses only")
    path = campaign_file(tmp_path, f"http://{name}:8080/events")
    with pytest.raises(CampaignError, match=r"webhook\.url: .* resolves to .*, which is"):
        run_campaign(load_campaign(path), tmp_path / "db.sqlite", runner=fake_runner)


def test_an_unresolvable_name_is_refused(tmp_path: Path) -> None:
    path = campaign_file(tmp_path, "http://no-such-host.invalid/events")
    with pytest.raises(CampaignError, match=r"webhook\.url: .*cannot resolve host") as err:
        run_campaign(load_campaign(path), tmp_path / "db.sqlite", runner=fake_runner)
    assert "allow_private" not in str(err.value)  # the hint would not help


@pytest.fixture
def receiver() -> Iterator[tuple[list[dict[str, Any]], int]]:
    events: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            events.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield events, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("host", ["127.1", "2130706433", "localhost."])
def test_with_allow_private_a_loopback_receiver_gets_the_events(
    tmp_path: Path, receiver: tuple[list[dict[str, Any]], int], host: str
) -> None:
    events, port = receiver
    path = campaign_file(tmp_path, f"http://{host}:{port}/events", allow_private=True)
    out = cli("run", str(path), "--db", str(tmp_path / "db.sqlite"), "--no-progress")
    assert out.returncode == 0, out.stderr
    assert "webhook events: all delivered" in out.stdout
    assert [e["event"] for e in events].count("broadcastcall_complete") == 1
    assert len(events) >= 1 + 2 * 2  # per call at least ringing + disconnected


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_receiver_that_is_down_is_reported_by_run_and_stats(tmp_path: Path) -> None:
    path = campaign_file(tmp_path, f"http://127.0.0.1:{free_port()}/events", allow_private=True)
    db = str(tmp_path / "db.sqlite")
    out = cli("run", str(path), "--db", db, "--no-progress", "--max-wait", "0.5")
    assert out.returncode == 0, out.stderr
    stat = [line.split() for line in out.stdout.splitlines() if "EventsUndelivered" in line]
    count = int(stat[0][1])  # "  webhookEventsUndelivered  N  meaning" (the stats)
    assert count >= 5
    note = [line for line in out.stdout.splitlines() if line.startswith("webhook events")]
    assert note == [
        f"webhook events undelivered: {count} (last error: ConnectError: [Errno 111] Connection"
        " refused; they stay in the database and the next run of the campaign delivers them)"
    ]

    text = cli("stats", "test", "--db", db)
    assert text.returncode == 0
    assert f"webhook events undelivered: {count} (last error: " in text.stdout
    data = json.loads(cli("stats", "test", "--db", db, "--format", "json").stdout)
    assert data["webhookEventsUndelivered"] == count
    as_json = json.loads(
        cli(
            "run", str(path), "--db", db, "--no-progress", "--max-wait", "0", "--format", "json"
        ).stdout
    )
    assert as_json["stats"]["webhookEventsUndelivered"] == count


def test_stats_count_only_the_campaigns_own_events(
    tmp_path: Path, receiver: tuple[list[dict[str, Any]], int]
) -> None:
    db = tmp_path / "db.sqlite"
    down = load_campaign(
        campaign_file(tmp_path / "a", f"http://127.0.0.1:{free_port()}/e", allow_private=True)
    )
    run_campaign(down, db, runner=fake_runner, max_wait=0.2)
    _, port = receiver
    up_path = write_campaign(
        tmp_path / "b",
        ROWS,
        name="other",
        tables={
            "webhook": {"url": f"http://127.0.0.1:{port}/e", "secret": "s"},
            "network": {"allow_private": True},
        },
    )
    run_campaign(load_campaign(up_path), db, runner=fake_runner, max_wait=0.2)
    out = json.loads(cli("stats", "other", "--db", str(db), "--format", "json").stdout)
    assert out["webhookEventsUndelivered"] == 0
    out = json.loads(cli("stats", "test", "--db", str(db), "--format", "json").stdout)
    assert out["webhookEventsUndelivered"] > 0
