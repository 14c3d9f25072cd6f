"""The README's main job: the demo campaign end to end on the real engine (CLI)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "charity-drive.toml"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env_path = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "dialplan", "broadcast", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"},
    )


def test_demo_campaign_end_to_end(tmp_path: Path) -> None:
    db = tmp_path / "demo.sqlite"
    run = cli("run", str(DEMO), "--db", str(db), "--no-progress", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "liveCount" in run.stdout and "report: charity-drive-report.html" in run.stdout
    html = (tmp_path / "charity-drive-report.html").read_text()
    assert "<svg" in html and "Charity Drive" in html

    out = cli("export", "Charity Drive", "--db", str(db), "--format", "json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    rows = {
        r["attributes"]["firstName"]: r
        for r in json.loads(out.stdout)
        if r["final_result"] != "DUP"
    }
    answers = {n: {x["question"]: x["response"] for x in r["responses"]} for n, r in rows.items()}
    # scripted by sim_result/sim_inputs; outcomes follow from charity-drive.xml:
    # 1 → stash tickets=yes and transfer; 2 → stash volunteer=yes; 9 → stash optout, DNC
    assert rows["Maria"]["final_result"] == "XFER" and answers["Maria"] == {"tickets": "yes"}
    assert rows["James"]["final_result"] == "AM" and answers["James"] == {}
    assert rows["James"]["attempts"][0]["answered_by"] == "MACHINE"
    assert rows["Aisha"]["final_result"] == "LA" and answers["Aisha"] == {"volunteer": "yes"}
    assert rows["Grace"]["final_result"] == "LA" and answers["Grace"] == {"optout": "yes"}
    assert rows["Sofia"]["final_result"] == "LA" and answers["Sofia"] == {"volunteer": "yes"}
    assert rows["Olivia"]["final_result"] == "XFER"
    assert [a["result"] for a in rows["Tom"]["attempts"]] == ["BUSY"] * 3
    assert [a["q850_cause"] for a in rows["Emma"]["attempts"]] == [19] * 3
    assert rows["Ethan"]["final_result"] == "CARRIER_ERROR"
    assert rows["Daniel"]["final_result"] == "DNC" and rows["Daniel"]["attempts"] == []
    assert rows["Nobody"]["final_result"] == "INVALID"

    stats = json.loads(
        cli("stats", "Charity Drive", "--db", str(db), "--format", "json", cwd=tmp_path).stdout
    )
    assert stats["totalCount"] == 22 and stats["callsRemaining"] == 0
    assert stats["transferCount"] >= 2 and stats["doNotCallCount"] == 2

    again = cli(
        "run", str(DEMO), "--db", str(db), "--no-progress", "--format", "json", cwd=tmp_path
    )
    assert again.returncode == 0 and json.loads(again.stdout)["resumed"] is True
    assert json.loads(again.stdout)["stats"] == stats


def test_demo_preview(tmp_path: Path) -> None:
    out = cli("preview", str(DEMO), "--format", "json", "--sample", "2", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    p = json.loads(out.stdout)
    assert p["recipients"] == 22
    assert p["skipped"] == {"dnc": 2, "duplicate": 1, "invalid": 1, "country": 0, "window": 0}
    assert p["to_call"] == 18 and p["duration_s"] > 3600  # seven time zones' windows
    first = p["samples"][0]
    assert first["phone_number"] == "(212) 555-0101" and first["inputs"] == ["1"]
    assert any("Hello Maria!" in text for text in first["live"])
    assert any("Hi Maria," in text for text in first["machine"])
    assert not list(tmp_path.iterdir())  # a dry run leaves nothing behind
