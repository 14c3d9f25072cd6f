"""The campaign file: TOML or JSON, validated with errors naming the file and the key."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from dialplan.broadcast.campaign import load_campaign
from dialplan.broadcast.loader import column_letter, load_recipients
from dialplan.broadcast.phones import Normalizer
from dialplan.errors import CampaignError

from .helpers import write_campaign

ROWS = [{"phone_number": "2125550101", "first": "Ann"}]


def test_full_example_parses(tmp_path: Path) -> None:
    path = write_campaign(
        tmp_path,
        ROWS,
        answering_machine_config="LIVE_WITH_AMD",
        max_active=5,
        calls_per_second=2.5,
        allowed_countries=["US", "CA"],
        dnc=["2125550199"],
        tables={
            "retry_config": {
                "max_attempts": 3,
                "minutes_between_attempts": 10,
                "retry_results": ["BUSY"],
            },
            "local_time_restriction": {"begin": "09:00", "end": "20:30"},
            "webhook": {"url": "http://127.0.0.1:8000/hooks", "secret": "shh"},
            "network": {"allow_private": True},
            "custom_data": {"ref": "x1"},
            "simulation": {"seed": 9, "weights": {"LA": 1, "BUSY": 1}, "inputs": {"1;2": 1, "": 3}},
        },
        schedules=[
            {
                "start_date": "2026-12-01",
                "days_of_week": ["MONDAY", "friday"],
                "time_zone": "America/Chicago",
            }
        ],
    )
    c = load_campaign(path)
    assert c.answering_machine_config == "LIVE_WITH_AMD" and c.amd_enabled
    assert c.retry.max_attempts == 3 and c.retry.retry_results == ("BUSY",)
    assert c.local_time_restriction is not None
    assert (c.local_time_restriction.begin, c.local_time_restriction.end) == (540, 1230)
    assert c.schedules[0].days_of_week == (0, 4)
    assert c.webhook is not None and c.webhook.secret == "shh" and c.allow_private
    assert c.simulation.inputs == ((("1", "2"), 1.0), ((), 3.0))
    assert c.custom_data == {"ref": "x1"}
    assert c.dnc == tmp_path / "dnc.txt"


def test_json_with_the_same_structure(tmp_path: Path) -> None:
    toml_path = write_campaign(
        tmp_path, ROWS, max_active=4, tables={"retry_config": {"max_attempts": 2}}
    )
    data = tomllib.loads(toml_path.read_text())
    json_path = tmp_path / "campaign.json"
    json_path.write_text(json.dumps(data))
    a, b = load_campaign(toml_path), load_campaign(json_path)
    assert (a.max_active, a.retry) == (b.max_active, b.retry) == (4, b.retry)


@pytest.mark.parametrize(
    ("top", "tables", "message"),
    [
        (
            {"answering_machine_config": "SOMETIMES"},
            {},
            "answering_machine_config: expected one of",
        ),
        ({"max_active": 0}, {}, "max_active: must be between 1 and 10000, got 0"),
        ({"calls_per_second": "fast"}, {}, "calls_per_second: expected a number"),
        ({"max_activ": 3}, {}, "max_activ: unknown key"),
        (
            {},
            {"local_time_restriction": {"begin": "9am", "end": "17:00"}},
            "local_time_restriction.begin: expected a time",
        ),
        (
            {},
            {"retry_config": {"retry_results": ["MAYBE"]}},
            "retry_config.retry_results: unknown result",
        ),
        ({}, {"webhook": {"url": "ftp://x", "secret": "s"}}, "webhook.url: expected an http"),
        ({}, {"webhook": {"url": "http://127.0.0.1/x"}}, "webhook.secret: is required"),
        ({}, {"simulation": {"weights": {"LA": 0}}}, "simulation.weights: at least one weight"),
        ({"allowed_countries": ["USA"]}, {}, "allowed_countries: unknown region code"),
        ({"default_time_zone": "Mars/Base"}, {}, "default_time_zone: unknown time zone"),
    ],
)
def test_bad_values_name_file_and_key(
    tmp_path: Path, top: dict, tables: dict, message: str
) -> None:
    path = write_campaign(tmp_path, ROWS, tables=tables, **top)
    with pytest.raises(CampaignError) as err:
        load_campaign(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_missing_files_and_bad_syntax(tmp_path: Path) -> None:
    path = write_campaign(tmp_path, ROWS)
    (tmp_path / "recipients.csv").unlink()
    with pytest.raises(CampaignError, match="recipients: file not found"):
        load_campaign(path)
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [unclosed")
    with pytest.raises(CampaignError, match="not valid TOML"):
        load_campaign(bad)
    with pytest.raises(CampaignError, match="cannot read campaign file"):
        load_campaign(tmp_path / "absent.toml")


def test_bad_sim_result_names_the_csv_line(tmp_path: Path) -> None:
    from dialplan.broadcast.store.sqlite import Store

    rows = [
        {"phone_number": "2125550101", "sim_result": "LA"},
        {"phone_number": "2125550102", "sim_result": "MAYBE"},
    ]
    c = load_campaign(write_campaign(tmp_path, rows))
    store = Store(tmp_path / "db.sqlite")
    cid = store.create_campaign("test", "b", {})
    with pytest.raises(
        CampaignError, match=r"recipients\.csv:3: sim_result: unknown result 'MAYBE'"
    ):
        load_recipients(store, c, cid, 0)
    store.close()


def test_missing_phone_column(tmp_path: Path) -> None:
    from dialplan.broadcast.loader import read_header

    c = load_campaign(write_campaign(tmp_path, [{"number": "2125550101"}]))
    with pytest.raises(CampaignError, match="no 'phone_number' column"):
        read_header(c)


@pytest.mark.parametrize(
    "raw",
    [
        "(212) 555-0101",
        "212.555.0101",
        "+1 212 555 0101",
        "1-212-555-0101",
        "2125550101",
        " +12125550101 ",
    ],
)
def test_common_notations_normalise_to_e164(raw: str) -> None:
    n = Normalizer("US")(raw)
    assert n.e164 == "+12125550101" and n.region == "US" and n.zones == ("America/New_York",)


def test_other_regions_and_invalid_numbers() -> None:
    assert Normalizer("US")("+44 20 7946 0018").e164 == "+442079460018"
    assert Normalizer("GB")("020 7946 0018").e164 == "+442079460018"
    assert Normalizer("GB")("020 7946 0018").zones == ("Europe/London",)
    for bad in ("12345", "", "not a number", "+1 000 555 0101"):
        assert Normalizer("US")(bad).e164 is None


def test_fast_path_agrees_with_phonenumbers() -> None:
    import random

    import phonenumbers
    from phonenumbers import timezone

    rng = random.Random(4)
    fast = Normalizer("US")
    for _ in range(3000):
        digits = f"{rng.randint(200, 999)}{rng.randint(0, 999):03d}{rng.randint(0, 9999):04d}"
        n = phonenumbers.parse("+1" + digits)
        valid = phonenumbers.is_valid_number(n)
        got = fast(digits)
        assert (got.e164 is not None) == valid, digits
        if valid:
            assert got.region == phonenumbers.region_code_for_number(n)
            assert got.zones == tuple(
                z for z in timezone.time_zones_for_number(n) if z != "Etc/Unknown"
            )


def test_column_letters() -> None:
    assert [column_letter(i) for i in (0, 1, 25, 26, 27, 51, 52, 701)] == [
        "A",
        "B",
        "Z",
        "AA",
        "AB",
        "AZ",
        "BA",
        "ZZ",
    ]
