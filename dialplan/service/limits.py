"""Request-size limit: bodies over the limit are refused with 413 before the app reads them."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .problems import problem_response


class BodyLimit:
    """ASGI middleware: 413 for a ``Content-Length`` over ``max_bytes``, or a streamed
    (chunked) body that grows past it."""

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
        if not any(name == b"transfer-encoding" for name, _ in scope.get("headers", ())):
            await self.app(scope, receive, send)
            return
        # A streamed body (no Content-Length): read it here, up to the limit, then replay it, so
        # the app never sees a body that is cut short (it would call that a parse error).
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            more = bool(message.get("more_body", False))
            if len(body) > self.max_bytes:
                await self._refuse(scope, receive, send, path)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        response = problem_response(
            413,
            "payload-too-large",
            f"request body over the limit of {self.max_bytes} bytes",
            path,
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)
