"""Webhook delivery as an asyncio task beside the calls (``httpx.AsyncClient``).

The real-clock runner starts :meth:`AsyncWebhookDeliverer.run_forever` as its own task: a
receiver that hangs holds up only that task (each POST has a timeout, the URL is then held
back), never the loop that places calls. Backoff, signing and booking are the synchronous
deliverer's (:class:`~.delivery.DeliveryBook`).
"""

from __future__ import annotations

import asyncio
import time

import httpx

from ...netguard import UnsafeUrl, async_guarded_transport
from .delivery import (
    USER_AGENT,
    DeliveryBook,
    DeliveryReport,
    RetryPolicy,
    SecretOf,
    failure,
)
from .outbox import Outbox, OutboxEvent


class AsyncWebhookDeliverer(DeliveryBook):
    def __init__(
        self,
        outbox: Outbox,
        secret: str | bytes | SecretOf,
        *,
        allow_private: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 10.0,
        policy: RetryPolicy | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(outbox, secret, policy, seed=seed)
        self.report = DeliveryReport()
        self._client = httpx.AsyncClient(
            transport=transport or async_guarded_transport(allow_private),
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": USER_AGENT},
        )

    async def attempt(self, event: OutboxEvent) -> str | None:
        """POST one event once; ``None`` when the receiver took it (2xx), else why not."""
        try:
            r = await self._client.post(event.url, content=event.body, headers=self.headers(event))
        except (httpx.TimeoutException, httpx.TransportError, httpx.InvalidURL, UnsafeUrl) as exc:
            return failure(exc)
        return None if 200 <= r.status_code < 300 else f"HTTP {r.status_code}"

    async def run_once(self) -> int:
        """Try every due event once; returns how many were tried."""
        now = time.time()
        attempted = 0
        for event in self.due_now(now, None):
            if self.held_back(event, now):
                continue
            attempted += 1
            error = await self.attempt(event)
            self.settle(event, error, time.time(), self.report)
        return attempted

    async def run_forever(self, poll_s: float = 0.5) -> None:
        """Deliver until cancelled (the runner cancels it when the calls are done)."""
        try:
            while True:
                if await self.run_once() == 0:
                    await asyncio.sleep(poll_s)
        finally:
            await self._client.aclose()
