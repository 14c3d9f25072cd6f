"""numbers.toml: what it accepts, and one line with file and key for everything it refuses."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from dialplan.cli import cli
from dialplan.errors import UsageError
from dialplan.inbound.numbers import load_numbers, number_keys

PLANS = Path(__file__).parent / "plans"


def write(tmp_path: Path, text: str) -> Path:
    for name in ("menu.xml", "short.xml"):
        (tmp_path / name).write_text((PLANS / name).read_text())
    path = tmp_path / "numbers.toml"
    path.write_text(text)
    return path


GOOD = """
blacklist = ["+1 (555) 000-6666"]
[numbers."+15551230001"]
dialplan = "menu.xml"
variables = { office = "Springfield", floor = 3 }
max_concurrent = 4
transfer = "refer"
[numbers."+15551230001".hours]
zone = "America/New_York"
weekdays = "09:00-12:00, 13:00-17:00"
fri = "09:00-15:00"
out_of_hours = "short.xml"
"""


def test_a_full_configuration(tmp_path: Path) -> None:
    numbers = load_numbers(write(tmp_path, GOOD))
    config = numbers.lookup("5551230001")  # NANP without the 1 finds +1 555…
    assert config is not None and numbers.lookup("+1-555-123-0001") is config
    assert config.variables == {"office": "Springfield", "floor": "3"}
    assert (config.max_concurrent, config.transfer) == (4, "refer")
    assert numbers.blacklisted(config, "15550006666") and not numbers.blacklisted(config, "1")
    assert numbers.lookup("15559999999") is None
    # Monday 10:30 New York (14:30 UTC in December) is open; 12:30 is lunch; Friday 16:00 closed
    open_at = datetime(2026, 12, 7, 15, 30, tzinfo=UTC)
    lunch = datetime(2026, 12, 7, 17, 30, tzinfo=UTC)
    friday_late = datetime(2026, 12, 11, 21, 0, tzinfo=UTC)
    assert config.plan_at(open_at)[1].endswith("menu.xml")
    for closed in (lunch, friday_late, datetime(2026, 12, 12, 15, 30, tzinfo=UTC)):
        plan, path, out_of_hours = config.plan_at(closed)
        assert out_of_hours and path.endswith("short.xml") and plan is not None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[numbers."1"]\ndialplan = "menu.xml"\nmax_concurent = 3\n',
            "numbers.\"1\".max_concurent: unknown key (did you mean 'max_concurrent'?)",
        ),
        (
            '[numbers."1"]\ndialpln = "menu.xml"\n',
            "numbers.\"1\".dialpln: unknown key (did you mean 'dialplan'?)",
        ),
        ('[numbers."1"]\ndialplan = "nope.xml"\n', 'numbers."1".dialplan: dialplan file'),
        (
            '[numbers."1"]\ndialplan = "menu.xml"\nmax_concurrent = 0\n',
            'numbers."1".max_concurrent: must be a positive integer',
        ),
        (
            '[numbers."1"]\ndialplan = "menu.xml"\ntransfer = "blind"\n',
            "numbers.\"1\".transfer: must be 'bridge' or 'refer'",
        ),
        (
            '[numbers."1"]\ndialplan = "menu.xml"\n[numbers."1".hours]\nzone = "Mars/Base"\n'
            'daily = "09:00-17:00"\n',
            'numbers."1".hours.zone: unknown time zone',
        ),
        (
            '[numbers."1"]\ndialplan = "menu.xml"\n[numbers."1".hours]\nzone = "UTC"\n'
            'mon = "17:00-09:00"\n',
            'numbers."1".hours.mon: bad hours',
        ),
        (
            '[numbers."1"]\ndialplan = "menu.xml"\n[numbers."1".hours]\nzone = "UTC"\n'
            'monday = "09:00-17:00"\n',
            'numbers."1".hours.monday: unknown key (did you mean',
        ),
        ('[numbrs."1"]\n', "numbrs: unknown key (did you mean 'numbers'?)"),
        ("", "numbers: no numbers configured"),
        (
            '[webhook]\nurl = "ftp://x"\nsecret = "s"\n[numbers."1"]\ndialplan = "menu.xml"\n',
            "webhook.url: must be an http",
        ),
        ('[sip]\nproxxy = "x"\n[numbers."1"]\ndialplan = "menu.xml"\n', "[sip]: unknown key"),
        ("[numbers\n", "not valid TOML"),
    ],
)
def test_every_error_is_one_line_with_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(UsageError) as info:
        load_numbers(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_the_command_exits_2_with_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[numbers."1"]\ndialplan = "menu.xml"\nmax_concurent = 3\n')
    result = CliRunner().invoke(cli, ["answer", "--numbers", str(path)])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "max_concurent: unknown key" in result.output
    bad_listen = CliRunner().invoke(
        cli, ["answer", "--numbers", str(write(tmp_path, GOOD)), "--listen", "tcp:1.2.3.4:5"]
    )
    assert bad_listen.exit_code == 2 and "only udp" in bad_listen.output


def test_number_spellings() -> None:
    assert number_keys("+1 (555) 123-0001") == ["15551230001", "5551230001"]
    assert number_keys("5551230001") == ["5551230001", "15551230001"]
    assert number_keys("support") == ["support"]
