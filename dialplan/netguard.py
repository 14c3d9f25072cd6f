"""Outbound URL safety: refuse URLs that would reach loopback, private or otherwise internal hosts.

Used for webhook URLs and for the URLs fetched by a dialplan's ``<get>``/``<post>`` (SSRF protection).

Public API
----------
``check_url(url, allow_private=False, *, resolver=socket.getaddrinfo) -> None``
    Raise :class:`UnsafeUrl` unless ``url`` is ``http``/``https`` with a host that is, and resolves only
    to, public addresses. Call it when a campaign or dialplan is loaded, to fail early with a clear message.
``check_address(ip, allow_private=False) -> None`` / ``blocked_reason(ip) -> str | None``
    The address rule alone (``blocked_reason`` says why an address is refused, ``None`` when public).
``guarded_transport(allow_private=False, *, resolver=..., verify=True, ...) -> httpx.HTTPTransport``
    An httpx transport that re-checks, **at connect time**, every address the host name resolves to and
    then connects to the checked address itself. A host that resolves to a public address when
    ``check_url`` runs and to ``127.0.0.1`` a second later (DNS rebinding) is refused at the socket,
    with :class:`BlockedAddress`. ``async_guarded_transport`` is the same for ``httpx.AsyncClient``.

What is refused (unless ``allow_private``)
------------------------------------------
schemes other than ``http``/``https``; URLs without a host; and any host that is or resolves to:
unspecified (``0.0.0.0``, ``::``, ``0.0.0.0/8``), loopback (``127.0.0.0/8``, ``::1``), private (RFC 1918
``10/8``, ``172.16/12``, ``192.168/16``), carrier-grade NAT (``100.64/10``), link-local (``169.254/16``,
``fe80::/10``), multicast (``224/4``, ``ff00::/8``), IPv6 unique-local (``fc00::/7``), IPv4-mapped,
IPv4-compatible, NAT64 (``64:ff9b::/96``), 6to4 and Teredo forms embedding such an IPv4 address, and every
other address that ``ipaddress`` does not consider globally reachable (documentation, benchmarking,
reserved ``240/4``, broadcast). Legacy numeric IPv4 spellings (``2130706433``, ``0x7f.1``, ``127.1``) are
decoded the way the C library decodes them, so they cannot sneak past; a trailing dot (``127.0.0.1.``)
is ignored as the WHATWG URL parser does, and ``localhost``, ``localhost.`` and ``*.localhost`` are
loopback without asking a resolver (RFC 6761). ``allow_private=True`` still
refuses non-http(s) schemes.

What the transport guard covers, and what it does not
-----------------------------------------------------
Covered: the address actually connected to for every request of a client using the transport, including
the targets of redirects (when the client follows them) and reconnects after a keep-alive expiry.
Not covered: proxies (the transport is built with ``trust_env=False`` and no proxy: a proxy would resolve
the name itself), and time-of-use beyond the TCP connect (irrelevant: the socket is bound to the checked
address). The hostname is still used for TLS SNI and certificate checks.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from .errors import DialplanError

__all__ = [
    "BlockedAddress",
    "Resolver",
    "UnsafeUrl",
    "async_guarded_transport",
    "blocked_reason",
    "check_address",
    "check_url",
    "guarded_transport",
    "resolve_host",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: Same shape as :func:`socket.getaddrinfo` (only the sockaddr of each result is used).
Resolver = Callable[..., Sequence[tuple[Any, ...]]]

ALLOWED_SCHEMES = ("http", "https")


class UnsafeUrl(DialplanError):
    """A URL may not be fetched: wrong scheme, no host, or a host that is (or resolves to) internal."""

    exit_code = 2

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"unsafe URL {url!r}: {reason}")


class BlockedAddress(UnsafeUrl):
    """Raised by the guarded transport when a connection would go to a refused address."""


_V4_RULES: tuple[tuple[str, ipaddress.IPv4Network], ...] = tuple(
    (reason, ipaddress.IPv4Network(net))
    for reason, net in (
        ("unspecified", "0.0.0.0/8"),
        ("loopback", "127.0.0.0/8"),
        ("private (RFC 1918)", "10.0.0.0/8"),
        ("private (RFC 1918)", "172.16.0.0/12"),
        ("private (RFC 1918)", "192.168.0.0/16"),
        ("carrier-grade NAT (RFC 6598)", "100.64.0.0/10"),
        ("link-local", "169.254.0.0/16"),
        ("multicast", "224.0.0.0/4"),
        ("broadcast", "255.255.255.255/32"),
        ("reserved", "240.0.0.0/4"),
    )
)

_V6_RULES: tuple[tuple[str, ipaddress.IPv6Network], ...] = tuple(
    (reason, ipaddress.IPv6Network(net))
    for reason, net in (
        ("unspecified", "::/128"),
        ("loopback", "::1/128"),
        ("link-local", "fe80::/10"),
        ("unique-local (IPv6 ULA)", "fc00::/7"),
        ("multicast", "ff00::/8"),
        ("site-local (deprecated)", "fec0::/10"),
    )
)

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def _embedded_v4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, compatible, 6to4, Teredo), if any."""
    if ip.ipv4_mapped is not None:
        return "IPv4-mapped", ip.ipv4_mapped
    if ip in _NAT64:
        return "NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _IPV4_COMPATIBLE:
        return "IPv4-compatible", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return "6to4", ip.sixtofour
    if ip.teredo is not None:
        return "Teredo", ip.teredo[1]
    return None


