"""Users' mistakes on the command line: one clear line on stderr, the right exit code, no junk."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.clirun import run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def campaign(tmp_path: Path) -> Path:
    """A copy of the demo campaign in a temporary directory."""
    for name in ("charity-drive.toml", "charity-drive.xml", "charity-drive-recipients.csv",
                 "charity-drive-dnc.txt"):  # fmt: skip
        shutil.copy(EXAMPLES / name, tmp_path / name)
    return tmp_path / "charity-drive.toml"


def test_simulate_missing_file_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "simulate", "/nonexistent/plan.xml")
    assert code == 2
    assert "does not exist" in err
    assert "Traceback" not in err


def test_report_to_missing_directory(
    capsys: pytest.CaptureFixture[str], campaign: Path, tmp_path: Path
) -> None:
    db = str(tmp_path / "b.sqlite")
    code, _, _ = run(capsys, "broadcast", "run", str(campaign), "--db", db, "--report",
                     str(tmp_path / "r.html"))  # fmt: skip
    assert code == 0
    code, _, err = run(capsys, "broadcast", "report", "Charity Drive", "--db", db, "-o",
                       str(tmp_path / "missing" / "x.html"))  # fmt: skip
    assert code == 2
    assert err.startswith("dialplan: error: cannot write ") and err.count("\n") == 1
    code, _, err = run(capsys, "broadcast", "export", "Charity Drive", "--db", db, "-o",
                       str(tmp_path / "missing" / "x.csv"), "--format", "csv")  # fmt: skip
    assert code == 2
    assert "cannot write" in err and "Traceback" not in err


def test_run_checks_report_path_before_calling(
    capsys: pytest.CaptureFixture[str], campaign: Path, tmp_path: Path
) -> None:
    db = tmp_path / "b.sqlite"
    code, _, err = run(capsys, "broadcast", "run", str(campaign), "--db", str(db), "--report",
                       str(tmp_path / "missing" / "r.html"))  # fmt: skip
    assert code == 2
    assert "no such directory" in err
    assert not db.exists()  # nothing was called or stored


def test_export_unknown_campaign_writes_nothing(
    capsys: pytest.CaptureFixture[str], campaign: Path, tmp_path: Path
) -> None:
    db = str(tmp_path / "b.sqlite")
    assert run(capsys, "broadcast", "run", str(campaign), "--db", db, "--report",
               str(tmp_path / "r.html"))[0] == 0  # fmt: skip
    code, out, err = run(capsys, "broadcast", "export", "Nope", "--db", db)
    assert code == 2
    assert out == ""  # no half-written JSON list on stdout
    assert "no campaign 'Nope'" in err
    target = tmp_path / "x.json"
    code, _, _ = run(capsys, "broadcast", "export", "Nope", "--db", db, "-o", str(target))
    assert code == 2
    assert not target.exists()


def test_empty_recipients_leave_no_campaign_behind(
    capsys: pytest.CaptureFixture[str], campaign: Path, tmp_path: Path
) -> None:
    (tmp_path / "charity-drive-recipients.csv").write_text("", encoding="utf-8")
    db = tmp_path / "b.sqlite"
    code, _, err = run(capsys, "broadcast", "run", str(campaign), "--db", str(db))
    assert code == 2
    assert "recipients file is empty" in err
    assert not db.exists()


def test_max_attempts_is_bounded(capsys: pytest.CaptureFixture[str], campaign: Path) -> None:
    text = campaign.read_text(encoding="utf-8").replace("max_attempts = 3", "max_attempts = 10**20")
    text = text.replace("max_attempts = 10**20", "max_attempts = 100000000000000000000")
    campaign.write_text(text, encoding="utf-8")
    code, _, err = run(capsys, "broadcast", "preview", str(campaign))
    assert code == 2
    assert "retry_config.max_attempts: must be between 1 and 100" in err


def test_preview_sample_zero_and_negative(
    capsys: pytest.CaptureFixture[str], campaign: Path
) -> None:
    code, out, _ = run(capsys, "broadcast", "preview", str(campaign), "--sample", "0")
    assert code == 0
    assert "[live]" not in out and "[machine]" not in out
    code, _, err = run(capsys, "broadcast", "preview", str(campaign), "--sample", "-1")
    assert code == 2
    assert "--sample" in err


def test_negative_max_wait_is_rejected(
    capsys: pytest.CaptureFixture[str], campaign: Path, tmp_path: Path
) -> None:
    code, _, err = run(capsys, "broadcast", "run", str(campaign), "--db",
                       str(tmp_path / "b.sqlite"), "--max-wait", "-1")  # fmt: skip
    assert code == 2
    assert "--max-wait" in err


def test_lint_warns_about_a_directory_without_dialplans(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("not a dialplan", encoding="utf-8")
    (tmp_path / "ci.yaml").write_text("jobs:\n  test: {}\n", encoding="utf-8")
    code, _, err = run(capsys, "lint", str(tmp_path))
    assert code == 0
    assert f"no dialplan files (*.xml, Callr *.yaml) in directory {tmp_path}" in err
    code, _, err = run(capsys, "lint", str(EXAMPLES))
    assert "no dialplan files" not in err


def test_paths_warns_that_an_invalid_plan_cannot_be_replayed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = tmp_path / "p.xml"
    plan.write_text(
        '<dialplan name="x"><menu name="m"><play type="tts">hi</play>'
        '<keypress pressed="1"><goto/></keypress></menu></dialplan>',
        encoding="utf-8",
    )
    code, out, err = run(capsys, "paths", str(plan))
    assert code == 0
    assert "route 1:" in out
    assert "has 1 lint error" in err and "will refuse to replay" in err
    code, _, err = run(capsys, "paths", str(EXAMPLES / "pharmacy-refill.xml"))
    assert code == 0 and err == ""


def test_call_rejects_bad_numbers_before_dialling(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = str(EXAMPLES / "pharmacy-refill.xml")
    code, _, err = run(capsys, "call", plan, "--to", "sip:1@127.0.0.1:9", "--ring-timeout", "-5")
    assert code == 2 and "--ring-timeout" in err
    code, _, err = run(capsys, "call", plan, "--to", "sip:1@127.0.0.1:9", "--local-port", "70000")
    assert code == 2 and "--local-port" in err
    bad = tmp_path / "bad.xml"
    bad.write_text('<dialplan name="x"><goto/></dialplan>', encoding="utf-8")
    code, _, err = run(capsys, "call", str(bad), "--to", "sip:1@127.0.0.1:9")
    assert code == 1 and "has errors; not called" in err


def test_rules_text_has_no_rest_double_backticks(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rules")
    assert code == 0
    assert "E002" in out and "``" not in out
    assert "`<dialplan>`" in out
