"""netguard: URL and address rules, injected resolution, and the connect-time (anti-rebinding) guard."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from dialplan.errors import DialplanError
from dialplan.netguard import (
    BlockedAddress,
    UnsafeUrl,
    blocked_reason,
    check_address,
    check_url,
    guarded_transport,
    resolve_host,
)


def fake_resolver(table: dict[str, list[str]]) -> Callable[..., list[tuple[Any, ...]]]:
    """A getaddrinfo look-alike answering from ``table`` (never touches DNS)."""

    def resolve(host: str, port: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        out: list[tuple[Any, ...]] = []
        for ip in table[host]:
            if ":" in ip:
                out.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (ip, port or 0, 0, 0)))
            else:
                out.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port or 0)))
        return out

    return resolve


def no_dns(*args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
    raise AssertionError(f"resolver must not be called: {args}")


@pytest.mark.parametrize(
    ("ip", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.20", "private"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("169.254.169.254", "link-local"),
        ("224.0.0.251", "multicast"),
        ("239.255.255.250", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("255.255.255.255", "broadcast"),
        ("240.0.0.1", "reserved"),
        ("192.0.2.10", "not globally routable"),
        ("::", "unspecified"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "unique-local"),
        ("fd12:3456::1", "unique-local"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "IPv4-mapped (loopback)"),
        ("::ffff:10.0.0.1", "IPv4-mapped (private"),
        ("::ffff:8.8.8.8", "IPv4-mapped"),
        ("64:ff9b::a00:1", "NAT64 address embedding 10.0.0.1"),
        ("2002:c0a8:0101::1", "6to4 address embedding 192.168.1.1"),
        ("::7f00:1", "IPv4-compatible address embedding 127.0.0.1"),
    ],
)
def test_blocked_addresses(ip: str, reason: str) -> None:
    got = blocked_reason(ip)
    assert got is not None and got.startswith(reason), got
    with pytest.raises(BlockedAddress):
        check_address(ip)
    check_address(ip, allow_private=True)  # allowed on request


@pytest.mark.parametrize(
    "ip", ["8.8.8.8", "1.1.1.1", "93.184.216.34", "100.128.0.1", "172.32.0.1", "2606:4700::1111"]
)
def test_public_addresses(ip: str) -> None:
    assert blocked_reason(ip) is None
    check_address(ip)


def test_cgnat_boundaries() -> None:
    assert blocked_reason("100.63.255.255") is None
    assert blocked_reason("100.64.0.0") is not None
    assert blocked_reason("100.128.0.0") is None


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("ftp://example.com/x", "scheme 'ftp' is not allowed"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("gopher://8.8.8.8/", "scheme 'gopher'"),
        ("javascript:alert(1)", "scheme 'javascript'"),
        ("example.com/hook", "scheme 'none'"),
        ("http:///path", "no host"),
        ("http://[::1", "malformed URL"),
        ("http://host:99999/", "malformed URL"),
        ("http://127.0.0.1\\@8.8.8.8/", "backslashes"),
        ("http://8.8.8.8 /x", "whitespace"),
        ("http://8.8.8.8/\nHost: x", "control characters"),
    ],
)
def test_bad_urls(url: str, fragment: str) -> None:
    with pytest.raises(UnsafeUrl) as info:
        check_url(url, resolver=no_dns)
    assert fragment in str(info.value)
    assert isinstance(info.value, DialplanError)
    assert info.value.exit_code == 2


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/", "file:///tmp/x"])
def test_allow_private_still_checks_scheme(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        check_url(url, allow_private=True, resolver=no_dns)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("http://[::1]/hook", "loopback"),
        ("https://10.1.2.3/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[fd00::5]/", "unique-local"),
        ("http://[::ffff:127.0.0.1]/", "IPv4-mapped"),
        ("http://2130706433/", "loopback"),  # decimal spelling of 127.0.0.1
        ("http://0x7f.0.0.1/", "loopback"),  # hex spelling
        ("http://127.1/", "loopback"),  # short spelling
        ("http://0/", "unspecified"),
        ("HTTP://192.168.0.1/", "private"),
        ("http://8.8.8.8@127.0.0.1/", "loopback"),  # userinfo is not the host
        ("http://user:pw@[::1]:81/", "loopback"),
    ],
)
def test_literal_hosts_are_checked_without_dns(url: str, reason: str) -> None:
    with pytest.raises(UnsafeUrl) as info:
        check_url(url, resolver=no_dns)
    assert reason in info.value.reason
    check_url(url, allow_private=True, resolver=no_dns)


def test_public_literal_passes_without_dns() -> None:
    check_url("https://8.8.8.8/hook", resolver=no_dns)
    check_url("http://[2606:4700::1111]:8443/hook?x=1", resolver=no_dns)


def test_hostnames_go_through_the_resolver() -> None:
    resolver = fake_resolver(
        {
            "hooks.example.com": ["93.184.216.34"],
            "localhost": ["127.0.0.1", "::1"],
            "internal.corp": ["10.20.30.40"],
            "mixed.example.com": ["93.184.216.34", "192.168.0.7"],
            "v6only.example.com": ["2606:4700::1111"],
        }
    )
    check_url("https://hooks.example.com/cb", resolver=resolver)
    check_url("https://v6only.example.com/cb", resolver=resolver)
    for url, needle in [
        ("http://localhost:8000/", "resolves to 127.0.0.1, which is loopback"),
        ("http://internal.corp/", "resolves to 10.20.30.40, which is private"),
        # One bad address among good ones is enough to refuse: the connection could go to any.
        ("http://mixed.example.com/", "resolves to 192.168.0.7"),
        ("http://nowhere.invalid/", "cannot resolve host 'nowhere.invalid'"),
    ]:
        with pytest.raises(UnsafeUrl) as info:
            check_url(url, resolver=resolver)
        assert needle in str(info.value), str(info.value)
    # allow_private skips resolution entirely.
    check_url("http://localhost:8000/", allow_private=True, resolver=no_dns)


def test_resolver_receives_port_and_stream_type() -> None:
    calls: list[tuple[Any, ...]] = []

    def resolver(host: str, port: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        calls.append((host, port, kwargs.get("type")))
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.8.8", port))]

    check_url("https://a.example/", resolver=resolver)
    check_url("http://b.example:8080/", resolver=resolver)
    assert calls == [
        ("a.example", 443, socket.SOCK_STREAM),
        ("b.example", 8080, socket.SOCK_STREAM),
    ]


def test_resolve_host_deduplicates() -> None:
    resolver = fake_resolver({"h": ["8.8.8.8", "8.8.8.8", "2606:4700::1111"]})
    assert [str(a) for a in resolve_host("h", 80, resolver)] == ["8.8.8.8", "2606:4700::1111"]


def test_empty_resolution_is_refused() -> None:
    with pytest.raises(UnsafeUrl, match="resolves to no address"):
        check_url("http://empty.example/", resolver=lambda *a, **k: [])


# --- connect-time guard (real sockets on 127.0.0.1 only) -------------------------------------


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"hello"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def local_server() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_guarded_transport_blocks_loopback(local_server: int) -> None:
    with (
        httpx.Client(transport=guarded_transport(), trust_env=False) as client,
        pytest.raises(BlockedAddress, match=r"127\.0\.0\.1"),
    ):
        client.get(f"http://127.0.0.1:{local_server}/")


def test_guarded_transport_allows_when_private_allowed(local_server: int) -> None:
    with httpx.Client(transport=guarded_transport(allow_private=True), trust_env=False) as client:
        assert client.get(f"http://127.0.0.1:{local_server}/").text == "hello"


def test_guarded_transport_defeats_dns_rebinding(local_server: int) -> None:
    """The name looks public when the URL is checked, then resolves to loopback at connect time."""
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])
    seen: list[str] = []

    def rebinding(host: str, port: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        ips = next(answers)
        seen.extend(ips)
        return fake_resolver({host: ips})(host, port)

    url = f"http://rebind.example:{local_server}/"
    check_url(url, resolver=rebinding)  # passes: first answer is public
    transport = guarded_transport(resolver=rebinding)
    with (
        httpx.Client(transport=transport, trust_env=False) as client,
        pytest.raises(BlockedAddress, match=r"connection to 127\.0\.0\.1 refused: loopback"),
    ):
        client.get(url)
    assert seen == ["93.184.216.34", "127.0.0.1"]


def test_guarded_transport_connects_to_the_checked_address(local_server: int) -> None:
    """With private addresses allowed, a made-up name is connected via the resolver's answer."""
    resolver = fake_resolver({"receiver.test": ["127.0.0.1"]})
    transport = guarded_transport(allow_private=True, resolver=resolver)
    with httpx.Client(transport=transport, trust_env=False) as client:
        response = client.get(f"http://receiver.test:{local_server}/")
    assert response.status_code == 200
    assert response.text == "hello"


def test_guarded_transport_unresolvable_is_connect_error() -> None:
    transport = guarded_transport(resolver=fake_resolver({}))
    with (
        httpx.Client(transport=transport, trust_env=False) as client,
        pytest.raises(httpx.ConnectError, match="cannot resolve"),
    ):
        client.get("http://nowhere.test/")


def test_async_guarded_transport_blocks_and_allows(local_server: int) -> None:
    import asyncio

    from dialplan.netguard import async_guarded_transport

    async def main() -> None:
        async with httpx.AsyncClient(transport=async_guarded_transport(), trust_env=False) as c:
            with pytest.raises(BlockedAddress):
                await c.get(f"http://127.0.0.1:{local_server}/")
        transport = async_guarded_transport(allow_private=True)
        async with httpx.AsyncClient(transport=transport, trust_env=False) as c:
            assert (await c.get(f"http://127.0.0.1:{local_server}/")).text == "hello"

    asyncio.run(main())
