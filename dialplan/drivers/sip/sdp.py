"""SDP (RFC 4566) offer/answer for one audio stream: PCMU/8000 and telephone-event (RFC 4733)."""

from __future__ import annotations

from dataclasses import dataclass

PCMU = 0
TELEPHONE_EVENT = 101


class SdpError(ValueError):
    """The SDP cannot be used (no audio, no PCMU, unreadable)."""


@dataclass(frozen=True)
class MediaDescription:
    """Where to send RTP and how: the remote address/port and payload types."""

    address: str
    port: int
    payload_types: tuple[int, ...]
    dtmf_payload_type: int | None = None
    direction: str = "sendrecv"

    @property
    def on_hold(self) -> bool:
        return self.address in ("0.0.0.0", "::") or self.direction in ("sendonly", "inactive")


def offer(
    address: str,
    port: int,
    session_id: int,
    version: int = 1,
    direction: str = "sendrecv",
    dtmf_payload_type: int = TELEPHONE_EVENT,
) -> bytes:
    """An SDP offer (or answer) of PCMU/8000 plus telephone-event/8000 0-15."""
    family = "IP6" if ":" in address else "IP4"
    lines = [
        "v=0",
        f"o=dialplan {session_id} {version} IN {family} {address}",
        "s=dialplan",
        f"c=IN {family} {address}",
        "t=0 0",
        f"m=audio {port} RTP/AVP {PCMU} {dtmf_payload_type}",
        f"a=rtpmap:{PCMU} PCMU/8000",
        f"a=rtpmap:{dtmf_payload_type} telephone-event/8000",
        f"a=fmtp:{dtmf_payload_type} 0-15",
        "a=ptime:20",
        f"a={direction}",
    ]
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def parse(body: bytes) -> MediaDescription:
    """The first audio stream of an SDP body; requires PCMU among its formats."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SdpError("SDP is not UTF-8") from exc
    session_addr = ""
    media_addr = ""
    port = -1
    formats: tuple[int, ...] = ()
    rtpmap: dict[int, str] = {}
    direction = "sendrecv"
    in_audio = False
    seen_audio = False
    for raw in text.splitlines():
        line = raw.strip()
        if len(line) < 2 or line[1] != "=":
            continue
        kind, value = line[0], line[2:]
        if kind == "m":
            if seen_audio:
                in_audio = False
                continue
            parts = value.split()
            in_audio = len(parts) >= 4 and parts[0] == "audio"
            if in_audio:
                seen_audio = True
                if not parts[1].split("/")[0].isdigit():
                    raise SdpError(f"bad media port: {parts[1]!r}")
                port = int(parts[1].split("/")[0])
                formats = tuple(int(p) for p in parts[3:] if p.isdigit())
        elif kind == "c":
            parts = value.split()
            if len(parts) >= 3:
                addr = parts[2].split("/")[0]
                if in_audio:
                    media_addr = addr
                elif not seen_audio:
                    session_addr = addr
        elif kind == "a" and (in_audio or not seen_audio):
            name, _, attr = value.partition(":")
            if name == "rtpmap" and in_audio:
                pt, _, enc = attr.partition(" ")
                if pt.isdigit():
                    rtpmap[int(pt)] = enc.strip().lower()
            elif name in ("sendrecv", "sendonly", "recvonly", "inactive"):
                direction = name
    if not seen_audio:
        raise SdpError("no audio stream in SDP")
    address = media_addr or session_addr
    if not address:
        raise SdpError("no connection address in SDP")
    if PCMU not in formats and not any(v.startswith("pcmu/") for v in rtpmap.values()):
        raise SdpError("PCMU not offered")
    dtmf = next((pt for pt, enc in rtpmap.items() if enc.startswith("telephone-event/8000")), None)
    return MediaDescription(address, port, formats, dtmf, direction)
