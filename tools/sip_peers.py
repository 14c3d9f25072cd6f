"""Local SIP test peers (baresip, SIPp) on 127.0.0.1 for the tests and the SIP benchmark.

Each peer is started in its own session with a private config directory, on free ports, and
stopped by its PID. Nothing here is used by a real call, so it is not shipped in ``dialplan/``:
``tests/sip`` and ``tools/bench/sip.py`` share this one implementation."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

LOOPBACK = "127.0.0.1"
MODULE_PATH = os.environ.get("BARESIP_MODULE_PATH", "/usr/lib/baresip/modules")


def free_port(kind: int = socket.SOCK_DGRAM, pair: bool = False) -> int:
    """A free UDP port on loopback (with ``pair``: an even port whose successor is free too)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind((LOOPBACK, 0))
            port = int(s.getsockname()[1])
        if not pair:
            return port
        if port % 2 or port + 1 > 65535:
            continue
        try:
            with socket.socket(socket.AF_INET, kind) as a, socket.socket(socket.AF_INET, kind) as b:
                a.bind((LOOPBACK, port))
                b.bind((LOOPBACK, port + 1))
        except OSError:
            continue
        return port
    raise OSError("no free port pair")


def free_sip_port() -> int:
    """A loopback port free for both UDP and TCP (baresip listens on both), chosen below the
    kernel's ephemeral range, where other processes' outgoing connections cannot take it."""
    rng = random.Random()
    for _ in range(500):
        port = rng.randrange(20000, 32000)
        try:
            with (
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u,
                socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t,
            ):
                u.bind((LOOPBACK, port))
                t.bind((LOOPBACK, port))
        except OSError:
            continue
        return port
    raise OSError("no free SIP port")


def write_wav(path: Path, pcm16: bytes, rate: int = 8000) -> None:
    """Write mono 16-bit PCM as a WAV file."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm16)


def free_tcp_port() -> int:
    return free_port(socket.SOCK_STREAM)


def _stop(proc: subprocess.Popen[bytes], grace: float = 3.0) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        proc.wait(5)


@dataclass
class Baresip:
    """A headless baresip that auto-answers calls to ``user`` and plays ``greeting`` (a WAV)."""

    directory: Path
    user: str = "ivrpeer"
    greeting: Path | None = None
    port: int = 0
    ctrl_port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def start(self, timeout: float = 10.0) -> Baresip:
        """Start and wait until ready; a port taken between choosing it and baresip binding it
        (another test's process) is chosen again, up to three times."""
        chosen = not self.port, not self.ctrl_port
        for attempt in range(3):
            if attempt:
                self.port = 0 if chosen[0] else self.port
                self.ctrl_port = 0 if chosen[1] else self.ctrl_port
            try:
                return self._start(timeout)
            except RuntimeError as exc:
                if "Address already in use" not in str(exc) or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _start(self, timeout: float) -> Baresip:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_sip_port()
        self.ctrl_port = self.ctrl_port or free_tcp_port()
        rtp_low = free_port(pair=True)
        recordings = self.directory / "recordings"
        recordings.mkdir(exist_ok=True)
        greeting = self.greeting
        if greeting is None:  # the callee says nothing for a minute
            greeting = self.directory / "silence.wav"
            write_wav(greeting, b"\0\0" * 8000 * 60)
        source = f"aufile,{greeting}"
        modules = ["g711.so", "aufile.so", "aubridge.so", "sndfile.so"]
        config = [
            f"module_path {MODULE_PATH}",
            f"sip_listen {LOOPBACK}:{self.port}",
            f"net_interface {LOOPBACK}",
            f"rtp_ports {rtp_low}-{rtp_low + 40}",
            f"audio_source {source}",
            "audio_player aubridge,nil",
            *(f"module {m}" for m in modules),
            "module_tmp uuid.so",
            "module_tmp account.so",
            "module_app menu.so",
            "module_app ctrl_tcp.so",
            f"ctrl_tcp_listen {LOOPBACK}:{self.ctrl_port}",
            f"snd_path {recordings}",
            "sip_trans_def udp",
            "rtp_timeout 0",
        ]
        (self.directory / "config").write_text("\n".join(config) + "\n")
        (self.directory / "accounts").write_text(
            f"<sip:{self.user}@{LOOPBACK}:{self.port}>;regint=0;answermode=auto\n"
        )
        self.log_path = self.directory / "baresip.log"
        exe = shutil.which("baresip")
        if exe is None:
            raise FileNotFoundError("baresip is not installed")
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [exe, "-f", str(self.directory)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b"baresip is ready" in self.log_path.read_bytes():
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"baresip exited: {self.log_text()[-2000:]}")
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"baresip did not start: {self.log_text()[-2000:]}")

    @property
    def uri(self) -> str:
        return f"sip:{self.user}@{LOOPBACK}:{self.port}"

    def log_text(self) -> str:
        return self.log_path.read_bytes().decode("utf-8", "replace")

    def command(self, command: str, params: str = "", timeout: float = 5.0) -> dict[str, object]:
        """Run a ctrl_tcp command (netstring-framed JSON) and return its response."""
        payload = json.dumps({"command": command, "params": params, "token": "t"}).encode()
        with socket.create_connection((LOOPBACK, self.ctrl_port), timeout=timeout) as sock:
            sock.sendall(str(len(payload)).encode() + b":" + payload + b",")
            buf = b""
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                buf += chunk
                while b":" in buf:
                    length_text, _, rest = buf.partition(b":")
                    if not length_text.isdigit() or len(rest) < int(length_text) + 1:
                        break
                    message = json.loads(rest[: int(length_text)])
                    buf = rest[int(length_text) + 1 :]
                    if message.get("response"):
                        return dict(message)
        raise RuntimeError(f"no response to {command}")

    def recordings(self) -> list[Path]:
        return sorted((self.directory / "recordings").glob("*.wav"))

    def stop(self) -> None:
        """Stop by PID (baresip takes ~1.7 s to exit cleanly; tests do not need that)."""
        if self.proc is not None:
            _stop(self.proc, grace=0.3)


