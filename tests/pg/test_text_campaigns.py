"""Text campaigns (``channel = "sms"``) on PostgreSQL: the same answers as SQLite, the texts
tables of migration 3, and the do-not-text list shared by campaigns on the same database."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest

from dialplan.broadcast.pg.schema import MIGRATIONS, migrate, schema_version
from tests.clirun import run

LONG = "Your order is ready " * 9  # 180 GSM characters: two segments

#: phone, first name, own message, sim_result, sim_reply
ROWS = [
    ("+12025550101", "Ann", "", "DELIVERED", "sToP"),
    ("+12025550102", "Bob", LONG, "DELIVERED", ""),
    ("+12025550103", "Cid", "", "UNDELIVERED", "HELP"),
    ("+12025550104", "Dee", "", "NO_RECEIPT", "STOP please"),
    ("+12025550105", "Eve", "", "CARRIER_TEMP_ERROR", ""),
    ("+12025550106", "Fay", "", "CARRIER_ERROR", ""),
    ("+12025550107", "Gus", "Zażółć gęślą jaźń, ${contact.first}", "DELIVERED", ""),
    ("+13035550108", "Hal", "", "DELIVERED", ""),
    ("not a number", "Ivy", "", "", ""),
    ("+12025550101", "Ann again", "", "DELIVERED", ""),  # opted out meanwhile: DNC
    ("+12025550102", "Bob again", "", "DELIVERED", ""),  # a duplicate number, texted again
]


def write(
    tmp: Path, name: str = "texts", rows: list[tuple[str, ...]] = ROWS, extra: str = ""
) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / f"{name}.csv").write_text(
        "phone_number,first,message,sim_result,sim_reply\n"
        + "".join(",".join(f'"{v}"' for v in r) + "\n" for r in rows)
    )
    path = tmp / f"{name}.toml"
    path.write_text(
        f'name = "{name}"\nchannel = "sms"\nrecipients = "{name}.csv"\n'
        'from_number = "+12025550000"\nmessage = "Hi ${contact.first}, your order is ready."\n'
        "messages_per_second = 2\nscrub_duplicates = false\n"
        '[local_time_restriction]\nbegin = "09:00"\nend = "20:00"\n'
        "[retry_config]\nmax_attempts = 3\nminutes_between_attempts = 5\n"
        '[simulation]\nseed = 3\nstart = "2026-01-05T13:30:00Z"\n' + extra
    )
    return path


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, object]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Handler", (_Receiver,), {"received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/events", handler
    finally:
        server.shutdown()
        server.server_close()


def test_a_text_campaign_on_postgresql_agrees_with_sqlite(
    pg_db: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    hook: tuple[str, type[_Receiver]],
) -> None:
    url, handler = hook
    webhook = f'[webhook]\nurl = "{url}"\nsecret = "s"\n[network]\nallow_private = true\n'
    path = write(tmp_path, extra=webhook)
    lite = str(tmp_path / "b.sqlite")
    answers = {}
    events = {}
    for db in (lite, pg_db):
        handler.received.clear()
        code, out, err = run(
            capsys, "broadcast", "run", str(path), "--db", db, "--no-progress",
            "--report", str(tmp_path / "r.html"), "--format", "json",
        )  # fmt: skip
        assert code == 0, err
        assert json.loads(out)["events_pending"] == 0
        events[db] = sorted(json.dumps(e, sort_keys=True) for e in handler.received)
        outputs = []
        for args in (
            ("stats", "texts", "--format", "json"),
            ("export", "texts", "--format", "csv"),
            ("export", "texts"),
        ):
            code, out, err = run(capsys, "broadcast", *args, "--db", db)
            assert code == 0, err
            outputs.append(out)
        report = tmp_path / f"{len(answers)}.html"
        code, _, err = run(capsys, "broadcast", "report", "texts", "--db", db, "-o", str(report))
        assert code == 0, err
        outputs.append(report.read_text())
        answers[db] = outputs
    lite_out, pg_out = answers[lite], answers[pg_db]
    stats = json.loads(pg_out[0])
    assert stats == json.loads(lite_out[0])
    assert pg_out[1] == lite_out[1]  # the CSV export, byte for byte
    assert json.loads(pg_out[2]) == json.loads(lite_out[2])
    assert events[pg_db] == events[lite] and len(events[lite]) > 10
    # what the campaign covers, so that the equality above means something
    assert (stats["sentCount"], stats["recievedCount"], stats["doNotTextCount"]) == (7, 3, 1)
    assert (stats["deliveredCount"], stats["undeliveredCount"]) == (5, 1)
    assert stats["segmentsCount"] == 8  # Bob's long message in two
    assert stats["errorCount"] == 3 and stats["totalOutboundCount"] == 11  # Eve three times
    finals = [(r["e164"], r["final_result"]) for r in json.loads(pg_out[2])]
    assert ("+12025550105", "CARRIER_TEMP_ERROR") in finals
    assert finals[-2:] == [("+12025550101", "DNC"), ("+12025550102", "SENT")]
    with psycopg.connect(pg_db) as conn:
        assert conn.execute("SELECT from_number, number FROM text_optouts").fetchall() == [
            ("+12025550000", "+12025550101")
        ]


def test_a_stop_on_postgresql_keeps_later_campaigns_from_that_number_quiet(
    pg_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [r for r in ROWS[:4]]
    for name in ("first", "again"):
        path = write(tmp_path, name, rows)
        code, out, err = run(capsys, "broadcast", "run", str(path), "--db", pg_db,
                             "--no-progress", "--report", str(tmp_path / "r.html"))  # fmt: skip
        assert code == 0, err
    code, out, err = run(capsys, "broadcast", "export", "again", "--db", pg_db)
    assert code == 0, err
    finals = {r["e164"]: r["final_result"] for r in json.loads(out)}
    assert finals == {
        "+12025550101": "DNT",  # replied STOP to the first campaign
        "+12025550102": "SENT",
        "+12025550103": "SENT",
        "+12025550104": "SENT",  # "STOP please" is no keyword
    }


def test_migration_3_adds_the_text_tables_to_a_database_that_lacks_them(pg_dsn: str) -> None:
    """A database made by the release before (migrations 1, 2 and 4) gets 3 on its next open."""
    without = tuple(m for m in MIGRATIONS if m.version != 3)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        migrate(conn, without)
        conn.execute("INSERT INTO campaigns (name, broadcast_id, config) VALUES ('c', 'b', '{}')")
        assert migrate(conn) == [3]
        assert schema_version(conn) == MIGRATIONS[-1].version
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables")}
        assert {"texts", "text_optouts", "inbound_texts"} <= tables
        assert conn.execute("SELECT name FROM campaigns").fetchall() == [("c",)]


def test_the_postgresql_store_has_the_text_interface_of_the_sqlite_store() -> None:
    import inspect

    from dialplan.broadcast.pg.store import PgStore
    from dialplan.broadcast.store.interfaces import TextCampaigns
    from dialplan.broadcast.store.sqlite import Store

    names = [n for n, v in vars(TextCampaigns).items() if callable(v) and not n.startswith("_")]
    assert len(names) == 10
    for name in names:
        expected = list(inspect.signature(getattr(TextCampaigns, name)).parameters)
        for store in (Store, PgStore):
            assert list(inspect.signature(getattr(store, name)).parameters) == expected, name


def test_a_simulating_worker_leaves_an_smpp_text_campaign_alone(
    pg_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Simulated texts are never booked into a campaign of real ones (and the reverse)."""
    from dialplan.broadcast.campaign import load_campaign
    from dialplan.broadcast.pg.service import load

    load(load_campaign(write(tmp_path)), pg_db, "real", driver="smpp")
    code, out, err = run(capsys, "broadcast", "worker", "--db", pg_db, "--format", "json")
    assert code == 0, err
    assert json.loads(out)["calls"] == 0
    assert "'texts' left alone: it runs with --clock real --driver smpp" in err
    with psycopg.connect(pg_db) as conn:
        assert conn.execute("SELECT count(*) FROM attempts").fetchone() == (0,)