def blocked_reason(ip: IPAddress | str) -> str | None:
    """Why ``ip`` must not be connected to (``"loopback"``, ``"private (RFC 1918)"`` …), ``None`` if public."""
    addr = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    if isinstance(addr, ipaddress.IPv4Address):
        for reason, net in _V4_RULES:
            if addr in net:
                return reason
        return None if addr.is_global else "not globally routable"
    for reason, net6 in _V6_RULES:
        if addr in net6:
            return reason
    embedded = _embedded_v4(addr)
    if embedded is not None:
        kind, v4 = embedded
        if kind == "IPv4-mapped":
            # A resolver has no business returning ::ffff:a.b.c.d; refuse them all.
            inner = blocked_reason(v4)
            return f"IPv4-mapped ({inner})" if inner else "IPv4-mapped"
        inner = blocked_reason(v4)
        if inner is not None:
            return f"{kind} address embedding {v4} ({inner})"
        return None
    return None if addr.is_global else "not globally routable"


def check_address(ip: IPAddress | str, allow_private: bool = False, *, url: str = "") -> None:
    """Raise :class:`BlockedAddress` when ``ip`` is not public (and private ones are not allowed)."""
    if allow_private:
        return
    reason = blocked_reason(ip)
    if reason is not None:
        raise BlockedAddress(url or str(ip), f"address {ip} is {reason}")


def _literal_address(host: str) -> IPAddress | None:
    """``host`` as an IP address if it is written as one (including legacy IPv4 spellings, and
    with one trailing dot, which the WHATWG URL parser ignores: ``127.0.0.1.``)."""
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if bare.endswith(".") and not bare.endswith(".."):
        bare = bare[:-1]
    try:
        return ipaddress.ip_address(bare.split("%", 1)[0])
    except ValueError:
        pass
    # inet_aton is what getaddrinfo uses for numeric hosts: 2130706433, 0x7f.1, 127.1 … (no DNS).
    if bare and all(c in "0123456789abcdefxABCDEFX." for c in bare):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(bare))
        except OSError:
            return None
    return None


_LOCALHOST = (ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv6Address("::1"))


def resolve_host(
    host: str, port: int | None, resolver: Resolver = socket.getaddrinfo
) -> list[IPAddress]:
    """Every address ``host`` resolves to (de-duplicated, resolver order). Literals need no resolver."""
    literal = _literal_address(host)
    if literal is not None:
        return [literal]
    name = host.lower().removesuffix(".")
    if name == "localhost" or name.endswith(".localhost"):
        # RFC 6761: localhost names are loopback whatever a resolver says (``localhost.`` may
        # not resolve at all, or resolve through DNS to anything)
        return list(_LOCALHOST)
    infos = resolver(host, port, type=socket.SOCK_STREAM)
    seen: list[IPAddress] = []
    for info in infos:
        sockaddr = info[4]
        addr = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if addr not in seen:
            seen.append(addr)
    return seen


def _idna(host: str) -> str:
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return host.lower()


def check_url(
    url: str, allow_private: bool = False, *, resolver: Resolver = socket.getaddrinfo
) -> None:
    """Raise :class:`UnsafeUrl` unless ``url`` is a http(s) URL whose host is public.

    The host is resolved with ``resolver`` (same signature as :func:`socket.getaddrinfo`); *every*
    returned address must be public. A host that does not resolve is refused too ("cannot resolve").
    With ``allow_private`` only the scheme and the presence of a host are checked (no resolution).
    """
    if any(c.isspace() or ord(c) < 0x20 or c == "\\" for c in url):
        raise UnsafeUrl(url, "URL contains whitespace, control characters or backslashes")
    try:
        parts = urlsplit(url)
        port = parts.port
        parsed = httpx.URL(url)  # what the request will actually use
    except (ValueError, httpx.InvalidURL) as exc:
        raise UnsafeUrl(url, f"malformed URL ({exc})") from None
    scheme = parsed.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        shown = scheme or "none"
        raise UnsafeUrl(url, f"scheme {shown!r} is not allowed (only http and https)")
    host = parsed.raw_host.decode("ascii")
    if not host:
        raise UnsafeUrl(url, "no host")
    if _idna(parts.hostname or "") != host.lower():
        # Two URL parsers disagreeing on the host is how filters get bypassed: refuse.
        raise UnsafeUrl(url, f"ambiguous host ({parts.hostname!r} or {host!r})")
    if allow_private:
        return
    try:
        addresses = resolve_host(host, port or (443 if scheme == "https" else 80), resolver)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrl(url, f"cannot resolve host {host!r} ({exc})") from None
    if not addresses:
        raise UnsafeUrl(url, f"host {host!r} resolves to no address")
    for addr in addresses:
        reason = blocked_reason(addr)
        if reason is not None:
            how = "is" if _literal_address(host) is not None else f"resolves to {addr}, which is"
            raise UnsafeUrl(url, f"host {host!r} {how} {reason}")


