"""GSM 03.38 / UCS-2 segmentation: the rules by example, and Hypothesis properties."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dialplan.messaging.encoding import (
    BASIC,
    EXTENSION,
    LIMITS,
    char_units,
    decode_part,
    encode_part,
    segment,
    trim,
    udh,
    units,
)

GSM_CHARS = [c for c in BASIC if c != "\x1b"] + list(EXTENSION)


def test_the_limits_by_example() -> None:
    assert segment("a" * 160).count == 1
    assert segment("a" * 161).count == 2
    assert [len(p) for p in segment("a" * 306).parts] == [153, 153]
    assert segment("a" * 307).count == 3
    # extension characters count twice
    assert segment("€" * 80).count == 1 and segment("€" * 80).units == 160
    assert segment("€" * 81).count == 2
    # one character outside the alphabet makes the whole message UCS-2
    assert segment("a" * 69 + "ą").encoding == "UCS2"
    assert segment("ą" * 70).count == 1
    assert [len(p) for p in segment("ą" * 71).parts] == [67, 4]
    # characters beyond U+FFFF are two UTF-16 units
    assert segment("😀" * 35).count == 1
    assert segment("😀" * 36).count == 2


def test_an_escape_sequence_is_never_split() -> None:
    parts = segment("a" * 152 + "€" + "b" * 10).parts
    assert parts[0] == "a" * 152  # 152 + 2 septets would overflow 153
    assert parts[1].startswith("€")


def test_a_surrogate_pair_is_never_split() -> None:
    parts = segment("ą" * 66 + "😀" + "b" * 5).parts
    assert parts[0] == "ą" * 66 and parts[1] == "😀bbbbb"
    for p in parts:
        p.encode("utf-16-be").decode("utf-16-be")  # each part is valid UTF-16 on its own


def test_gsm_bytes_and_udh() -> None:
    assert encode_part("@€a", "GSM7") == bytes((0x00, 0x1B, 0x65, 0x61))
    assert decode_part(bytes((0x00, 0x1B, 0x65, 0x61)), 0) == "@€a"
    assert udh(300, 3, 2) == bytes((5, 0, 3, 300 & 0xFF, 3, 2))


def test_trim_keeps_one_segment() -> None:
    assert trim("a" * 200) == "a" * 160
    assert trim("€" * 100) == "€" * 80
    assert trim("ą" * 100) == "ą" * 70
    assert segment(trim("x" * 10 + "😀" * 40)).count == 1


texts = st.one_of(
    st.text(alphabet=st.sampled_from(GSM_CHARS), max_size=700),
    st.text(max_size=400),
    st.lists(st.sampled_from(["a", "€", "ą", "😀", "{", "é", "\n"]), max_size=500).map("".join),
)


@given(texts)
def test_segments_reassemble_and_counts_match_the_rules(text: str) -> None:
    s = segment(text)
    assert "".join(s.parts) == text
    gsm = all(c in GSM_CHARS for c in text)
    assert s.encoding == ("GSM7" if gsm else "UCS2")
    single, multi = LIMITS[s.encoding]
    expected_units = sum(
        (2 if c in EXTENSION else 1) if gsm else len(c.encode("utf-16-le")) // 2 for c in text
    )
    assert s.units == expected_units == units(text, s.encoding)
    if expected_units <= single:
        assert s.count == 1
    else:
        assert s.count >= 2
        for i, part in enumerate(s.parts):
            assert part  # no empty segment
            assert units(part, s.encoding) <= multi
            if i + 1 < s.count:  # full: the next character would not have fitted
                nxt = s.parts[i + 1][0]
                assert units(part, s.encoding) + char_units(nxt, s.encoding) > multi
        # the count is the fewest segments: every segment but the last is full
        assert s.count - 1 < -(-expected_units // (multi - 1)) + 1


@given(texts)
def test_each_segment_encodes_and_decodes_to_itself(text: str) -> None:
    s = segment(text)
    for part in s.parts:
        data = encode_part(part, s.encoding)
        limit = LIMITS[s.encoding][0 if s.count == 1 else 1]
        assert len(data) <= (limit if s.encoding == "GSM7" else 2 * limit)
        assert decode_part(data, s.data_coding) == part
