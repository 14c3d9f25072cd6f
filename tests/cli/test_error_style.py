"""One error style in every command (issue 13 item 13): one line ``dialplan: error: …`` on
stderr, nothing on stdout, exit 2 for usage errors and missing input files — the same through
the console entry point and through click's test runner."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from dialplan.cli import COMMANDS, cli
from tests.clirun import run

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and subcommand a user can type, read from the CLI itself (so a new
    command is covered without editing this file)."""
    ctx = click.Context(group)
    paths: list[tuple[str, ...]] = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            paths += _command_paths(command, (*prefix, name))
        elif command is not None:
            paths.append((*prefix, name))
    return paths


COMMAND_PATHS = _command_paths(cli)


def assert_one_line_error(code: int, out: str, err: str, *expected: str) -> None:
    assert code == 2, err
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("dialplan: error: "), err
    for text in expected:
        assert text in err


def test_every_command_is_covered() -> None:
    assert {path[0] for path in COMMAND_PATHS} == set(COMMANDS)


@pytest.mark.parametrize("command", COMMAND_PATHS, ids=" ".join)
def test_unknown_option_is_one_line(
    capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    code, out, err = run(capsys, *command, "--no-such-option")
    assert_one_line_error(
        code, out, err, "No such option '--no-such-option'", f"dialplan {' '.join(command)} --help"
    )


@pytest.mark.parametrize("command", COMMAND_PATHS, ids=" ".join)
def test_click_runner_sees_the_same_line(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*command, "--no-such-option"], prog_name="dialplan")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("dialplan: error: No such option '--no-such-option'")


def test_unknown_command_and_missing_argument(capsys: pytest.CaptureFixture[str]) -> None:
    assert_one_line_error(*run(capsys, "nosuch"), "No such command 'nosuch'")
    assert_one_line_error(*run(capsys, "simulate"), "Missing argument 'FILE'")
    assert_one_line_error(
        *run(capsys, "call", str(EXAMPLES / "pharmacy-refill.xml")), "Missing option '--to'"
    )


def test_bare_group_shows_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "broadcast")
    assert code == 2
    assert err.startswith("Usage: dialplan broadcast")


#: command line with a missing input file → what the message names (rules and schema read none)
MISSING = "/nonexistent/input"
MISSING_INPUT = [
    (("lint", f"{MISSING}.xml"), f"{MISSING}.xml"),
    (("simulate", f"{MISSING}.xml"), f"{MISSING}.xml"),
    (("test", f"{MISSING}.calltest.toml"), f"{MISSING}.calltest.toml"),
    (("graph", f"{MISSING}.xml"), f"{MISSING}.xml"),
    (("paths", f"{MISSING}.xml"), f"{MISSING}.xml"),
    (("convert", f"{MISSING}.yaml", "--to", "xml"), f"{MISSING}.yaml"),
    (("call", f"{MISSING}.xml", "--to", "sip:1@127.0.0.1:9"), f"{MISSING}.xml"),
    (("broadcast", "run", f"{MISSING}.toml"), f"{MISSING}.toml"),
    (("broadcast", "preview", f"{MISSING}.toml"), f"{MISSING}.toml"),
    (("broadcast", "stats", "X", "--db", f"{MISSING}.sqlite"), f"{MISSING}.sqlite"),
    (("broadcast", "export", "X", "--db", f"{MISSING}.sqlite"), f"{MISSING}.sqlite"),
    (("broadcast", "report", "X", "--db", f"{MISSING}.sqlite"), f"{MISSING}.sqlite"),
]


@pytest.mark.parametrize(("argv", "named"), MISSING_INPUT, ids=lambda v: str(v))
def test_missing_input_file_is_exit_2(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], named: str
) -> None:
    assert_one_line_error(*run(capsys, *argv), named)


def test_missing_dialplan_named_by_a_call_test_is_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    scenario = tmp_path / "s.calltest.toml"
    scenario.write_text(
        'dialplan = "gone.xml"\n[[case]]\nname = "a"\n[case.expect]\noutcome = "hangup"\n',
        encoding="utf-8",
    )
    code, out, err = run(capsys, "test", str(scenario))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "s.calltest.toml: dialplan: no such file: " in err


@pytest.fixture
def campaign_with_bad_dialplan(tmp_path: Path) -> Path:
    for name in ("charity-drive.toml", "charity-drive.xml", "charity-drive-recipients.csv",
                 "charity-drive-dnc.txt"):  # fmt: skip
        shutil.copy(EXAMPLES / name, tmp_path / name)
    plan = tmp_path / "charity-drive.xml"
    plan.write_text(
        plan.read_text(encoding="utf-8").replace("<goto>MainMenu</goto>", "<goto>Nowhere</goto>"),
        encoding="utf-8",
    )
    return tmp_path / "charity-drive.toml"


@pytest.mark.parametrize("command", ["run", "preview"])
def test_invalid_dialplan_named_by_a_campaign_is_exit_2(
    capsys: pytest.CaptureFixture[str], campaign_with_bad_dialplan: Path, command: str
) -> None:
    db = campaign_with_bad_dialplan.parent / "b.sqlite"
    argv = ["broadcast", command, str(campaign_with_bad_dialplan)]
    if command == "run":
        argv += ["--db", str(db)]
    code, out, err = run(capsys, *argv)
    assert_one_line_error(code, out, err, "charity-drive.toml: dialplan: invalid dialplan", "E031")
    assert not db.exists()  # refused before anything was stored


def test_console_script_prints_the_same_line(tmp_path: Path) -> None:
    """The real process: no traceback, one line, exit 2."""
    done = subprocess.run(
        [sys.executable, "-m", "dialplan", "graph", "--format", "png", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("dialplan: error: Invalid value for '--format'")