@dataclass
class Sipp:
    """A SIPp instance running ``scenario`` (a UAS unless ``remote`` is given)."""

    scenario: Path
    directory: Path
    port: int = 0
    media_port: int = 0
    extra: list[str] = field(default_factory=list)
    remote: str | None = None
    max_calls: int | None = None
    timeout_s: int = 120
    media: bool = True  # bind SIPp's media port (needed to play RFC 4733 captures)
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Sipp:
        exe = shutil.which("sipp")
        if exe is None:
            raise FileNotFoundError("sipp is not installed")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        self.media_port = self.media_port or free_port(pair=True)
        argv = [
            "timeout",
            str(self.timeout_s),
            exe,
            *([self.remote] if self.remote else []),
            "-sf",
            str(self.scenario),
            "-i",
            LOOPBACK,
            "-p",
            str(self.port),
            *(["-mi", LOOPBACK, "-mp", str(self.media_port)] if self.media else []),
            "-nostdin",
            "-buff_size",
            "4194304",  # bursts of hundreds of INVITEs overflow the default 208 KB
            "-trace_err",
            "-error_file",
            str(self.directory / "errors.log"),
            *(["-m", str(self.max_calls)] if self.max_calls else []),
            *self.extra,
        ]
        self.log_path = self.directory / "sipp.log"
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.directory,
            start_new_session=True,
        )
        log.close()
        self._wait_bound()
        return self

    def _wait_bound(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"sipp exited: {self.log_path.read_text(errors='replace')[-2000:]}"
                )
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                try:
                    s.bind((LOOPBACK, self.port))
                except OSError:
                    return  # sipp holds the port
            time.sleep(0.05)
        raise TimeoutError("sipp did not bind its port")

    @property
    def hostport(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def uri(self, user: str = "service") -> str:
        return f"sip:{user}@{LOOPBACK}:{self.port}"

    def wait(self, timeout: float) -> int | None:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)


PCAP_DIR = Path(os.environ.get("SIPP_PCAP_DIR", "/usr/share/sip-tester"))
_PCAP_NAMES = {"#": "pound", "*": "star"}

_HEAD = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="{name}">
  <recv request="INVITE" crlf="true">{action}</recv>
