"""fetch@v2 over real HTTP (the SIP driver's client): method, headers and body reach the server,
and the private-address guard applies as for <get>/<post>."""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import Iterator

import pytest

from dialplan.drivers.sip.driver import CallRun, DriverOptions, SipDriver
from dialplan.drivers.sip.ua import SipConfig
from dialplan.engine import effects as fx
from dialplan.engine import events as ev

RECEIVED: list[tuple[str, str, str, bytes]] = []


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        RECEIVED.append((self.command, self.path, self.headers.get("X-Id", ""), body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"stored")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    RECEIVED.clear()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _Run:
    """What ``CallRun._http_async`` uses of a call: its driver and where events go."""

    def __init__(self, allow_private: bool) -> None:
        self.driver = SipDriver(SipConfig(), DriverOptions(allow_private=allow_private))
        self.events: list[ev.Event] = []

    def post(self, event: ev.Event) -> None:
        self.events.append(event)


def _fetch(run: _Run, url: str) -> None:
    effect = fx.HttpRequest(7, "PUT", url + "/log?x=1", headers=(("X-Id", "a7"),), body='{"a":1}')

    async def go() -> None:
        await CallRun._http_async(run, effect)  # type: ignore[arg-type]
        await run.driver.close()

    asyncio.run(go())


def test_method_headers_and_body_reach_the_server(server: str) -> None:
    run = _Run(allow_private=True)  # the test server is on loopback
    _fetch(run, server)
    assert RECEIVED == [("PUT", "/log?x=1", "a7", b'{"a":1}')]
    assert run.events == [ev.HttpDone(7, 200, "stored")]


def test_loopback_is_refused_by_the_private_address_guard(server: str) -> None:
    run = _Run(allow_private=False)
    _fetch(run, server)
    assert RECEIVED == []
    assert run.events == [ev.HttpDone(7, None, "")]
