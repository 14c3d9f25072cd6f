"""``dialplan graph``: the condensed picture, DOT/Mermaid golden files, SVG through Graphviz.

Golden files are regenerated only by ``python tools/regen_flow_golden.py`` (review the diff).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from dialplan.cli import cli, main
from dialplan.model import build_plan
from dialplan.parse import parse_any
from dialplan.pictures import Picture, picture, summarize, to_dot, to_mermaid
from tests.conftest import corpus_file

HERE = Path(__file__).parent
SMALL = HERE / "fixtures" / "graph_small.xml"


def pic_of(path: Path | str) -> Picture:
    return picture(build_plan(parse_any(path)))


def arrows(pic: Picture) -> set[tuple[str, str, str, str]]:
    """(source first line, target first line, labels, style) of every arrow."""
    first = {b.key: b.label.split("\n")[0] for b in pic.boxes}
    return {(first[a.source], first[a.target], " / ".join(a.labels), a.style) for a in pic.arrows}


def test_small_picture_follows_the_spec() -> None:
    pic = pic_of(SMALL)
    assert arrows(pic) == {
        ("start Small", "AMD", "", "solid"),
        ("AMD", "menu main", "live", "dashed"),  # <live><goto>main</goto></live>
        ("AMD", "play", "machine", "solid"),
        ("play", "hangup", "", "solid"),
        ("menu main", "transfer", "1", "solid"),
        ("menu main", "if", "2", "solid"),
        ("menu main", "menu main", "default", "dashed"),  # replay through goto
        # no timeout keypress: silence continues after the menu (spec §2.3)
        ("menu main", "stash", "no input", "solid"),
        ("transfer", "stash", "no answer", "solid"),
        ("transfer", "bridged:", "answered", "solid"),
        ("if", "transfer", "true", "solid"),
        ("if", "play", "false", "solid"),
        ("play", "stash", "", "solid"),
        ("stash", "end of plan", "", "solid"),
        # continue-after="true": both outcomes come back (after the if, after the menu)
        ("transfer", "stash", "no answer / answered", "solid"),
    }
    shapes = {b.label.split("\n")[0]: b.shape for b in pic.boxes}
    assert shapes["hangup"] == "hangup"
    assert shapes["end of plan"] == "terminal"
    assert shapes["AMD"] == "decision"
    assert shapes["menu main"] == "menu"


@pytest.mark.parametrize(("suffix", "render"), [(".dot", to_dot), (".mmd", to_mermaid)])
def test_golden(suffix: str, render: object) -> None:
    expected = (HERE / "golden" / f"graph_small{suffix}").read_text(encoding="utf-8")
    assert render(pic_of(SMALL)) == expected  # type: ignore[operator]


def test_prompt_summary_and_escaping() -> None:
    assert (
        summarize("one two  three\nfour five six seven eight")
        == "one two three four five six seven…"
    )
    assert summarize("short text") == "short text"
    dot = to_dot(pic_of(SMALL))
    assert '\\"sales\\"' in dot  # quotes escaped inside DOT strings
    mermaid = to_mermaid(pic_of(SMALL))
    assert "#quot;sales#quot;" in mermaid and "#lt; 17" in mermaid


def test_unreachable_tags_are_grey_and_catch_is_one_dotted_arrow() -> None:
    xml = """<dialplan><catch type="digit" value="0" goto="op">
  <menu name="m"><play type="tts">Press 0</play><keypress pressed="1"><hangup/></keypress></menu>
  </catch><hangup/><play type="tts">dead</play><transfer name="op">2135551212</transfer></dialplan>"""
    pic = pic_of(xml)
    dead = [b.label.split("\n")[0] for b in pic.boxes if b.dead]
    assert dead == ["play"]
    dotted = [a for a in pic.arrows if a.style == "dotted"]
    assert len(dotted) == 1 and dotted[0].labels == ["digit 0"]


def test_goto_cycle_of_gotos_still_draws() -> None:
    pic = pic_of('<dialplan><goto name="a">b</goto><goto name="b">a</goto></dialplan>')
    assert any(a.source == a.target or a.style == "dashed" for a in pic.arrows)


def test_cli_formats_and_output_file(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(cli, ["graph", str(SMALL), "--format", "mermaid"])
    assert res.exit_code == 0 and res.output.startswith("flowchart TD")
    out = tmp_path / "g.dot"
    res = runner.invoke(cli, ["graph", str(SMALL), "-o", str(out)])
    assert res.exit_code == 0 and out.read_text().startswith('digraph "Small"')


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz not installed")
def test_svg_through_graphviz(tmp_path: Path) -> None:
    out = tmp_path / "g.svg"
    res = CliRunner().invoke(cli, ["graph", str(SMALL), "--format", "svg", "-o", str(out)])
    assert res.exit_code == 0
    svg = out.read_text()
    assert "<svg" in svg and "menu main" in svg


def test_svg_without_graphviz_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys

    env_path = "/nonexistent"
    code = (
        "import sys; from dialplan.cli import main; "
        f"sys.argv=['dialplan','graph',{str(SMALL)!r},'--format','svg']; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PATH": env_path, "PYTHONPATH": str(HERE.parent.parent)},
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Graphviz 'dot' not found" in lines[0]


def test_malformed_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text("<dialplan><play>")
    with pytest.raises(SystemExit) as info:
        main(["graph", str(bad)])
    assert info.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "E001" in err[0]


def test_charity_seed_picture() -> None:
    pic = pic_of(corpus_file("seeds/nonprofit-charity-ivr.xml"))
    got = arrows(pic)
    assert ("menu Live", "menu order_tickets", "no input", "solid") in got
    assert ("menu Live", "menu Live", "default", "dashed") not in got  # via a play first
    assert ("AMD", "play Machine", "machine", "dashed") in got


def test_mermaid_escapes_hash_keys() -> None:
    xml = """<dialplan><menu name="m"><play type="tts">Press # or *</play>
  <keypress pressed="#"><hangup/></keypress><keypress pressed="timeout"><hangup/></keypress>
  </menu></dialplan>"""
    text = to_mermaid(pic_of(xml))
    assert '-->|"#35;"|' in text and "Press #35; or *" in text
