"""SIP messages (RFC 3261 §7): parse bytes into a message, build a message back into bytes."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

#: compact header forms (RFC 3261 §7.3.3) → canonical names
COMPACT = {
    "i": "Call-ID",
    "m": "Contact",
    "e": "Content-Encoding",
    "l": "Content-Length",
    "c": "Content-Type",
    "f": "From",
    "s": "Subject",
    "k": "Supported",
    "t": "To",
    "v": "Via",
    "r": "Refer-To",
    "o": "Event",
    "u": "Allow-Events",
}
_CANONICAL = {
    name.lower(): name
    for name in (
        *COMPACT.values(),
        "CSeq",
        "Max-Forwards",
        "WWW-Authenticate",
        "Proxy-Authenticate",
        "Authorization",
        "Proxy-Authorization",
        "User-Agent",
        "Allow",
        "Accept",
        "Subscription-State",
        "Reason",
        "Record-Route",
        "Route",
        "Expires",
        "Referred-By",
    )
}
MAGIC_COOKIE = "z9hG4bK"


class SipParseError(ValueError):
    """The bytes are not a SIP message we can read."""


def canonical(name: str) -> str:
    """The canonical spelling of a header name (expands compact forms)."""
    low = name.strip().lower()
    if low in COMPACT:
        return COMPACT[low]
    return _CANONICAL.get(low, "-".join(part.capitalize() for part in low.split("-")))


@dataclass
class SipMessage:
    """One SIP request (``method`` set) or response (``status`` set)."""

    method: str = ""
    uri: str = ""
    status: int = 0
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def is_request(self) -> bool:
        return bool(self.method)

    def get(self, name: str, default: str = "") -> str:
        """The first value of header ``name`` (case-insensitive, compact forms accepted)."""
        wanted = canonical(name)
        for key, value in self.headers:
            if key == wanted:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        """Every value of header ``name``, comma-separated values split (except auth headers)."""
        wanted = canonical(name)
        out: list[str] = []
        for key, value in self.headers:
            if key == wanted:
                if wanted in ("WWW-Authenticate", "Proxy-Authenticate", "Authorization"):
                    out.append(value)
                else:
                    out.extend(split_commas(value))
        return out

    def set(self, name: str, value: str) -> None:
        """Replace every value of ``name`` by one value (appended when absent)."""
        wanted = canonical(name)
        for i, (key, _) in enumerate(self.headers):
            if key == wanted:
                self.headers[i] = (wanted, value)
                self.headers = [h for j, h in enumerate(self.headers) if j <= i or h[0] != wanted]
                return
        self.headers.append((wanted, value))

    def add(self, name: str, value: str) -> None:
        self.headers.append((canonical(name), value))

    def remove(self, name: str) -> None:
        wanted = canonical(name)
        self.headers = [h for h in self.headers if h[0] != wanted]

    @property
    def cseq(self) -> tuple[int, str]:
        """(number, method) of the CSeq header."""
        parts = self.get("CSeq").split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise SipParseError(f"bad CSeq: {self.get('CSeq')!r}")
        return int(parts[0]), parts[1].upper()

    @property
    def call_id(self) -> str:
        return self.get("Call-ID")

    @property
    def branch(self) -> str:
        """The branch parameter of the top Via."""
        vias = self.get_all("Via")
        return header_params(vias[0]).get("branch", "") if vias else ""

    def to_bytes(self) -> bytes:
        if self.is_request:
            start = f"{self.method} {self.uri} SIP/2.0"
        else:
            start = f"SIP/2.0 {self.status} {self.reason}"
        lines = [start]
        lines += [f"{k}: {v}" for k, v in self.headers if k != "Content-Length"]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body

    def __bytes__(self) -> bytes:
        return self.to_bytes()


_STATUS_RE = re.compile(r"^SIP/2\.0\s+(\d{3})\s*(.*)$")
_REQUEST_RE = re.compile(r"^([A-Za-z]+)\s+(\S+)\s+SIP/2\.0$")


def parse(data: bytes) -> SipMessage:
    """Parse one datagram into a :class:`SipMessage` (folded headers, compact forms)."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = data.partition(b"\n\n")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SipParseError("header is not UTF-8") from exc
    raw_lines = text.replace("\r\n", "\n").split("\n")
    while raw_lines and not raw_lines[0].strip():  # keep-alive CRLFs before a message
        raw_lines.pop(0)
    if not raw_lines:
        raise SipParseError("empty message")
    msg = SipMessage()
    first = raw_lines[0].strip()
    if m := _STATUS_RE.match(first):
        msg.status, msg.reason = int(m.group(1)), m.group(2)
    elif m := _REQUEST_RE.match(first):
        msg.method, msg.uri = m.group(1).upper(), m.group(2)
    else:
        raise SipParseError(f"bad start line: {first!r}")
    lines: list[str] = []
    for line in raw_lines[1:]:
        if line[:1] in (" ", "\t") and lines:
            lines[-1] += " " + line.strip()
        elif line.strip():
            lines.append(line)
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise SipParseError(f"bad header line: {line!r}")
        msg.headers.append((canonical(name), value.strip()))
    length = msg.get("Content-Length")
    if length:
        if not length.isdigit():
            raise SipParseError(f"bad Content-Length: {length!r}")
        body = body[: int(length)]
    msg.body = body
    for required in ("Via", "CSeq", "Call-ID", "From", "To"):
        if not msg.get(required):
            raise SipParseError(f"missing {required} header")
    msg.cseq  # noqa: B018 - validates the CSeq header
    return msg


