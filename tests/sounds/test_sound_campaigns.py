"""Message campaigns from a ``[sounds]`` table (CallFire's voice broadcast) and per-recipient
plays (EnableX), simulated end to end on a real SQLite store."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from dialplan.broadcast.campaign import load_campaign
from dialplan.broadcast.reporting.stats import export_rows
from dialplan.broadcast.service import run_campaign
from dialplan.broadcast.sounds_campaign import generated_dialplan
from dialplan.broadcast.store.sqlite import Store
from dialplan.errors import CampaignError
from tests.clirun import run as cli

EXAMPLES = Path(__file__).parents[2] / "examples"
MARY = "charity-campaign-sounds.toml"
LIVE = "Hello, this is Mary, from the local branch of Non-profit agency."
MACHINE = "If you are interested in charity weekend, please call (231) 455-7676."
TRANSFER = "Please wait a moment, call is being transfer."


def mary(tmp_path: Path, rows: list[str], extra: str = "") -> Path:
    """The example campaign, copied with its own recipients (and extra top-level keys)."""
    text = (EXAMPLES / MARY).read_text(encoding="utf-8")
    path = tmp_path / MARY
    path.write_text(extra + "\n" + text, encoding="utf-8")
    csv = "phone_number,first,sim_result,sim_inputs\n" + "\n".join(rows) + "\n"
    (tmp_path / "charity-campaign-recipients.csv").write_text(csv, encoding="utf-8")
    return path


def results(db: Path, name: str = "Charity Campaign") -> dict[str, dict[str, object]]:
    store = Store(db, readonly=True)
    try:
        return {r["phone_number"]: r for r in export_rows(store, name)}
    finally:
        store.close()


def outbox_events(db: Path) -> list[dict[str, object]]:
    con = sqlite3.connect(db)
    try:
        return [json.loads(body) for (body,) in con.execute("SELECT body FROM outbox ORDER BY id")]
    finally:
        con.close()


def test_marys_campaign_live_transfer_machine_and_dnc(tmp_path: Path) -> None:
    path = mary(
        tmp_path,
        [
            "12135551100,Ann,LA,1",
            "12135771188,Bob,AM,",
            "12135551101,Cy,LA,9",
            "12135551102,Di,LA,",
        ],
    )
    db = tmp_path / "b.sqlite"
    run_campaign(load_campaign(path), db)
    rows = results(db)
    ann, bob, cy, di = (
        rows[n] for n in ("12135551100", "12135771188", "12135551101", "12135551102")
    )
    assert ann["final_result"] == "XFER"  # pressed 1: transferred
    assert bob["final_result"] == "AM" and cy["final_result"] == "LA" and di["final_result"] == "LA"
    # what each one heard (the simulated engine's prompts, through the preview of the same plan)
    from dialplan import simulate
    from dialplan.broadcast.service import load_dialplan

    plan = load_dialplan(load_campaign(path))
    live = simulate(plan, amd="live", inputs=["1"])
    assert [p.split(".")[0] for p in live.prompts] == [LIVE.split(".")[0], TRANSFER.split(".")[0]]
    assert live.outcome == "transfer" and live.transfer is not None
    assert live.transfer["numbers"] == ["12314557676"]
    machine = simulate(plan, amd="machine")
    assert len(machine.prompts) == 1 and MACHINE in machine.prompts[0]
    idle = simulate(plan, amd="live", inputs=[])
    assert idle.outcome == "hangup" and len(idle.prompts) == 1

    # Cy pressed 9: the number is on the account's DNC list, so a later campaign skips it
    later = path.read_text(encoding="utf-8").replace(
        'name = "Charity Campaign"', 'name = "Charity Campaign 2"'
    )
    later_path = tmp_path / "later.toml"
    later_path.write_text(later, encoding="utf-8")
    run_campaign(load_campaign(later_path), db)
    again = results(db, "Charity Campaign 2")
    assert again["12135551101"]["final_result"] == "DNC"
    assert again["12135551100"]["final_result"] == "XFER"


def test_idle_hangup_after_the_message(tmp_path: Path) -> None:
    """A live answer that presses nothing hangs up ``idle_hangup`` seconds after the message."""
    from dialplan import simulate
    from dialplan.broadcast.service import load_dialplan

    path = mary(tmp_path, ["12135551100,Ann,LA,"])
    durations = {}
    original = path.read_text(encoding="utf-8")
    for idle in (2, 20):
        text = original.replace("idle_hangup = 5", f"idle_hangup = {idle}")
        path.write_text(text, encoding="utf-8")
        call = simulate(load_dialplan(load_campaign(path)), amd="live", inputs=[])
        assert call.outcome == "hangup"
        durations[idle] = call.duration_s
    assert durations[20] - durations[2] == pytest.approx(18.0, abs=0.01)


def test_transfers_above_max_active_transfers_wait_then_give_up(tmp_path: Path) -> None:
    """Six live answers press 1 at the same moment with one transfer slot: the first is
    transferred, the others wait; a simulated transfer holds its slot 66 s (ring and talk), more
    than the 30 s transfer timeout, so they give up (LA). With a slot each, all six are XFER."""
    rows = [f"1213555{1100 + i},P{i},LA,1" for i in range(6)]
    top = "calls_per_second = 100\nmax_active = 10\n"
    one = mary(tmp_path / "one", rows, top) if (tmp_path / "one").mkdir() is None else None
    assert one is not None
    text = one.read_text(encoding="utf-8").replace(
        "max_active_transfers = 2", "max_active_transfers = 1"
    )
    text = text.replace("max_active = 4\n", "")
    one.write_text(text, encoding="utf-8")
    run_campaign(load_campaign(one), tmp_path / "one.sqlite")
    got = [r["final_result"] for r in results(tmp_path / "one.sqlite").values()]
    assert got.count("XFER") == 1 and got.count("LA") == 5

    (tmp_path / "six").mkdir()
    six = mary(tmp_path / "six", rows, top)
    six.write_text(
        six.read_text(encoding="utf-8")
        .replace("max_active_transfers = 2", "max_active_transfers = 6")
        .replace("max_active = 4\n", ""),
        encoding="utf-8",
    )
    run_campaign(load_campaign(six), tmp_path / "six.sqlite")
    assert {r["final_result"] for r in results(tmp_path / "six.sqlite").values()} == {"XFER"}


def test_a_waiting_transfer_goes_through_when_a_slot_frees_in_time(tmp_path: Path) -> None:
    """With a 90 s transfer timeout the second transfer waits for the first slot (66 s) and
    is transferred; its call is longer by the wait."""
    rows = ["12135551100,A,LA,1", "12135551101,B,LA,1"]
    path = mary(tmp_path, rows, "calls_per_second = 100\n")
    text = path.read_text(encoding="utf-8").replace(
        "max_active_transfers = 2", "max_active_transfers = 1"
    )
    text = text.replace("idle_hangup = 5", "idle_hangup = 5\ntransfer_timeout = 90")
    path.write_text(text, encoding="utf-8")
    run_campaign(load_campaign(path), tmp_path / "b.sqlite")
    rows_out = results(tmp_path / "b.sqlite")
    a, b = rows_out["12135551100"], rows_out["12135551101"]
    assert a["final_result"] == b["final_result"] == "XFER"
    a_len = a["attempts"][0]["duration"]  # type: ignore[index]
    b_len = b["attempts"][0]["duration"]  # type: ignore[index]
    assert b_len - a_len > 60.0  # waited for the slot (66 s less the 0.01 s between calls)


def test_preview_show_dialplan_prints_a_plan_that_lints_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "broadcast", "preview", str(EXAMPLES / MARY), "--show-dialplan")
    assert code == 0, err
    assert out.startswith('<dialplan name="Charity Campaign">')
    plan = tmp_path / "generated.xml"
    plan.write_text(out, encoding="utf-8")
    code, lint_out, _ = cli(capsys, "lint", str(plan), "--format", "json")
    assert code == 0
    assert [d for d in json.loads(lint_out) if d["severity"] in ("error", "warning")] == []
    code, graph_out, _ = cli(capsys, "graph", str(plan), "--format", "mermaid")
    assert code == 0 and "transfer" in graph_out
    code, sim_out, _ = cli(capsys, "simulate", str(plan), "--input", "1")
    assert code == 0 and "transfers to 12314557676" in sim_out


def test_per_recipient_plays_and_prompt_ref_in_playstate_events(tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / MARY, tmp_path / "c.toml")
    text = (tmp_path / "c.toml").read_text(encoding="utf-8")
    start = text.index("\n[sounds]\n")
    end = text.index("\n[local_time_restriction]")
    text = text[:start] + "\n[sounds]\nidle_hangup = 1\n" + text[end:]
    text += '\n[webhook]\nurl = "http://127.0.0.1:9/events"\nsecret = "s"\n'
    text += "[network]\nallow_private = true\n"
    (tmp_path / "c.toml").write_text(text, encoding="utf-8")
    (tmp_path / "charity-campaign-recipients.csv").write_text(
        "phone_number,url,prompt,tts,voice,language,ssml,prompt_ref,sim_result\n"
        "12135551100,http://127.0.0.1:9/a.wav,,,,,,ref_url,LA\n"
        "12135551101,,welcome,,,,,ref_prompt,LA\n"
        '12135551102,,,"Bonjour Marie",Female,fr-FR,,ref_fr,LA\n'
        "12135551103,,,Hello Bob,Male,en-US,,,LA\n"
        '12135551104,,,,,,"<speak>Press <say-as interpret-as=""digits"">9</say-as></speak>",'
        "ref_ssml,AM\n",
        encoding="utf-8",
    )
    campaign = load_campaign(tmp_path / "c.toml")
    xml = generated_dialplan(campaign)
    assert 'voice="Female@fr-FR"' in xml and 'voice="Male@en-US"' in xml
    db = tmp_path / "b.sqlite"
    with pytest.raises(CampaignError, match=r"c.toml|recipients.csv:3: prompt: no sound 'welcome'"):
        run_campaign(campaign, db, deliver=False)
    from dialplan.sounds.library import SoundLibrary

    with SoundLibrary(db) as lib:
        lib.add_tts("Welcome", "FEMALE1", name="welcome")
    run_campaign(campaign, db, deliver=False)
    plays: dict[str, set[str]] = {}
    for event in outbox_events(db):
        if event.get("event") == "playstate" or "playstate" in event:
            plays.setdefault(str(event["to"]), set()).add(str(event["prompt_ref"]))
    assert plays == {
        "+12135551100": {"ref_url"},
        "+12135551101": {"ref_prompt"},
        "+12135551102": {"ref_fr"},
        "+12135551103": {"recipient_tts_2"},  # no prompt_ref: the play's name
        "+12135551104": {"ref_ssml"},
    }


@pytest.mark.parametrize(
    ("csv_rows", "message"),
    [
        ("12135551100,x,y,,,\n", "recipients.csv:2: give one of url, tts, not several"),
        ("12135551100,,hi,Female,xx-QQ,\n", "recipients.csv:2: voice/language: no voice speaks"),
        ("12135551100,,,,,<speak><audio/></speak>\n", "recipients.csv:2: ssml:1:1: <audio>"),
    ],
)
def test_bad_recipient_plays_fail_before_the_campaign_starts(
    tmp_path: Path, csv_rows: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = mary(tmp_path, [])
    (tmp_path / "charity-campaign-recipients.csv").write_text(
        "phone_number,url,tts,voice,language,ssml\n" + csv_rows, encoding="utf-8"
    )
    db = tmp_path / "b.sqlite"
    code, _, err = cli(capsys, "broadcast", "run", str(path), "--db", str(db), "--no-progress")
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not db.exists() or "Charity Campaign" not in results_names(db)


def results_names(db: Path) -> list[str]:
    store = Store(db, readonly=True)
    try:
        return store.campaign_names()
    finally:
        store.close()


@pytest.mark.parametrize(
    ("sounds", "message"),
    [
        ('live_sound_text_voice = "ROBOT"', "sounds.live_sound_text_voice: unknown voice 'ROBOT'"),
        ('transfer_digit = "12"', "sounds.transfer_digit: expected one key"),
        ('dnc_digit = "1"', "sounds.dnc_digit: must differ from transfer_digit"),
        ("live_sound_id = 7", "sounds.live_sound_id: give live_sound_text or live_sound_id"),
        ("idle_hangup = -1", "sounds.idle_hangup: must be between 0 and 300"),
        ("volume = 3", "sounds.volume: unknown key"),
    ],
)
def test_bad_sounds_tables_are_one_line_errors(
    tmp_path: Path, sounds: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = mary(tmp_path, ["12135551100,Ann,LA,"])
    text = path.read_text(encoding="utf-8")
    key = sounds.split(" =")[0]
    lines = [ln for ln in text.splitlines() if not ln.startswith(f"{key} =")]
    text = "\n".join(lines).replace("[sounds]\n", f"[sounds]\n{sounds}\n")
    path.write_text(text, encoding="utf-8")
    code, _, err = cli(capsys, "broadcast", "preview", str(path))
    assert code == 2, err
    assert message in err and len(err.strip().splitlines()) == 1


def test_dialplan_and_sounds_together_are_refused(tmp_path: Path) -> None:
    path = mary(tmp_path, ["12135551100,Ann,LA,"], 'dialplan = "x.xml"')
    with pytest.raises(CampaignError, match="give a dialplan or a \\[sounds\\] table, not both"):
        load_campaign(path)


def test_a_library_sound_missing_from_the_store_is_an_error_before_calling(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = mary(tmp_path, ["12135551100,Ann,LA,"])
    text = path.read_text(encoding="utf-8").replace(
        'machine_sound_text = "Hello, this is Mary, from the local branch of Non-profit agency.'
        ' If you are interested in charity weekend, please call (231) 455-7676."',
        'machine_sound_id = "voicemail"',
    )
    path.write_text(text, encoding="utf-8")
    db = tmp_path / "b.sqlite"
    code, _, err = cli(capsys, "broadcast", "run", str(path), "--db", str(db), "--no-progress")
    assert code == 2
    assert "sounds.machine_sound_id: no sound 'voicemail' in the library" in err
    from dialplan.sounds.library import SoundLibrary

    with SoundLibrary(db) as lib:
        lib.add_tts("Please call us back", name="voicemail")
    code, _out, err = cli(capsys, "broadcast", "run", str(path), "--db", str(db), "--no-progress")
    assert code == 0, err


@pytest.mark.parametrize("resume", [True, False])
def test_resume_next_day(tmp_path: Path, resume: bool) -> None:
    """A one-minute calling window a day and one line: with ``resume_next_day = true`` the
    campaign goes on the next calling day (Wednesday) until everyone is called; with ``false``
    it stops at the end of its first calling day and the rest are UNDIALED."""
    rows = [f"1212555{1100 + i},P{i},LA," for i in range(8)]  # New York numbers
    path = mary(tmp_path, rows)
    text = path.read_text(encoding="utf-8")
    text = text.replace("resume_next_day = false", f"resume_next_day = {str(resume).lower()}")
    text = text.replace("max_active = 4", "max_active = 1")
    text = text.replace(
        'start_time_of_day = "10:00"', 'start_time_of_day = "10:00"\nstop_time_of_day = "10:01"'
    )
    path.write_text(text, encoding="utf-8")
    run_campaign(load_campaign(path), tmp_path / "b.sqlite")
    finals = [r["final_result"] for r in results(tmp_path / "b.sqlite").values()]
    if resume:
        assert finals == ["LA"] * 8
    else:
        assert 1 <= finals.count("LA") < 8
        assert finals.count("LA") + finals.count("UNDIALED") == 8


def test_labels_are_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = mary(tmp_path, ["12135551100,Ann,LA,"])
    db = tmp_path / "b.sqlite"
    run_campaign(load_campaign(path), db)
    code, out, _ = cli(capsys, "broadcast", "list", "--db", str(db), "--format", "json")
    assert code == 0 and json.loads(out)[0]["labels"] == ["charity", "id-10002"]
    code, out, _ = cli(capsys, "broadcast", "list", "--db", str(db))
    header, row = out.splitlines()
    assert header.split()[-1] == "labels" and row.split()[-1] == "charity,id-10002"
