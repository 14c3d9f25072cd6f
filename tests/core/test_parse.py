"""Hardened parsing: positions, encodings, and hostile input refused fast with a diagnostic."""

from __future__ import annotations

import pytest

from dialplan.parse import MAX_BYTES, ParseFailure, parse_any


def codes(src: bytes | str) -> str:
    with pytest.raises(ParseFailure) as info:
        parse_any(src)
    return info.value.diagnostic.code


def test_positions_are_line_and_column_of_each_start_tag() -> None:
    doc = parse_any(
        b'<dialplan>\n  <menu\n     timeout="3">\n    <play type="tts">a</play><play type="tts">b</play>\n  </menu>\n</dialplan>'
    )
    locs = [(el.tag, doc.location(el).line, doc.location(el).column) for el in doc.root.iter()]
    assert locs == [("dialplan", 1, 1), ("menu", 2, 3), ("play", 4, 5), ("play", 4, 30)]
    menu = doc.root[0]
    assert (doc.attr_location(menu, "timeout").line, doc.attr_location(menu, "timeout").column) == (
        3,
        6,
    )


def test_comment_containing_a_tag_does_not_shift_positions() -> None:
    doc = parse_any(b'<dialplan><!-- <play> --><play type="tts">x</play></dialplan>')
    play = doc.root[1]
    assert doc.location(play).column == 26


def test_utf16_with_bom_loads() -> None:
    text = '<?xml version="1.0" encoding="UTF-16"?>\n<dialplan name="caf\u00e9"><play type="tts">h</play></dialplan>'
    doc = parse_any(text.encode("utf-16"))
    assert doc.root.get("name") == "caf\u00e9"
    assert doc.location(doc.root[0]).line == 2


def test_declared_latin1_loads() -> None:
    doc = parse_any(b'<?xml version="1.0" encoding="latin-1"?><dialplan name="\xe9"/>')
    assert doc.root.get("name") == "\u00e9"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "E001"),
        (b"   \n ", "E001"),
        (b"\x00\x01\x02\xff\xfe junk", "E001"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "E001"),
        (b"<dialplan>", "E001"),
        (b"Ivr<dialplan/>", "E001"),
        (b"<dialplan><play>a & b</play></dialplan>", "E001"),
        (b'<?xml version="1.0" encoding="no-such-codec"?><dialplan/>', "E001"),
        (b'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><dialplan>&x;</dialplan>', "E015"),
        (
            b'<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><dialplan>&b;</dialplan>',
            "E015",
        ),
        (b"<a>" * 100_000 + b"</a>" * 100_000, "E017"),
        (b"<dialplan>" + b"<if expr='1'>" * 200 + b"</if>" * 200 + b"</dialplan>", "E017"),
    ],
)
def test_hostile_or_broken_input_gets_one_diagnostic(data: bytes, code: str) -> None:
    assert codes(data) == code


def test_external_entity_never_leaks_file_contents() -> None:
    with pytest.raises(ParseFailure) as info:
        parse_any(
            b'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/hostname">]><dialplan>&x;</dialplan>'
        )
    assert "root" not in info.value.diagnostic.message.lower()


def test_huge_file_refused_before_reading(tmp_path) -> None:
    big = tmp_path / "big.xml"
    with big.open("wb") as fh:
        fh.write(b"<dialplan>")
        fh.write(b"<!-- padding -->" * (MAX_BYTES // 16 + 10))
        fh.write(b"</dialplan>")
    assert codes(str(big)) == "E016"


def test_missing_file_is_a_diagnostic_not_a_traceback(tmp_path) -> None:
    assert codes(str(tmp_path / "nope.xml")) == "E001"