class _GuardedBackend(httpcore.NetworkBackend):
    """Resolve, check every address, then connect to a checked address (never re-resolving)."""

    def __init__(self, allow_private: bool, resolver: Resolver) -> None:
        self._inner = httpcore.SyncBackend()
        self._allow_private = allow_private
        self._resolver = resolver

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = _checked_addresses(host, port, self._allow_private, self._resolver)
        last: Exception | None = None
        for addr in addresses:
            try:
                return self._inner.connect_tcp(
                    str(addr), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:  # pragma: no cover - no unix sockets through the guard
        raise BlockedAddress(path, "unix sockets are not allowed")

    def sleep(self, seconds: float) -> None:  # pragma: no cover - only used by httpcore retries
        self._inner.sleep(seconds)


class _AsyncGuardedBackend(httpcore.AsyncNetworkBackend):
    """Async twin of :class:`_GuardedBackend` (resolution runs in a worker thread)."""

    def __init__(self, allow_private: bool, resolver: Resolver) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allow_private = allow_private
        self._resolver = resolver

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        import anyio.to_thread

        addresses = await anyio.to_thread.run_sync(
            _checked_addresses, host, port, self._allow_private, self._resolver
        )
        last: Exception | None = None
        for addr in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(addr), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:  # pragma: no cover
        raise BlockedAddress(path, "unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:  # pragma: no cover
        await self._inner.sleep(seconds)


def _checked_addresses(
    host: str, port: int, allow_private: bool, resolver: Resolver
) -> list[IPAddress]:
    where = f"{host}:{port}"
    try:
        addresses = resolve_host(host, port, resolver)
    except (OSError, UnicodeError) as exc:
        raise httpcore.ConnectError(f"cannot resolve {host!r}: {exc}") from None
    if not addresses:
        raise httpcore.ConnectError(f"{host!r} resolves to no address")
    if not allow_private:
        for addr in addresses:
            reason = blocked_reason(addr)
            if reason is not None:
                raise BlockedAddress(where, f"connection to {addr} refused: {reason}")
    return addresses


def _pool_kwargs(ssl_context: ssl.SSLContext, limits: httpx.Limits) -> dict[str, Any]:
    return {
        "ssl_context": ssl_context,
        "max_connections": limits.max_connections,
        "max_keepalive_connections": limits.max_keepalive_connections,
        "keepalive_expiry": limits.keepalive_expiry,
    }


def _ssl_context(verify: bool | ssl.SSLContext) -> ssl.SSLContext:
    # Built once and shared with httpx (loading the CA bundle is the slow part of a transport).
    return verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify)


def guarded_transport(
    allow_private: bool = False,
    *,
    resolver: Resolver = socket.getaddrinfo,
    verify: bool | ssl.SSLContext = True,
    limits: httpx.Limits | None = None,
) -> httpx.HTTPTransport:
    """An ``httpx.HTTPTransport`` whose connections only go to addresses allowed by the rule above.

    Use as ``httpx.Client(transport=guarded_transport(), trust_env=False)``. A refused connection raises
    :class:`BlockedAddress` out of the request call; an unresolvable host raises ``httpx.ConnectError``.
    """
    limits = limits or httpx.Limits()
    context = _ssl_context(verify)
    transport = httpx.HTTPTransport(verify=context, trust_env=False, limits=limits)
    # httpx does not expose the network backend; swap the pool for one that uses ours.
    transport._pool = httpcore.ConnectionPool(
        network_backend=_GuardedBackend(allow_private, resolver), **_pool_kwargs(context, limits)
    )
    return transport


def async_guarded_transport(
    allow_private: bool = False,
    *,
    resolver: Resolver = socket.getaddrinfo,
    verify: bool | ssl.SSLContext = True,
    limits: httpx.Limits | None = None,
) -> httpx.AsyncHTTPTransport:
    """:func:`guarded_transport` for ``httpx.AsyncClient``."""
    limits = limits or httpx.Limits()
    context = _ssl_context(verify)
    transport = httpx.AsyncHTTPTransport(verify=context, trust_env=False, limits=limits)
    transport._pool = httpcore.AsyncConnectionPool(
        network_backend=_AsyncGuardedBackend(allow_private, resolver),
        **_pool_kwargs(context, limits),
    )
    return transport
