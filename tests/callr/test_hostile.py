"""Hostile YAML is refused fast with bounded memory and is never executed."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

import dialplan
from dialplan.errors import InvalidDialplan

BOMB = "\n".join(
    ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    + ["branches: *a8"]
)


def codes(text: str, name: str = "x.yaml") -> list[tuple[str, int, int]]:
    return [(d.code, d.line, d.column) for d in dialplan.lint(text.encode(), name)]


def test_alias_bomb_is_refused_fast_in_a_memory_capped_child() -> None:
    code = (
        "import resource, sys, time\n"
        "resource.setrlimit(resource.RLIMIT_AS, (500_000_000, 500_000_000))\n"
        "import dialplan\n"
        "t = time.perf_counter()\n"
        "found = dialplan.lint(sys.stdin.buffer.read(), 'bomb.yaml')\n"
        "print(found[0].code, round(time.perf_counter() - t, 3))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], input=BOMB.encode(), capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()[-500:]
    found, seconds = done.stdout.decode().split()
    assert found == "E016"
    assert float(seconds) < 0.5  # refused while reading the events (about 4 ms here)


def test_many_aliases_are_refused() -> None:
    text = "a: &a x\nb: [" + ", ".join(["*a"] * 200) + "]\n"
    assert codes(text)[0][0] == "E016"


def test_python_tags_are_refused_never_constructed(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    for tag in ("!!python/object/apply:os.system", "!!python/object/new:os.system"):
        text = f'branches: {tag} ["touch {marker}"]\n'
        assert codes(text) == [("E001", 1, 11)], tag
    text = "branches: !!python/name:os.system\n"
    assert codes(text)[0][0] == "E001"
    assert not marker.exists()


def test_custom_tags_are_refused() -> None:
    (found,) = dialplan.lint(b"branches: !include other.yaml\n", "x.yaml")
    assert (found.code, found.line, found.column) == ("E001", 1, 11)
    assert "tag '!include' is not allowed" in found.message


def test_deep_nesting_is_refused_without_recursion_error() -> None:
    for text in ("[" * 50_000, "a:\n" + "".join(" " * i + "- \n" for i in range(200))):
        (found,) = dialplan.lint(text.encode(), "deep.yaml")
        assert found.code == "E017" and "YAML nests deeper than 64 levels" in found.message


def test_huge_documents_are_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"# " + b"x" * (5 * 1024 * 1024) + b"\n")
    t = time.perf_counter()
    (found,) = dialplan.lint(path)
    assert found.code == "E016"
    assert time.perf_counter() - t < 1.0


def test_too_many_nodes_are_refused() -> None:
    text = "branches: [" + ", ".join(["1"] * 60_000) + "]\n"
    assert codes(text)[0][0] == "E016"


def test_huge_numbers_are_refused() -> None:
    assert codes("variables:\n  $n: " + "9" * 2000 + "\n")[0][:1] == ("E019",)


@pytest.mark.parametrize(
    ("text", "code", "where", "fragment"),
    [
        ("", "E001", (1, 1), "empty document"),
        ("just text\n", "E00A", (1, 1), "a Callr scenario is a mapping"),
        ("- a\n- b\n", "E00A", (1, 1), "a Callr scenario is a mapping"),
        ("a: 1\n---\nb: 2\n", "E001", (2, 1), "one YAML document"),
        ("a: [\n", "E001", (2, 1), "not valid YAML"),
        ("a: \x01\n", "E001", (1, 4), "not valid YAML"),
        ("a: 1\na: 2\n", "E001", (2, 1), "duplicate key 'a'"),
    ],
)
def test_broken_documents_get_one_error_with_a_position(
    text: str, code: str, where: tuple[int, int], fragment: str
) -> None:
    with pytest.raises(InvalidDialplan) as caught:
        dialplan.load(text.encode(), "bad.yaml")
    first = caught.value.diagnostics[0]
    assert (first.code, (first.line, first.column)) == (code, where), first.message
    assert fragment in first.message and first.file == "bad.yaml"
