"""Hardened parsing: positions, encodings, and hostile input refused fast with a diagnostic."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dialplan.parse import MAX_ATTRIBUTES, MAX_BYTES, MAX_ELEMENTS, ParseFailure, parse_any


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


# --- hostile input: size, devices, entities, network, encodings, element and attribute counts


def _peak_bytes(fn) -> tuple[object, int, float]:
    """Run ``fn``; its result, peak Python allocation (bytes) and wall time (s) — measured only."""
    import time
    import tracemalloc

    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        result = fn()
    finally:
        elapsed = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return result, peak, elapsed


def _code_of(fn) -> str:
    try:
        fn()
    except ParseFailure as failure:
        return failure.diagnostic.code
    raise AssertionError("expected a ParseFailure")


def test_tens_of_megabytes_file_is_refused_without_reading_it(tmp_path) -> None:
    big = tmp_path / "huge.xml"
    with big.open("wb") as fh:  # sparse: 60 MB on paper, nothing on disk
        fh.write(b"<dialplan>")
        fh.truncate(60 * 1024 * 1024)
    code, peak, elapsed = _peak_bytes(lambda: _code_of(lambda: parse_any(str(big))))
    print(f"60 MB file: {code} in {elapsed * 1000:.1f} ms, peak {peak / 1e6:.2f} MB")
    assert code == "E016"
    assert peak < 1024 * 1024  # the file was not read


def test_device_without_a_size_is_read_only_up_to_the_limit() -> None:
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    code, peak, elapsed = _peak_bytes(lambda: _code_of(lambda: parse_any("/dev/zero")))
    print(f"/dev/zero: {code} in {elapsed * 1000:.1f} ms, peak {peak / 1e6:.2f} MB")
    assert code == "E016"
    assert peak < 3 * MAX_BYTES


def test_huge_xml_string_is_refused_before_encoding() -> None:
    text = "<dialplan>" + " " * (12 * 1024 * 1024) + "</dialplan>"
    code, peak, _ = _peak_bytes(lambda: _code_of(lambda: parse_any(text)))
    assert code == "E016"
    assert peak < 1024 * 1024  # no UTF-8 copy of the 12 MB string was made


@pytest.mark.parametrize(
    "data",
    [
        # billion laughs, classic nine levels
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            b'<!ENTITY lol%d "%s">'
            % (i, b"".join(b"&lol%s;" % (b"" if i == 1 else b"%d" % (i - 1)) for _ in range(10)))
            for i in range(1, 10)
        )
        + b"]><dialplan>&lol9;</dialplan>",
        # entity expanded inside an attribute
        b'<!DOCTYPE d [<!ENTITY a "xxxxxxxxxx">]><dialplan name="&a;&a;&a;"/>',
        # parameter entities
        b"<!DOCTYPE d [<!ENTITY % p \"<!ENTITY q 'x'>\"> %p;]><dialplan>&q;</dialplan>",
        # lower-case doctype after a comment
        b"<!-- hi --><!doctype dialplan><dialplan/>",
        # external DTD subset
        b'<!DOCTYPE dialplan SYSTEM "http://127.0.0.1:9/evil.dtd"><dialplan/>',
        # declaration spelled in UTF-16
        '<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><dialplan>&x;</dialplan>'.encode(
            "utf-16"
        ),
    ],
    ids=[
        "billion-laughs",
        "entity-in-attribute",
        "parameter-entity",
        "lowercase-doctype",
        "external-dtd",
        "utf16-doctype",
    ],
)
def test_entity_attacks_are_refused(data: bytes) -> None:
    code, _, elapsed = _peak_bytes(lambda: _code_of(lambda: parse_any(data)))
    assert code == "E015"
    print(f"refused in {elapsed * 1000:.2f} ms")


def test_nothing_is_fetched_from_the_network_while_linting() -> None:
    import socket

    from dialplan.lint.linter import lint_source

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(0.3)
    port = server.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    try:
        docs = [
            f'<dialplan xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'xsi:noNamespaceSchemaLocation="{url}/x.xsd"><hangup/></dialplan>',
            f'<dialplan xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'xsi:schemaLocation="urn:x {url}/y.xsd"><hangup/></dialplan>',
            f'<dialplan xmlns:xi="http://www.w3.org/2001/XInclude">'
            f'<xi:include href="{url}/inc.xml"/></dialplan>',
            f'<?xml-stylesheet href="{url}/s.xsl"?><dialplan><hangup/></dialplan>',
        ]
        for doc in docs:
            lint_source(doc)
        with pytest.raises(TimeoutError):
            server.accept()
    finally:
        server.close()


def test_xinclude_is_not_processed() -> None:
    doc = parse_any(
        b'<dialplan xmlns:xi="http://www.w3.org/2001/XInclude">'
        b'<xi:include href="/etc/hostname" parse="text"/></dialplan>'
    )
    assert len(doc.root) == 1 and not (doc.root[0].text or "")


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-16-be", "\ufeff"),
        ("utf-16-le", "\ufeff"),
        ("utf-16-le", ""),
        ("utf-32", ""),
        ("utf-8", "\ufeff"),
    ],
)
def test_bom_and_wide_encodings_keep_positions(encoding: str, bom: str) -> None:
    declared = encoding.split("-")[0] + "-" + encoding.split("-")[1]
    text = (
        f'{bom}<?xml version="1.0" encoding="{declared.upper()}"?>\n'
        '<dialplan name="caf\u00e9">\n  <play type="tts">\u00e9t\u00e9 \u2603</play>\n</dialplan>'
    )
    doc = parse_any(text.encode(encoding))
    play = doc.root[0]
    assert play.text == "\u00e9t\u00e9 \u2603"
    assert (doc.location(play).line, doc.location(play).column) == (3, 3)
    assert doc.attr_location(play, "type").column == 9


def test_encoding_declaration_that_lies_is_a_diagnostic() -> None:
    assert codes(b'<?xml version="1.0" encoding="UTF-16"?><dialplan/>') == "E001"


@pytest.mark.parametrize(
    "data",
    [b"<dialplan>\xff\xfe\xfa</dialplan>", b"<dialplan>\xed\xa0\x80</dialplan>", b"\xc3"],
    ids=["invalid-utf8", "utf8-surrogate", "truncated-sequence"],
)
def test_invalid_bytes_are_a_diagnostic(data: bytes) -> None:
    assert codes(data) == "E001"


def test_too_many_elements_is_refused() -> None:
    data = b"<dialplan>" + b"<hangup/>" * (MAX_ELEMENTS + 1) + b"</dialplan>"
    with pytest.raises(ParseFailure) as info:
        parse_any(data)
    assert info.value.diagnostic.code == "E016"
    assert str(MAX_ELEMENTS) in info.value.diagnostic.message


def test_elements_in_comments_do_not_count() -> None:
    data = b"<dialplan><!--" + b"<hangup/>" * (MAX_ELEMENTS + 1) + b"--><hangup/></dialplan>"
    assert len(parse_any(data).root) == 2


def test_too_many_attributes_is_refused_at_the_element() -> None:
    attrs = b" ".join(b'a%d="x"' % i for i in range(MAX_ATTRIBUTES + 1))
    with pytest.raises(ParseFailure) as info:
        parse_any(b"<dialplan>\n  <hangup " + attrs + b"/></dialplan>")
    d = info.value.diagnostic
    assert (d.code, d.line, d.column) == ("E016", 2, 3)
    assert "<hangup>" in d.message


def test_gt_inside_an_attribute_value_does_not_end_the_start_tag() -> None:
    doc = parse_any(b'<dialplan>\n<if expr="a > b" name="n">\n<hangup/></if></dialplan>')
    el = doc.root[0]
    assert (doc.attr_location(el, "name").line, doc.attr_location(el, "name").column) == (2, 18)
    assert (doc.text_location(el).line, doc.text_location(el).column) == (2, 27)


def test_attribute_name_inside_another_value_is_not_taken_for_it() -> None:
    doc = parse_any(b'<dialplan><play name="x type=1" type="tts">a</play></dialplan>')
    assert doc.attr_location(doc.root[0], "type").column == 33


def test_wide_flat_document_within_limits_parses() -> None:
    data = b"<dialplan>" + b'<hangup name="h"/>\n' * (MAX_ELEMENTS - 1) + b"</dialplan>"
    doc = parse_any(data)
    last = doc.root[-1]
    assert doc.location(last).line == MAX_ELEMENTS - 1


def test_position_and_offset_are_inverse_on_every_character() -> None:
    text = '<dialplan>\r\n  <menu>\n\t<play type="tts">h\u00e9</play>\n  </menu>\n</dialplan>'
    doc = parse_any(text)
    for offset in range(len(text)):
        loc = doc.position(offset)
        assert doc.offset(loc) == offset
        line = text.split("\n")[loc.line - 1] + "\n"
        assert line[loc.column - 1] == text[offset]


def test_source_positions_are_converted_in_one_place() -> None:
    """Only ``parse.py`` keeps line-start tables; every other module asks the parsed document."""
    package = Path(__file__).resolve().parents[2] / "dialplan"
    others = [
        path.relative_to(package).as_posix()
        for path in sorted(package.rglob("*.py"))
        if path.name != "parse.py" and "line_starts" in path.read_text(encoding="utf-8")
    ]
    assert others == []
