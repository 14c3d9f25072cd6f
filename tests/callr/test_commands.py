"""Every command accepts a Callr scenario: load, lint (files and directories), simulate, test,
graph, paths and campaigns."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import dialplan
from dialplan.model import Play, Script

ROOT = Path(__file__).resolve().parents[2]
YAML = ROOT / "examples" / "appointment-reminder.yaml"


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dialplan", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_load_gives_the_typed_model() -> None:
    from dialplan.callr import YamlDocument
    from dialplan.parse import parse_any

    assert isinstance(parse_any(YAML), YamlDocument)
    plan = dialplan.load(YAML)
    kinds = {type(n) for n in plan.nodes}
    assert Play in kinds and Script in kinds
    assert plan.resolve("broadcast") is not None


def test_marker_selects_yaml_for_text_without_a_name() -> None:
    text = "dialplan: yaml\nbranches:\n  inbound-call:\n    actions:\n      - action: hangup@v1\n"
    assert dialplan.simulate(text).outcome == "hangup"


def test_lint_recurses_into_scenarios_but_not_other_yaml(tmp_path: Path) -> None:
    shutil.copy(YAML, tmp_path / "reminder.yaml")
    (tmp_path / "broken.yml").write_text("branches:\n  x:\n    actions:\n      - action: nope@v1\n")
    (tmp_path / ".pre-commit-config.yaml").write_text("repos: []\n")
    done = cli("lint", str(tmp_path), "--format", "json")
    assert done.returncode == 1, done.stderr
    assert '"file": "' + str(tmp_path / "broken.yml") in done.stdout
    assert "E00A" in done.stdout and "pre-commit" not in done.stdout


def test_simulate_shows_the_run_variable_note() -> None:
    done = cli("simulate", str(YAML), "--contact", "targetA=+33639980042", "--input", "1")
    assert done.returncode == 0, done.stderr
    assert "note: run variable $targetA is not declared by the scenario" in done.stderr


def test_call_tests_run_on_the_scenario() -> None:
    done = cli("test", "examples/appointment-reminder.calltest.toml", "--coverage")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "6 passed, 0 failed" in done.stdout


def test_graph_and_paths() -> None:
    done = cli("graph", str(YAML), "--format", "mermaid")
    assert done.returncode == 0, done.stderr
    assert "Hello there" in done.stdout
    done = cli("paths", str(YAML))
    assert done.returncode == 0, done.stderr
    assert "appointment-reminder.yaml" in done.stdout


def test_invalid_scenarios_are_reported_with_locations_not_simulated() -> None:
    done = cli("simulate", "tests/lint/fixtures/callr/E00A_unknown_action.yaml")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "E00A_unknown_action.yaml:4:17" in done.stderr


@pytest.mark.parametrize("db", ["c.sqlite"])
def test_a_campaign_runs_a_scenario(tmp_path: Path, db: str) -> None:
    shutil.copy(YAML, tmp_path / "reminder.yaml")
    (tmp_path / "people.csv").write_text("phone_number,userID\n+12125550100,7\n+12125550101,8\n")
    (tmp_path / "c.toml").write_text(
        'name = "Reminders"\ndialplan = "reminder.yaml"\nrecipients = "people.csv"\n'
    )
    done = cli("broadcast", "run", str(tmp_path / "c.toml"), "--db", str(tmp_path / db),
               "--format", "json", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