def split_commas(value: str) -> list[str]:
    """Split a header value on commas outside quotes and angle brackets."""
    out: list[str] = []
    depth = 0
    quoted = False
    current: list[str] = []
    for ch in value:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "<":
            depth += 1
        elif not quoted and ch == ">":
            depth -= 1
        if ch == "," and not quoted and depth == 0:
            out.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    if "".join(current).strip():
        out.append("".join(current).strip())
    return out


def header_params(value: str) -> dict[str, str]:
    """The ``;name=value`` parameters of a header value (after any ``<uri>``), names lowercased."""
    rest = value.rsplit(">", 1)[1] if ">" in value else value.partition(";")[2]
    params: dict[str, str] = {}
    for part in rest.split(";"):
        part = part.strip()
        if not part:
            continue
        key, _, val = part.partition("=")
        params[key.strip().lower()] = val.strip().strip('"')
    return params


def name_addr_uri(value: str) -> str:
    """The URI inside a name-addr (``"Bob" <sip:bob@h>;tag=x`` → ``sip:bob@h``)."""
    if "<" in value and ">" in value:
        return value[value.index("<") + 1 : value.index(">")].strip()
    return value.split(";", 1)[0].strip()


def tag_of(value: str) -> str:
    """The ``tag`` parameter of a From/To header ('' when absent)."""
    return header_params(value).get("tag", "")


@dataclass(frozen=True)
class SipUri:
    """The parts of a ``sip:`` URI we route on."""

    user: str
    host: str
    port: int
    params: str = ""

    def __str__(self) -> str:
        user = f"{self.user}@" if self.user else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"sip:{user}{host}:{self.port}{self.params}"


def parse_uri(uri: str) -> SipUri:
    """Parse ``sip:user@host:port;params`` (default port 5060)."""
    uri = uri.strip()
    if "<" in uri:
        uri = name_addr_uri(uri)
    scheme, colon, rest = uri.partition(":")
    if not colon or scheme.lower() not in ("sip", "sips"):
        raise SipParseError(f"not a sip: URI: {uri!r}")
    rest = rest.partition("?")[0]
    hostport, semi, params = rest.partition(";")
    params = f";{params}" if semi else ""
    user, at, hostpart = hostport.rpartition("@")
    if not at:
        user, hostpart = "", hostport
    if hostpart.startswith("["):
        host, _, tail = hostpart[1:].partition("]")
        port_text = tail.lstrip(":")
    else:
        host, _, port_text = hostpart.partition(":")
    if not host:
        raise SipParseError(f"no host in URI: {uri!r}")
    if port_text and not port_text.isdigit():
        raise SipParseError(f"bad port in URI: {uri!r}")
    return SipUri(user, host, int(port_text) if port_text else 5060, params)


def new_tag() -> str:
    return secrets.token_hex(6)


def new_branch() -> str:
    return MAGIC_COOKIE + secrets.token_hex(8)


def new_call_id(host: str) -> str:
    return f"{secrets.token_hex(10)}@{host}"


REASONS = {
    100: "Trying",
    180: "Ringing",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    481: "Call/Transaction Does Not Exist",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    500: "Server Internal Error",
    501: "Not Implemented",
}


def response_to(request: SipMessage, status: int, reason: str = "", to_tag: str = "") -> SipMessage:
    """A response to ``request`` copying Via/From/To/Call-ID/CSeq (RFC 3261 §8.2.6)."""
    resp = SipMessage(status=status, reason=reason or REASONS.get(status, "Unknown"))
    for via in request.get_all("Via"):
        resp.add("Via", via)
    for name in ("Record-Route",):
        for value in request.get_all(name):
            resp.add(name, value)
    resp.add("From", request.get("From"))
    to = request.get("To")
    if to_tag and not tag_of(to) and status > 100:
        to = f"{to};tag={to_tag}"
    resp.add("To", to)
    resp.add("Call-ID", request.call_id)
    resp.add("CSeq", request.get("CSeq"))
    return resp
