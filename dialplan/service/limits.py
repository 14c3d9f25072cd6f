"""Request-size limit: bodies over the limit are refused with 413 before the app reads them."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .problems import problem_response


class BodyTooLarge(Exception):
    """Raised inside ``receive`` when a chunked body grows past the limit."""


class BodyLimit:
    """ASGI middleware: 413 for a ``Content-Length`` over ``max_bytes``, or a streamed body
    that grows past it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0 or declared > self.max_bytes:
                    await self._refuse(scope, receive, send, path)
                    return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, receive, send, path)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        response = problem_response(
            413,
            "payload-too-large",
            f"request body over the limit of {self.max_bytes} bytes",
            path,
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)