"""
_CSEQ_ACTION = """
    <action>
      <ereg regexp="[0-9]+" search_in="hdr" header="CSeq:" assign_to="cseq" />
    </action>
  """
_DIALOG_ACTION = """
    <action>
      <ereg regexp=".*" search_in="hdr" header="From:" assign_to="remote" />
      <ereg regexp=".*" search_in="hdr" header="To:" assign_to="local" />
      <ereg regexp="sip:[^>;]*" search_in="hdr" header="Contact:" assign_to="contact" />
    </action>
  """
_TO_TAG = "[last_To:];tag=[pid]SIPpTag[call_number]"


def _response(status: int, reason: str, sdp: bool = False, cseq: str = "[last_CSeq:]") -> str:
    lines = [
        f"SIP/2.0 {status} {reason}",
        "[last_Via:]",
        "[last_From:]",
        _TO_TAG,
        "[last_Call-ID:]",
        cseq,
        "Contact: <sip:[local_ip]:[local_port];transport=[transport]>",
    ]
    if sdp:
        lines += [
            "Content-Type: application/sdp",
            "Content-Length: [len]",
            "",
            "v=0",
            "o=sipp 1 1 IN IP[local_ip_type] [local_ip]",
            "s=-",
            "c=IN IP[media_ip_type] [media_ip]",
            "t=0 0",
            "m=audio [media_port] RTP/AVP 0 101",
            "a=rtpmap:0 PCMU/8000",
            "a=rtpmap:101 telephone-event/8000",
            "a=fmtp:101 0-15",
        ]
    else:
        lines.append("Content-Length: 0")
    body = "\n".join(lines)
    return f"  <send>\n    <![CDATA[\n{body}\n\n    ]]>\n  </send>\n"


def sipp_uas_scenario(
    status: int = 200,
    reason: str = "OK",
    digits: str = "",
    ring_ms: int = 0,
    hold_ms: int = 0,
    digit_gap_ms: int = 700,
    first_digit_ms: int = 300,
) -> str:
    """A SIPp UAS scenario: optional 180 and ringing time, then ``status``. When answered it
    plays ``digits`` from SIPp's shipped RFC 4733 captures, then waits for the caller's BYE
    (``hold_ms`` > 0: sends its own BYE after that time instead). With ``status`` 0 it rings
    until the caller CANCELs (200 to the CANCEL, 487 to the INVITE)."""
    action = _CSEQ_ACTION if status == 0 else (_DIALOG_ACTION if hold_ms and status == 200 else "")
    out = [_HEAD.format(name=f"uas-{status}", action=action)]
    if ring_ms or status in (0, 180):
        out.append(_response(180, "Ringing"))
    if status == 0:
        out.append('  <recv request="CANCEL" />\n')
        out.append(_response(200, "OK"))
        out.append(_response(487, "Request Terminated", cseq="CSeq: [$cseq] INVITE"))
        out.append('  <recv request="ACK" />\n</scenario>\n')
        return "".join(out)
    if ring_ms:
        out.append(f'  <pause milliseconds="{ring_ms}" />\n')
    if status != 200:
        out.append(_response(status, reason))
        out.append('  <recv request="ACK" />\n</scenario>\n')
        return "".join(out)
    out.append(_response(200, "OK", sdp=True))
    out.append('  <recv request="ACK" />\n')
    if digits:
        out.append(f'  <pause milliseconds="{first_digit_ms}" />\n')
    for i, key in enumerate(digits):
        if i:
            out.append(f'  <pause milliseconds="{digit_gap_ms}" />\n')
        pcap = PCAP_DIR / f"dtmf_2833_{_PCAP_NAMES.get(key, key)}.pcap"
        out.append(f'  <nop><action><exec play_pcap_audio="{pcap}" /></action></nop>\n')
    if hold_ms:
        out.append(f'  <pause milliseconds="{hold_ms}" />\n')
        out.append(
            '  <send retrans="500">\n    <![CDATA[\nBYE [$contact] SIP/2.0\n'
            "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]\n"
            "From: [$local];tag=[pid]SIPpTag[call_number]\nTo: [$remote]\n"
            "[last_Call-ID:]\nCSeq: 2 BYE\n"
            "Max-Forwards: 70\nContent-Length: 0\n\n    ]]>\n  </send>\n"
        )
        out.append('  <recv response="200" />\n</scenario>\n')
        return "".join(out)
    out.append('  <recv request="BYE" />\n')
    out.append(_response(200, "OK"))
    out.append("</scenario>\n")
    return "".join(out)


_UAC_SDP = """v=0
o=sipp 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15"""


def _uac_request(
    method: str, cseq: str, extra: str = "", body: str = "", branch: str = "[branch]"
) -> str:
    lines = [
        f"{method} sip:[service]@[remote_ip]:[remote_port] SIP/2.0",
        f"Via: SIP/2.0/[transport] [local_ip]:[local_port];branch={branch}",
        'From: "{display}" <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]',
        "To: <sip:[service]@[remote_ip]:[remote_port]>"
        + ("[peer_tag_param]" if method in ("ACK", "BYE") else ""),
        "Call-ID: [call_id]",
        f"CSeq: {cseq}",
        "Contact: <sip:{caller}@[local_ip]:[local_port]>",
        "Max-Forwards: 70",
    ]
    if extra:
        lines.append(extra)
    if body:
        lines += ["Content-Type: application/sdp", "Content-Length: [len]", "", body]
    else:
        lines.append("Content-Length: 0")
    return "\n".join(lines)


def sipp_uac_scenario(
    expect: int = 200,
    hangup: str = "caller",
    hold_ms: int = 2000,
    digits: str = "",
    first_digit_ms: int = 500,
    digit_gap_ms: int = 700,
    cancel_after_ms: int = 0,
    caller: str = "15550001111",
    display: str = "Ann Lee",
    auth: bool = False,
) -> str:
    """A SIPp UAC scenario calling ``[service]`` (``-s NUMBER``). ``expect``: the final status
    it must get (non-2xx: it ACKs and ends). Answered: plays ``digits`` (SIPp's RFC 4733
    captures), then ``hangup="caller"`` sends BYE after ``hold_ms``, ``"callee"`` waits for
    the callee's BYE, ``"either"`` waits ``hold_ms`` for it, then sends its own. ``cancel_after_ms``: CANCEL while it rings, expect 200 then 487.
    ``auth``: answer a 401 challenge (``-au``/``-ap`` give the credentials)."""
    fill = {"caller": caller, "display": display}

    def send(text: str, retrans: bool = True) -> str:
        attr = ' retrans="500"' if retrans else ""
        return f"  <send{attr}>\n    <![CDATA[\n{text.format(**fill)}\n\n    ]]>\n  </send>\n"

    out = [
        '<?xml version="1.0" encoding="ISO-8859-1" ?>\n<!DOCTYPE scenario SYSTEM "sipp.dtd">\n'
        '<scenario name="uac">\n'
    ]
    invite_branch = "z9hG4bK-inv1-[pid]-[call_number]"
    out.append(send(_uac_request("INVITE", "1 INVITE", body=_UAC_SDP, branch=invite_branch)))
    cseq = 1
    if auth:
        out.append('  <recv response="100" optional="true" />\n')
        out.append('  <recv response="401" auth="true" />\n')
        out.append(send(_uac_request("ACK", "1 ACK", branch=invite_branch), retrans=False))
        cseq = 2
        invite_branch = "z9hG4bK-inv2-[pid]-[call_number]"
        second = _uac_request(
            "INVITE", "2 INVITE", extra="[authentication]", body=_UAC_SDP, branch=invite_branch
        )
        out.append(send(second))
    out.append('  <recv response="100" optional="true" />\n')
    if cancel_after_ms:
        out.append('  <recv response="180" />\n')
        out.append(f'  <pause milliseconds="{cancel_after_ms}" />\n')
        out.append(send(_uac_request("CANCEL", f"{cseq} CANCEL", branch=invite_branch)))
        out.append('  <recv response="200" />\n  <recv response="487" />\n')
        ack = _uac_request("ACK", f"{cseq} ACK", branch=invite_branch)
        out.append(send(ack, retrans=False))
        out.append("</scenario>\n")
        return "".join(out)
    out.append('  <recv response="180" optional="true" />\n')
    if expect != 200:
        out.append(f'  <recv response="{expect}" />\n')
        ack = _uac_request("ACK", f"{cseq} ACK", branch=invite_branch)
        out.append(send(ack, retrans=False))
        out.append("</scenario>\n")
        return "".join(out)
    out.append('  <recv response="200" rtd="true" />\n')
    out.append(send(_uac_request("ACK", f"{cseq} ACK"), retrans=False))
    if digits:
        out.append(f'  <pause milliseconds="{first_digit_ms}" />\n')
    for i, key in enumerate(digits):
        if i:
            out.append(f'  <pause milliseconds="{digit_gap_ms}" />\n')
        pcap = PCAP_DIR / f"dtmf_2833_{_PCAP_NAMES.get(key, key)}.pcap"
        out.append(f'  <nop><action><exec play_pcap_audio="{pcap}" /></action></nop>\n')
    bye = send(_uac_request("BYE", f"{cseq + 1} BYE")) + '  <recv response="200" crlf="true" />\n'
    ok = "SIP/2.0 200 OK\n[last_Via:]\n[last_From:]\n[last_To:]\n[last_Call-ID:]\n"
    ok = send(ok + "[last_CSeq:]\nContent-Length: 0", retrans=False)
    if hangup == "caller":
        out.append(f'  <pause milliseconds="{hold_ms}" />\n' + bye)
    elif hangup == "either":  # the callee's BYE within hold_ms, else ours
        out.append(f'  <recv request="BYE" timeout="{hold_ms}" ontimeout="1" />\n')
        out.append(ok.replace("  </send>", '  </send>\n  <nop next="2" />', 1))
        out.append('  <label id="1" />\n' + bye + '  <label id="2" />\n')
    else:
        out.append('  <recv request="BYE" />\n' + ok)
    out.append("</scenario>\n")
    return "".join(out)
