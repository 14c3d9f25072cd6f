"""SSML checks and espeak-ng bridges, and the voice table (real espeak-ng and sox)."""

from __future__ import annotations

import subprocess
import time

import pytest

from dialplan.sounds import render
from dialplan.sounds.ssml import MAX_BREAK_S, SsmlError, check_ssml
from dialplan.sounds.voices import VoiceError, espeak_voice

SEEDED = (  # the EnableX seed's example, verbatim
    '<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis" xml:lang="en-IN">'
    '<voice name="en-IN-NeerjaNeural">Press <say-as interpret-as="digits">9</say-as>'
    " for English.</voice></speak>"
)


def phonemes(ssml: str) -> str:
    """What espeak-ng would say, as its phoneme mnemonics."""
    doc = check_ssml(ssml)
    out = subprocess.run(
        ["espeak-ng", "-m", "-q", "-x", "-v", doc.voice, doc.text],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def test_digits_are_read_one_by_one() -> None:
    read = phonemes('<speak>Code <say-as interpret-as="digits">1234</say-as></speak>')
    raw = subprocess.run(
        [
            "espeak-ng",
            "-m",
            "-q",
            "-x",
            '<speak><say-as interpret-as="digits">1234</say-as></speak>',
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "T'aUz@nd" in raw  # espeak-ng alone: "one thousand two hundred …"
    assert "T'aUz@nd" not in read and "w,Vn" in read and "Tr,i:" in read  # one … three


def test_a_leading_break_is_kept_as_silence() -> None:
    plain = render.speak_ssml("<speak>Hello there</speak>")
    paused = render.speak_ssml('<speak><break time="2s"/>Hello there</speak>')
    assert len(paused) - len(plain) == pytest.approx(2 * 8000, abs=80)
    assert set(paused[:15000]) <= {0xFF, 0x7F}  # μ-law silence before the speech


def test_breaks_are_capped_at_ten_seconds() -> None:
    doc = check_ssml('<speak>a <break time="20s"/> b <break time="1500ms"/> c</speak>')
    assert 'time="10000ms"' in doc.text and 'time="1500ms"' in doc.text
    audio = render.speak_ssml('<speak>a <break time="3600s"/> b</speak>')
    assert render.seconds_of(audio) < MAX_BREAK_S + 3


def test_unknown_voice_name_is_refused_known_ones_are_mapped() -> None:
    with pytest.raises(SsmlError, match=r"^2:1: <voice>: unknown voice 'Bogus'"):
        check_ssml('<speak>\n<voice name="Bogus">x</voice></speak>')
    doc = check_ssml(SEEDED)
    assert '<voice name="en-us">' in doc.text  # an Azure-style name: read by its locale
    assert 'interpret-as="characters"' in doc.text
    assert (
        '<voice name="en-us+f3">'
        in check_ssml('<speak><voice name="FEMALE1">x</voice></speak>').text
    )


def test_the_seeded_example_speaks_for_the_expected_time() -> None:
    audio = render.speak_ssml(SEEDED)
    assert 1.0 < render.seconds_of(audio) < 4.0


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ('<!DOCTYPE s [<!ENTITY a "aaaa">]><speak>&a;</speak>', "1:1: DOCTYPE/ENTITY"),
        ("<speak>&a;</speak>", "1:"),  # an undeclared entity: not well-formed
        ("<speak>\n  <p>unclosed</speak>", "2:"),
        ('<speak><audio src="http://x/y.wav"/></speak>', "1:1: <audio> is not spoken here"),
        ("<p>no speak</p>", "the root element must be <speak>"),
        ('<speak><break time="soon"/></speak>', "use a time like 500ms"),
        ("<speak>" + '<break time="10s"/>' * 7 + "</speak>", "the breaks add up to more than 60 s"),
        ('<speak xml:lang="xx-QQ">hi</speak>', "xml:lang: no voice speaks language 'xx-QQ'"),
    ],
)
def test_hostile_or_broken_ssml_is_refused_with_line_and_column(
    document: str, message: str
) -> None:
    with pytest.raises(SsmlError) as info:
        check_ssml(document)
    assert message in str(info.value)
    assert str(info.value).split(":")[0].isdigit()  # line:col first


def test_huge_and_billion_laughs_documents_are_refused_fast() -> None:
    laughs = '<!DOCTYPE l [<!ENTITY a "ha">' + "".join(
        f'<!ENTITY {chr(98 + i)} "&{chr(97 + i)};&{chr(97 + i)};&{chr(97 + i)};">' for i in range(9)
    )
    laughs += "]><speak>&j;</speak>"
    huge = "<speak>" + "word " * 200_000 + "</speak>"
    deep = "<speak>" + "<p>" * 5000 + "x" + "</p>" * 5000 + "</speak>"
    started = time.monotonic()
    for document in (laughs, huge, deep):
        with pytest.raises(SsmlError):
            check_ssml(document)
    assert time.monotonic() - started < 1.0


def test_voice_table() -> None:
    assert espeak_voice("MALE1") == "en-us"
    assert espeak_voice("female2") == "en-us+f4"
    assert espeak_voice("SPANISH1") == "es"
    assert espeak_voice("FRENCHCANADIAN1") == "fr"
    assert espeak_voice("Female", "en-US") == "en-us+f3"
    assert espeak_voice("Male", "en-GB") == "en-gb"
    assert espeak_voice("Female", "fr-CA") == "fr-fr+f3"
    assert espeak_voice("Female@es-MX") == "es+f3"
    assert espeak_voice(None, "pt-BR") == "pt-br"
    with pytest.raises(VoiceError, match="no voice speaks language 'tlh'"):
        espeak_voice("Female", "tlh")
    with pytest.raises(VoiceError, match="not a BCP-47 language tag"):
        espeak_voice("Female", "english please")
    with pytest.raises(VoiceError, match="unknown voice 'ROBOT'"):
        espeak_voice("ROBOT")
