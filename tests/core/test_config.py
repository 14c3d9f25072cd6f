"""Lint configuration: prefix selection and config files."""

from __future__ import annotations

import pytest

from dialplan.errors import UsageError
from dialplan.lint.config import LintConfig, discover_config, load_config, split_codes


@pytest.mark.parametrize(
    ("select", "ignore", "code", "enabled"),
    [
        ((), (), "W070", True),
        (("E",), (), "W070", False),
        (("E", "W07"), (), "W070", True),
        ((), ("W",), "W070", False),
        (("W070",), ("W",), "W070", True),  # the more specific prefix wins
        (("W",), ("W070",), "W070", False),
        (("W07",), ("W07",), "W070", False),  # a tie: ignore wins
    ],
)
def test_longest_prefix_decides(select, ignore, code, enabled) -> None:
    assert LintConfig(select=select, ignore=ignore).enabled(code) is enabled


def test_split_codes_accepts_commas_and_rejects_junk() -> None:
    assert split_codes(["e,w06", " I "]) == ["E", "W06", "I"]
    with pytest.raises(UsageError):
        split_codes(["X12"])


def test_pyproject_table_is_discovered_upwards(tmp_path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.dialplan.lint]\nselect = ["E"]\nignore = ["E013"]\nstrict = true\n', encoding="utf-8"
    )
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    cfg = discover_config(sub)
    assert cfg.select == ("E",) and cfg.ignore == ("E013",) and cfg.strict


def test_bad_config_is_a_usage_error(tmp_path) -> None:
    path = tmp_path / "lint.toml"
    path.write_text("selct = ['E']\n", encoding="utf-8")
    with pytest.raises(UsageError, match="unknown lint setting"):
        load_config(path)
    path.write_text("select = [\n", encoding="utf-8")
    with pytest.raises(UsageError, match="invalid TOML"):
        load_config(path)
