"""Campaign files are refused at load, with file and key, before anything is stored (issue 13
items 8, 9, 14): unknown keys (all at once, with suggestions), absurd numbers, dates the
virtual clock cannot reach, an empty ``days_of_week``, duplicate CSV columns."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dialplan.broadcast.campaign import load_campaign
from dialplan.broadcast.campaign_keys import SECTIONS
from dialplan.broadcast.service import run_campaign
from dialplan.errors import CampaignError

from .helpers import fake_runner, write_campaign

ROOT = Path(__file__).resolve().parents[2]
ROWS = [
    {"phone_number": "+12125550101", "first": "Ann", "sim_result": "BUSY"},
    {"phone_number": "+12125550102", "first": "Bob", "sim_result": "LA"},
]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
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


TYPOS = """\
name = "typos"
dialplan = "plan.xml"
recipients = "recipients.csv"
max_activ = 3
scrub_duplicate = false
minutes_between_attempts = 5

[retry_config]
max_attempt = 3
minutes_between_attempts = 5

[simulation]
sed = 4
[simulation.weights]
LA = 1
BUZY = 1

[[schedules]]
days_of_wek = ["MONDAY"]

[netwrok]
allow_private = true

[sip]
passwrd = "secret"
[sip.amd]
greting_ms = 1000
"""


def test_every_unknown_key_is_reported_at_once_with_a_suggestion(tmp_path: Path) -> None:
    write_campaign(tmp_path, ROWS)
    path = tmp_path / "typos.toml"
    path.write_text(TYPOS)
    out = run_cli("run", str(path), "--db", str(tmp_path / "db.sqlite"), "--no-progress")
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    expected = [
        "max_activ: unknown key (did you mean 'max_active'?)",
        "scrub_duplicate: unknown key (did you mean 'scrub_duplicates'?)",
        "minutes_between_attempts: unknown key (it belongs in [retry_config])",
        "retry_config.max_attempt: unknown key (did you mean 'max_attempts'?)",
        "simulation.sed: unknown key (did you mean 'seed'?)",
        "simulation.weights.BUZY: unknown key (did you mean 'BUSY'?)",
        "schedules[0].days_of_wek: unknown key (did you mean 'days_of_week'?)",
        "netwrok: unknown key (did you mean 'network'?)",
        "sip.passwrd: unknown key (did you mean 'password'?)",
        "sip.amd.greting_ms: unknown key (did you mean 'greeting_ms'?)",
    ]
    assert lines[0].startswith("dialplan: error: ")
    lines[0] = lines[0].removeprefix("dialplan: error: ")
    assert lines == [f"{path}: {want}" for want in expected]  # in file order
    assert not (tmp_path / "db.sqlite").exists()  # refused before anything was stored


def test_unknown_keys_in_json_and_free_form_tables(tmp_path: Path) -> None:
    write_campaign(tmp_path, ROWS)
    data: dict[str, Any] = {
        "name": "j",
        "dialplan": "plan.xml",
        "recipients": "recipients.csv",
        "custom_data": {"anything": {"goes": 1}},  # free-form: never checked
        "simulation": {"inputs": {"1;2": 1}},
        "webhook": {"url": "https://example.com/h", "secret": "s", "secrett": "x"},
        "zzz": 1,
        "Max_Active": 2,
    }
    path = tmp_path / "c.json"
    path.write_text(json.dumps(data))
    with pytest.raises(CampaignError) as err:
        load_campaign(path)
    assert str(err.value).splitlines() == [
        f"{path}: webhook.secrett: unknown key (did you mean 'secret'?)",
        f"{path}: zzz: unknown key",
        f"{path}: Max_Active: unknown key (did you mean 'max_active'?)",
    ]


def test_the_key_table_lists_every_key_the_full_example_uses() -> None:
    # the reader asserts each key it reads is in campaign_keys: the example reads them all
    camp = load_campaign(ROOT / "examples" / "charity-drive.toml")
    assert camp.name
    assert "sip" not in SECTIONS  # sip keys come from the SIP driver's own list


@pytest.mark.parametrize(
    ("tables", "top", "message"),
    [
        (
            {"retry_config": {"minutes_between_attempts": 1e18}},
            {},
            "retry_config.minutes_between_attempts: must be between 0 and 525600, got 1e+18",
        ),
        (
            {"retry_config": {"minutes_between_attempts": float("nan")}},
            {},
            "retry_config.minutes_between_attempts: expected a finite number, got nan",
        ),
        (
            {"retry_config": {"minutes_between_attempts": float("inf")}},
            {},
            "retry_config.minutes_between_attempts: expected a finite number, got inf",
        ),
        (
            {"retry_config": {"minutes_between_attempts": -5}},
            {},
            "retry_config.minutes_between_attempts: must be between 0 and 525600, got -5",
        ),
        ({}, {"calls_per_second": float("inf")}, "calls_per_second: expected a finite number"),
        ({}, {"calls_per_second": 1e-300}, "calls_per_second: must be between 0.001 and 1000"),
        ({}, {"max_active": 10**15}, "max_active: must be between 1 and 10000"),
        (
            {"simulation": {"start": "9999-12-31T23:00:00Z"}},
            {},
            "simulation.start: must be between 1970-01-01 and 2199-12-31",
        ),
        (
            {"simulation": {"start": "0001-01-01T00:00:00Z"}},
            {},
            "simulation.start: must be between 1970-01-01 and 2199-12-31",
        ),
        (
            {"simulation": {"weights": {"LA": float("inf")}}},
            {},
            "simulation.weights.LA: expected a finite number",
        ),
    ],
)
def test_absurd_numbers_are_refused_with_file_and_key(
    tmp_path: Path, tables: dict[str, Any], top: dict[str, Any], message: str
) -> None:
    path = write_campaign(tmp_path, ROWS, tables=tables, **top)
    out = run_cli("run", str(path), "--db", str(tmp_path / "db.sqlite"), "--no-progress")
    assert out.returncode == 2
    assert out.stderr.strip().startswith(f"dialplan: error: {path}: {message}")
    assert "\n" not in out.stderr.strip()


def test_nan_and_infinity_in_json_are_refused(tmp_path: Path) -> None:
    write_campaign(tmp_path, ROWS)
    path = tmp_path / "c.json"
    path.write_text(
        '{"name": "j", "dialplan": "plan.xml", "recipients": "recipients.csv",'
        ' "retry_config": {"minutes_between_attempts": NaN}, "calls_per_second": Infinity}'
    )
    with pytest.raises(CampaignError, match="expected a finite number"):
        load_campaign(path)


def test_schedule_dates_the_clock_cannot_reach_are_refused(tmp_path: Path) -> None:
    path = write_campaign(
        tmp_path, ROWS, tables={"simulation": {"seed": 1}}, schedules=[{"start_date": "9999-12-30"}]
    )
    out = run_cli("run", str(path), "--db", str(tmp_path / "db.sqlite"), "--no-progress")
    assert out.returncode == 2
    assert out.stderr.strip() == (
        f"dialplan: error: {path}: schedules[0].start_date: must be between 1970-01-01 and"
        " 2199-12-31, got 9999-12-30"
    )


def test_an_open_ended_stop_date_and_the_longest_retries_still_run(tmp_path: Path) -> None:
    # the bounds are chosen so that a run from the latest start never overflows datetime
    path = write_campaign(
        tmp_path,
        ROWS,
        tables={
            "simulation": {"seed": 1, "start": "2199-12-31T00:00:00Z"},
            "retry_config": {"max_attempts": 100, "minutes_between_attempts": 525600},
        },
        schedules=[{"stop_date": "9999-12-31"}],
    )
    report = run_campaign(load_campaign(path), tmp_path / "db.sqlite", runner=fake_runner)
    assert report.finished_at > report.started_at + 99 * 365 * 86400


def test_empty_days_of_week_is_refused(tmp_path: Path) -> None:
    path = write_campaign(tmp_path, ROWS, schedules=[{"days_of_week": []}])
    with pytest.raises(CampaignError) as err:
        load_campaign(path)
    assert str(err.value).startswith(f"{path}: schedules[0].days_of_week: is empty")


def test_duplicate_csv_headers_are_refused_naming_the_columns(tmp_path: Path) -> None:
    path = write_campaign(tmp_path, ROWS)
    (tmp_path / "recipients.csv").write_text(
        "phone_number,first,phone_number,first,,\n+12125550101,Ann,+12125550199,Annie,,\n"
    )
    out = run_cli("run", str(path), "--db", str(tmp_path / "db.sqlite"), "--no-progress")
    assert out.returncode == 2
    csv_path = tmp_path / "recipients.csv"
    assert out.stderr.strip() == (
        f"dialplan: error: {csv_path}:1: duplicate column names:"
        " 'phone_number' (columns A and C); 'first' (columns B and D)"
    )
    out = run_cli("preview", str(path))
    assert out.returncode == 2 and "duplicate column names" in out.stderr


@pytest.mark.parametrize(
    ("custom", "message"),
    [
        ('{"x": {"y": [1, NaN]}}', "custom_data.x.y[1]: expected a finite number, got nan"),
        ('{"x": Infinity}', "custom_data.x: expected a finite number, got inf"),
    ],
)
def test_custom_data_that_is_not_json_is_refused_at_load(
    tmp_path: Path, custom: str, message: str
) -> None:
    # custom_data is echoed in every webhook event: a NaN crashed the run ("internal error")
    write_campaign(tmp_path, ROWS)
    path = tmp_path / "c.json"
    path.write_text(
        '{"name": "j", "dialplan": "plan.xml", "recipients": "recipients.csv",'
        f' "custom_data": {custom}}}'
    )
    with pytest.raises(CampaignError) as err:
        load_campaign(path)
    assert str(err.value) == f"{path}: {message}"


def test_toml_dates_in_custom_data_are_refused_at_load(tmp_path: Path) -> None:
    path = write_campaign(tmp_path, ROWS)
    path.write_text(path.read_text() + "[custom_data]\nwhen = 2026-01-01\n")
    out = run_cli("run", str(path), "--db", str(tmp_path / "db.sqlite"), "--no-progress")
    assert out.returncode == 2
    assert out.stderr == (
        f"dialplan: error: {path}: custom_data.when: dates and times are not JSON: write it as a"
        " string, '2026-01-01'\n"
    )


def test_a_schedule_whose_dates_hold_none_of_its_days_is_refused(tmp_path: Path) -> None:
    # 2026-12-01 is a Tuesday: a Monday-only schedule from Tuesday to Sunday never opens
    schedule = {"start_date": "2026-12-01", "stop_date": "2026-12-06", "days_of_week": ["MONDAY"]}
    path = write_campaign(tmp_path, ROWS, schedules=[schedule])
    with pytest.raises(CampaignError) as err:
        load_campaign(path)
    assert str(err.value) == (
        f"{path}: schedules[0].days_of_week: none of them falls between 2026-12-01 and"
        " 2026-12-06: nobody would ever be called"
    )
    schedule["stop_date"] = "2026-12-07"  # that Monday is in
    load_campaign(write_campaign(tmp_path, ROWS, schedules=[schedule]))
