"""GSM 03.38 / UCS-2 encoding and segmentation of one text message. Pure: no I/O.

A text goes out in the GSM 7-bit default alphabet when every character is in it (the characters
of the extension table — ``^ { } \\ [ ~ ] | €`` and the form feed — take two septets: an escape
and the character), otherwise in UCS-2, whose lengths are UTF-16 code units (a character beyond
U+FFFF takes two). One segment holds 160 septets (GSM) or 70 units (UCS-2); a concatenated
message loses room to its user data header: 153 septets or 67 units per segment. Segments are
cut between characters, so an escape sequence or a surrogate pair is never split.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Encoding = Literal["GSM7", "UCS2"]

#: the GSM 03.38 default alphabet; a character's index is its septet value
BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: the extension table: character → septet after the escape (0x1B)
EXTENSION = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D,
             "]": 0x3E, "|": 0x40, "€": 0x65}  # fmt: skip
ESCAPE = 0x1B
_SEPTET = {ch: i for i, ch in enumerate(BASIC) if i != ESCAPE}
_BY_SEPTET = {i: ch for ch, i in _SEPTET.items()}
_BY_EXTENSION = {v: k for k, v in EXTENSION.items()}

#: any character outside the alphabet and its extension (one C-level scan per text)
_NOT_GSM = re.compile("[^" + re.escape("".join(_SEPTET) + "".join(EXTENSION)) + "]")
_EXTENDED = re.compile("[" + re.escape("".join(EXTENSION)) + "]")

#: units per segment: (single, concatenated)
LIMITS: dict[Encoding, tuple[int, int]] = {"GSM7": (160, 153), "UCS2": (70, 67)}
#: SMPP ``data_coding`` per encoding (0: the SMSC default alphabet, GSM 03.38 here)
DATA_CODING: dict[Encoding, int] = {"GSM7": 0x00, "UCS2": 0x08}
#: most segments one message may have (the 8-bit reference UDH counts up to 255)
MAX_SEGMENTS = 255


def is_gsm(text: str) -> bool:
    """Every character of ``text`` is in the GSM 03.38 default alphabet or its extension."""
    return _NOT_GSM.search(text) is None


def encoding_of(text: str) -> Encoding:
    return "GSM7" if is_gsm(text) else "UCS2"


def char_units(ch: str, encoding: Encoding) -> int:
    """Septets (GSM) or UTF-16 code units (UCS-2) one character takes."""
    if encoding == "GSM7":
        return 2 if ch in EXTENSION else 1
    return 2 if ord(ch) > 0xFFFF else 1


def units(text: str, encoding: Encoding) -> int:
    """Septets (GSM) or UTF-16 code units (UCS-2) of ``text``."""
    if encoding == "GSM7":
        return len(text) + len(_EXTENDED.findall(text))
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@dataclass(frozen=True, slots=True)
class Segmented:
    """A text cut into the segments it is sent as."""

    text: str
    encoding: Encoding
    parts: tuple[str, ...]
    units: int  # septets or UTF-16 units of the whole text

    @property
    def count(self) -> int:
        return len(self.parts)

    @property
    def data_coding(self) -> int:
        return DATA_CODING[self.encoding]


def segment(text: str) -> Segmented:
    """``text`` in its encoding, cut into segments (one, possibly empty, when it fits)."""
    enc = encoding_of(text)
    total = units(text, enc)
    single, multi = LIMITS[enc]
    if total <= single:
        return Segmented(text, enc, (text,), total)
    parts: list[str] = []
    start = used = 0
    for i, ch in enumerate(text):
        n = char_units(ch, enc)
        if used + n > multi:
            parts.append(text[start:i])
            start, used = i, 0
        used += n
    parts.append(text[start:])
    return Segmented(text, enc, tuple(parts), total)


def trim(text: str) -> str:
    """The longest prefix of ``text`` that fits one segment (``big_message_strategy = TRIM``)."""
    enc = encoding_of(text)
    single = LIMITS[enc][0]
    used = 0
    for i, ch in enumerate(text):
        used += char_units(ch, enc)
        if used > single:
            return text[:i]
    return text


def encode_part(part: str, encoding: Encoding) -> bytes:
    """One segment's bytes: GSM septets unpacked one per octet (escape + septet for the
    extension table), or UTF-16 big-endian."""
    if encoding == "UCS2":
        return part.encode("utf-16-be")
    out = bytearray()
    for ch in part:
        septet = _SEPTET.get(ch)
        if septet is None:
            out += bytes((ESCAPE, EXTENSION[ch]))
        else:
            out.append(septet)
    return bytes(out)


def decode_part(data: bytes, data_coding: int) -> str:
    """The inverse of :func:`encode_part` (also reads mobile-originated messages: data coding
    8 is UCS-2, anything else the default alphabet; unknown septets become ``?``)."""
    if data_coding == DATA_CODING["UCS2"]:
        return data.decode("utf-16-be", errors="replace")
    out: list[str] = []
    escaped = False
    for b in data:
        if escaped:
            out.append(_BY_EXTENSION.get(b, _BY_SEPTET.get(b, "?")))
            escaped = False
        elif b == ESCAPE:
            escaped = True
        else:
            out.append(_BY_SEPTET.get(b, "?"))
    return "".join(out)


def udh(reference: int, total: int, number: int) -> bytes:
    """The concatenation user data header (IEI 0x00, 8-bit reference), ``number`` from 1."""
    return bytes((0x05, 0x00, 0x03, reference & 0xFF, total, number))
