"""The receiver example in docs/webhooks.md works against the real delivery worker (loopback only)."""

from __future__ import annotations

import re
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from dialplan.broadcast import webhooks as wh
from dialplan.broadcast.webhooks.memory_outbox import MemoryOutbox

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def receiver_example() -> str:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"<!-- receiver-example -->\s*```python\n(.*?)```", text, flags=re.S)
    assert match, "receiver example not found in docs/webhooks.md"
    return match.group(1)


def test_docs_receiver_example_accepts_signed_events_and_deduplicates() -> None:
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    exec(compile(receiver_example(), str(DOC), "exec"), namespace)
    secret = "docs-secret"
    namespace["SECRET"] = secret.encode()
    handled: list[dict[str, Any]] = []
    namespace["handle"] = handled.append

    server = ThreadingHTTPServer(("127.0.0.1", 0), namespace["WebhookHandler"])
    server.RequestHandlerClass.log_message = lambda *a: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/events"
    try:
        outbox = MemoryOutbox()
        ids = []
        for i in range(3):
            event_id = wh.stable_event_id("b", f"v{i}", "ringing")
            ids.append(event_id)
            body = wh.ringing(
                event_id=event_id, broadcast_id="b", voice_id=f"v{i}", to="1", timestamp=time.time()
            )
            outbox.add(event_id, url, body, time.time())
        report = wh.deliver_pending(outbox, secret, allow_private=True, max_wait_s=5)
        assert report.done and report.delivered == 3

        # A re-delivery (same event id) is acknowledged but not handled twice.
        body = wh.ringing(
            event_id=ids[0], broadcast_id="b", voice_id="v0", to="1", timestamp=time.time()
        )
        headers = {wh.SIGNATURE_HEADER: wh.sign(body, secret)}
        assert httpx.post(url, content=body, headers=headers, trust_env=False).status_code == 204
        # A bad signature is refused (and would be retried by a real sender).
        bad = {wh.SIGNATURE_HEADER: wh.sign(body, "wrong")}
        assert httpx.post(url, content=body, headers=bad, trust_env=False).status_code == 401
    finally:
        server.shutdown()
        server.server_close()
    assert [e["event_id"] for e in handled] == ids
