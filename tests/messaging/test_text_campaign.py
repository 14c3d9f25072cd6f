"""Text campaigns in virtual time with the simulated messaging driver: the message and its
strategy, segments stored per text, keywords, statistics, export, preview, webhooks, errors."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from dialplan.broadcast.campaign import load_campaign
from dialplan.broadcast.preview import preview_campaign, preview_text
from dialplan.broadcast.reporting.stats import campaign_stats, export_rows
from dialplan.broadcast.service import run_campaign
from dialplan.broadcast.store.sqlite import Store
from dialplan.errors import CampaignError
from dialplan.messaging.keywords import handle, keyword
from tests.clirun import run

SPEC = Path(__file__).parents[2] / ".." / "shared" / "spec" / "callfire-v2-swagger.json"
LONG = "x" * 170


def write(tmp_path: Path, rows: list[str], extra: str = "", name: str = "texts") -> Path:
    (tmp_path / "r.csv").write_text(
        "\n".join(["phone_number,first,message,sim_result,sim_reply", *rows]) + "\n"
    )
    path = tmp_path / f"{name}.toml"
    path.write_text(
        f'name = "{name}"\nchannel = "sms"\nrecipients = "r.csv"\nfrom_number = "+12025550000"\n'
        'message = "Hi ${contact.first}, your order is ready."\n'
        '[simulation]\nseed = 3\nstart = "2026-01-05T15:00:00Z"\n' + extra
    )
    return path


def texts(db: Path) -> dict[str, tuple[str, str, int, str | None]]:
    with sqlite3.connect(db) as c:
        return {
            r[0]: (r[1], r[2], r[3], r[4])
            for r in c.execute(
                "SELECT r.e164, r.final_result, t.message, t.segments, t.delivery FROM recipients r"
                " JOIN texts t ON t.recipient_id = r.id ORDER BY r.id"
            )
        }


@pytest.mark.parametrize(
    ("strategy", "result", "segments", "sent"),
    [
        ("SEND_MULTIPLE", "SENT", 2, LONG),
        ("TRIM", "SENT", 1, LONG[:160]),
        ("DO_NOT_SEND", "TOO_BIG", 0, LONG),
    ],
)
def test_big_message_strategy_and_segments_per_text(
    tmp_path: Path, strategy: str, result: str, segments: int, sent: str
) -> None:
    rows = ["+12025550101,Ann,,DELIVERED,", f"+12025550102,Bob,{LONG},DELIVERED,"]
    path = write(tmp_path, rows)
    text = path.read_text()
    path.write_text(f'big_message_strategy = "{strategy}"\n' + text)
    run_campaign(load_campaign(path), tmp_path / "db.sqlite")
    got = texts(tmp_path / "db.sqlite")
    assert got["+12025550101"] == ("SENT", "Hi Ann, your order is ready.", 1, "DELIVERED")
    assert got["+12025550102"][:3] == (result, sent, segments)
    store = Store(tmp_path / "db.sqlite", readonly=True)
    stats = campaign_stats(store, "texts")
    store.close()
    assert stats["tooBigCount"] == (result == "TOO_BIG")
    assert stats["segmentsCount"] == 1 + segments


def test_stop_in_any_case_is_never_texted_again_from_that_number(tmp_path: Path) -> None:
    rows = [
        "+12025550101,Ann,,DELIVERED,sToP",
        "+12025550102,Bob,,DELIVERED,STOP please",
        "+12025550103,Cid,,DELIVERED,HELP",
    ]
    db = tmp_path / "db.sqlite"
    run_campaign(load_campaign(write(tmp_path, rows)), db)
    with sqlite3.connect(db) as c:
        assert list(c.execute("SELECT from_number, number FROM text_optouts")) == [
            ("+12025550000", "+12025550101")
        ]
        kinds = dict(c.execute("SELECT from_number, keyword FROM inbound_texts"))
    assert kinds == {"+12025550101": "stop", "+12025550102": None, "+12025550103": "help"}
    # a second campaign from the same number skips Ann; another sending number does not
    second = write(tmp_path, rows, name="again")
    run_campaign(load_campaign(second), db)
    store = Store(db, readonly=True)
    finals = {r["e164"]: r["final_result"] for r in export_rows(store, "again")}
    store.close()
    assert finals == {"+12025550101": "DNT", "+12025550102": "SENT", "+12025550103": "SENT"}
    other = write(tmp_path, rows, name="other")
    other.write_text(other.read_text().replace("+12025550000", "+12025559999"))
    run_campaign(load_campaign(other), db)
    store = Store(db, readonly=True)
    assert {r["final_result"] for r in export_rows(store, "other")} == {"SENT"}
    store.close()


class _Lists:
    def __init__(self) -> None:
        self.lists: set[tuple[str, str]] = set()

    def opt_out(self, from_number: str, number: str, at: float) -> bool:
        new = (from_number, number) not in self.lists
        self.lists.add((from_number, number))
        return new

    def opt_in(self, from_number: str, number: str) -> bool:
        was = (from_number, number) in self.lists
        self.lists.discard((from_number, number))
        return was


def test_keywords_are_exact_single_words_confirmed_once() -> None:
    for word in ("STOP", "stopall", " Unsubscribe ", "cancel", "End", "QUIT"):
        assert keyword(word) == "stop"
    for text in ("STOP please", "stop.", "please stop", "", "STOP STOP"):
        assert keyword(text) is None
    assert keyword("unstop") == keyword("Start") == "start"
    lists = _Lists()
    replies = {"help_reply": "H", "stop_reply": "S", "start_reply": "G"}
    first = handle(lists, "+1", "+2", "STOP", 0, **replies)
    second = handle(lists, "+1", "+2", "quit", 0, **replies)
    assert (first.reply, first.opted_out) == ("S", True)
    assert (second.reply, second.opted_out) == (None, False)  # confirmed once
    assert handle(lists, "+1", "+2", "START", 0, **replies).reply == "G"
    assert lists.lists == set()
    assert handle(lists, "+1", "+2", "help", 0, **replies).reply == "H"


def test_temporary_submit_errors_are_retried(tmp_path: Path) -> None:
    rows = ["+12025550101,Ann,,CARRIER_TEMP_ERROR,", "+12025550102,Bob,,CARRIER_ERROR,"]
    path = write(tmp_path, rows, "[retry_config]\nmax_attempts = 3\nminutes_between_attempts = 5\n")
    run_campaign(load_campaign(path), tmp_path / "db.sqlite")
    store = Store(tmp_path / "db.sqlite", readonly=True)
    attempts = {
        r["e164"]: (r["final_result"], len(r["attempts"])) for r in export_rows(store, "texts")
    }
    store.close()
    assert attempts == {
        "+12025550101": ("CARRIER_TEMP_ERROR", 3),
        "+12025550102": ("CARRIER_ERROR", 1),
    }


def test_stats_have_callfire_text_names_and_add_up(tmp_path: Path) -> None:
    rows = [
        "+12025550101,Ann,,DELIVERED,STOP",
        "+12025550102,Bob,,UNDELIVERED,",
        "+12025550103,Cid,,NO_RECEIPT,",
        "+12025550104,Dee,,CARRIER_ERROR,",
        "+12025550101,Ann2,,,",
        "not a number,Eve,,,",
    ]
    run_campaign(load_campaign(write(tmp_path, rows)), tmp_path / "db.sqlite")
    store = Store(tmp_path / "db.sqlite", readonly=True)
    stats = campaign_stats(store, "texts")
    exported = list(export_rows(store, "texts"))
    store.close()
    if SPEC.is_file():
        dto = json.loads(SPEC.read_text())["definitions"]["TextBroadcastStatsDto"]["properties"]
        assert set(dto) <= set(stats)
    assert "recievedCount" in stats  # CallFire's spelling
    assert stats["sentCount"] + stats["unsentCount"] + stats["remainingOutboundCount"] == 6
    assert (stats["sentCount"], stats["errorCount"], stats["recievedCount"]) == (3, 2, 1)
    assert (stats["deliveredCount"], stats["undeliveredCount"], stats["awaitingReceiptCount"]) == (
        1,
        1,
        1,
    )
    assert len(exported) == 6  # one row per recipient
    assert exported[0]["attempts"][0]["segments"] == 1


def test_preview_prints_the_longest_message_and_its_segments(tmp_path: Path) -> None:
    rows = ["+12025550101,Ann,,,", f"+12025550102,Bob,{'Zażółć gęślą jaźń ' * 5},,"]
    p = preview_campaign(load_campaign(write(tmp_path, rows)))
    assert p["longest"]["phone_number"] == "+12025550102"
    assert p["longest"]["encoding"] == "UCS2" and len(p["longest"]["segments"]) == 2
    text = preview_text(p)
    assert "longest message: row 2 (+12025550102): 90 UTF-16 units, UCS2, 2 segments" in text
    assert "[2/2]" in text


def test_text_events_go_to_the_webhook_outbox(tmp_path: Path) -> None:
    path = write(tmp_path, ["+12025550101,Ann,,DELIVERED,"],
                 '[webhook]\nurl = "http://127.0.0.1:9/hook"\nsecret = "s"\n[network]\nallow_private = true\n')  # fmt: skip
    run_campaign(load_campaign(path), tmp_path / "db.sqlite", deliver=False)
    with sqlite3.connect(tmp_path / "db.sqlite") as c:
        bodies = [json.loads(r[0]) for r in c.execute("SELECT body FROM outbox ORDER BY id")]
    text = [b for b in bodies if b.get("event") == "text_finished"]
    assert len(text) == 1
    assert (text[0]["text_result"], text[0]["segments"], text[0]["delivery"]) == (
        "SENT",
        1,
        "DELIVERED",
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('channel = "sms"', 'channel = "fax"'), "channel: expected one of voice, sms"),
        (('message = "Hi ${contact.first}, your order is ready."', ""), "message: is required"),
        (
            ("[simulation]", 'big_message_strategy = "SPLIT"\n[simulation]'),
            "big_message_strategy: expected one of",
        ),
        (('from_number = "+12025550000"', ""), "from_number: a text campaign needs"),
        (
            ("[simulation]", "[smpp]\nwindow = 0\n[simulation]"),
            "smpp.window: must be between 1 and 1000",
        ),
        (("[simulation]", "[smpp]\nhots = 1\n[simulation]"), "smpp.hots: unknown key"),
        (('message = "Hi', 'message = "Hi ${contact.first'), "message:"),
    ],
)
def test_bad_text_campaigns_fail_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: tuple[str, str], message: str
) -> None:
    path = write(tmp_path, ["+12025550101,Ann,,,"])
    path.write_text(path.read_text().replace(*edit))
    code, out, err = run(capsys, "broadcast", "run", str(path), "--db", str(tmp_path / "db.sqlite"))
    assert code == 2, (out, err)
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_voice_keys_and_drivers_are_refused_on_the_wrong_channel(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, ["+12025550101,Ann,,,"])
    code, _, err = run(capsys, "broadcast", "run", str(path), "--driver", "sip")
    assert code == 2 and "--driver sip is for voice campaigns" in err
    path.write_text('dialplan = "x.xml"\n' + path.read_text())
    with pytest.raises(CampaignError, match="a text campaign sends `message`"):
        load_campaign(path)
    voice = tmp_path / "voice.toml"
    voice.write_text('name = "v"\ndialplan = "x.xml"\nrecipients = "r.csv"\nmessage = "hi"\n')
    with pytest.raises(CampaignError, match="message: only text campaigns have it"):
        load_campaign(voice)


def test_texts_keep_to_the_recipients_local_window(tmp_path: Path) -> None:
    rows = ["+12125550101,Ann,,DELIVERED,", "+13035550102,Bob,,DELIVERED,"]
    extra = '[local_time_restriction]\nbegin = "10:00"\nend = "20:00"\n'
    path = write(tmp_path, rows, extra)
    run_campaign(load_campaign(path), tmp_path / "db.sqlite")  # starts 15:00Z: 10:00 in New York
    store = Store(tmp_path / "db.sqlite", readonly=True)
    starts = {r["e164"]: r["attempts"][0]["started_at"] for r in export_rows(store, "texts")}
    store.close()
    assert starts == {
        "+12125550101": "2026-01-05T15:00:00.000Z",  # 10:00 in New York
        "+13035550102": "2026-01-05T17:00:00.000Z",  # 10:00 in Denver
    }


def test_a_database_of_the_previous_release_gets_the_text_tables(tmp_path: Path) -> None:
    from tests.broadcast.test_migrations import release1_db

    path = release1_db(tmp_path)
    store = Store(path)  # a writing open upgrades (migration 3)
    try:
        tables = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master")}
        assert {"texts", "text_optouts", "inbound_texts"} <= tables
        assert campaign_stats(store, "Charity Drive")["callsAttempted"] == 7  # voice untouched
    finally:
        store.close()
    # and a text campaign runs in it beside the old voice campaign
    run_campaign(load_campaign(write(tmp_path, ["+12025550101,Ann,,DELIVERED,"])), path)
    store = Store(path, readonly=True)
    assert campaign_stats(store, "texts")["sentCount"] == 1
    store.close()
