"""A resumed campaign calls what it first loaded: input fingerprints, and ``broadcast add``."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dialplan.broadcast.adding import add_recipients
from dialplan.broadcast.campaign import load_campaign
from dialplan.broadcast.service import run_campaign
from dialplan.broadcast.telephony.port import AttemptOutcome, CallRequest
from dialplan.broadcast.telephony.simulated import SimulatedDriver
from dialplan.errors import CampaignError

from .helpers import count, fake_runner, write_campaign

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "dialplan", "broadcast", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


class Recording(SimulatedDriver):
    """The simulated driver, remembering every (recipient, attempt) it places."""

    def __init__(self, path: Path) -> None:
        super().__init__(load_campaign(path), fake_runner)
        self.placed: list[tuple[int, int]] = []

    def place(self, call: CallRequest, now: float) -> AttemptOutcome:
        self.placed.append((call.recipient_id, call.attempt_no))
        return super().place(call, now)


def run(path: Path, db: Path) -> list[tuple[int, int]]:
    driver = Recording(path)
    run_campaign(load_campaign(path), db, driver=driver, deliver=False)
    return driver.placed


def rows(n: int, start: int = 0) -> list[dict[str, str]]:
    return [{"phone_number": f"(212) 555-{i:04d}", "first": f"n{i}"} for i in range(start, n)]


def append_csv(path: Path, lines: list[list[str]]) -> None:
    with path.open("a", newline="") as fh:
        csv.writer(fh).writerows(lines)


def test_an_edited_recipients_file_after_a_kill_during_loading_is_refused(
    tmp_path: Path,
) -> None:
    path = write_campaign(tmp_path, rows(9000) + rows(30000, 10000))  # several load batches
    db = tmp_path / "x.sqlite"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # the child stops after its first committed batch: the kill lands during loading even when
    # this process is descheduled for longer than the whole load takes
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.broadcast.crash_child",
            str(path),
            str(db),
            "--hold-after-batches",
            "1",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while count(db, "SELECT COUNT(*) FROM recipients") == 0:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    con = sqlite3.connect(db)
    state, loaded = con.execute("SELECT state, loaded_rows FROM campaigns").fetchone()
    con.close()
    assert state == "loading" and 0 < loaded < 29000

    append_csv(tmp_path / "recipients.csv", [["(415) 555-0001", "new"]])
    out = cli("run", str(path), "--db", str(db), "--no-progress")
    assert out.returncode == 2, out.stderr
    (line,) = out.stderr.splitlines()
    assert "was started with other inputs: the recipients file changed" in line
    assert "recipients.csv" in line and "broadcast add" in line
    assert count(db, "SELECT COUNT(*) FROM recipients") == loaded  # nothing loaded from it


def test_a_changed_dialplan_is_refused_and_the_same_files_elsewhere_are_not(
    tmp_path: Path,
) -> None:
    path = write_campaign(tmp_path, rows(5))
    db = tmp_path / "x.sqlite"
    run(path, db)
    plan = tmp_path / "plan.xml"
    original = plan.read_text()
    plan.write_text(original.replace("Hi ", "Hello "))
    with pytest.raises(CampaignError, match=r"other inputs: the dialplan changed \(stored: .*plan"):
        run(path, db)
    out = cli("run", str(path), "--db", str(db), "--no-progress")
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "the dialplan changed" in out.stderr and "recipients" not in out.stderr
    # the same contents under other file names are the same inputs
    plan.write_text(original)
    shutil.copy(plan, tmp_path / "plan-copy.xml")
    shutil.copy(tmp_path / "recipients.csv", tmp_path / "people.csv")
    text = path.read_text().replace('"plan.xml"', '"plan-copy.xml"')
    path.write_text(text.replace('"recipients.csv"', '"people.csv"'))
    assert run(path, db) == []  # accepted: the campaign is finished, nobody is called


def test_changed_settings_say_which(tmp_path: Path) -> None:
    path = write_campaign(tmp_path, rows(3), tables={"retry_config": {"max_attempts": 2}})
    db = tmp_path / "x.sqlite"
    run(path, db)
    write_campaign(tmp_path, rows(3), tables={"retry_config": {"max_attempts": 3}}, max_active=4)
    with pytest.raises(CampaignError, match=r"settings changed \(max_active, retry_config"):
        run(path, db)


def test_add_calls_only_the_new_people_and_records_the_file(tmp_path: Path) -> None:
    path = write_campaign(tmp_path, rows(20), dnc=["2125550150"])
    db = tmp_path / "x.sqlite"
    first = run(path, db)
    assert len({r for r, _ in first}) == 20
    con = sqlite3.connect(db)
    before = con.execute("SELECT * FROM attempts ORDER BY 1, 2").fetchall()

    edited = tmp_path / "edited.csv"
    shutil.copy(tmp_path / "recipients.csv", edited)
    append_csv(
        edited,
        [
            ["(212) 555-0100", "new1"],
            ["(212) 555-0101", "new2"],
            ["212-555-0101", "new2 again"],  # the same number twice in the new file
            ["(212) 555-0150", "on the DNC list"],
            ["bad", "invalid"],
        ],
    )
    # the edited file as the campaign's recipients is refused …
    shutil.copy(path, tmp_path / "edited.toml")
    edited_campaign = tmp_path / "edited.toml"
    edited_campaign.write_text(path.read_text().replace("recipients.csv", "edited.csv"))
    with pytest.raises(CampaignError, match="the recipients file changed"):
        run(edited_campaign, db)
    # … adding it is explicit
    out = cli("add", str(path), str(edited), "--db", str(db))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[:2] == [
        f"added 5 recipients from {edited} to campaign 'test' in {db}"
        " (to call: 2, DNC: 1, invalid: 1, duplicate: 1)",
        "skipped 20 already in the campaign",
    ]
    assert count(db, "SELECT COUNT(*) FROM recipients") == 25
    assert con.execute("SELECT state FROM campaigns").fetchone() == ("running",)

    second = run(path, db)  # the campaign file still names the first file: accepted
    new_ids = {r for (r,) in con.execute("SELECT id FROM recipients WHERE row_no > 20")}
    assert second and {r for r, _ in second} <= new_ids  # only new people are called …
    assert {r for r, _ in second} == {
        r for (r,) in con.execute("SELECT id FROM recipients WHERE bucket = 'call_initiated'")
    } & new_ids
    assert con.execute("SELECT * FROM attempts ORDER BY 1, 2").fetchall()[: len(before)] == before
    finals = dict(con.execute("SELECT attributes, final_result FROM recipients WHERE row_no > 20"))
    assert finals['{"first": "on the DNC list"}'] == "DNC"
    assert finals['{"first": "invalid"}'] == "INVALID"
    assert finals['{"first": "new2 again"}'] == "DUP"
    # … and the added file may now be the campaign's own: nobody is called again
    assert run(edited_campaign, db) == []
    # adding the same file twice adds nobody
    again = add_recipients(load_campaign(path), edited, db)
    assert (again.added, again.already) == (0, 25)
    con.close()


def test_add_by_campaign_name(tmp_path: Path) -> None:
    path = write_campaign(tmp_path, rows(3))
    db = tmp_path / "x.sqlite"
    run(path, db)
    (tmp_path / "more.csv").write_text("phone_number,first\n(212) 555-0009,z\n")
    out = cli("add", "test", "more.csv", "--db", "x.sqlite", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "added 1 recipients" in out.stdout
    assert [r for r, _ in run(path, db)] == [4]


@pytest.mark.parametrize(
    ("setup", "csv_text", "message"),
    [
        ("none", "phone_number,first\n2125550101,a\n", "no campaign 'test' yet; run it first"),
        ("run", "number,first\n2125550101,a\n", "no 'phone_number' column"),
        ("run", "phone_number,last\n2125550101,a\n", "columns phone_number, last differ"),
        ("loading", "phone_number,first\n2125550101,a\n", "has not finished loading"),
    ],
)
def test_add_refusals_are_one_line(tmp_path: Path, setup: str, csv_text: str, message: str) -> None:
    path = write_campaign(tmp_path, rows(3))
    db = tmp_path / "x.sqlite"
    if setup == "run":
        run(path, db)
    elif setup == "loading":
        run(path, db)
        con = sqlite3.connect(db)
        con.execute("UPDATE campaigns SET state = 'loading'")  # as a kill mid-load leaves it
        con.commit()
        con.close()
    elif setup == "none":
        from dialplan.broadcast.store.sqlite import Store

        Store(db).close()
    before = count(db, "SELECT COUNT(*) FROM recipients")
    (tmp_path / "more.csv").write_text(csv_text)
    out = cli("add", str(path), str(tmp_path / "more.csv"), "--db", str(db))
    assert out.returncode == 2
    (line,) = out.stderr.splitlines()
    assert message in line
    assert count(db, "SELECT COUNT(*) FROM recipients") == before
