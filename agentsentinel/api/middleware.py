"""Pure ASGI middleware: request limits (body size, NUL in the URL) and security headers."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class RequestLimits:
    """Reject bodies over ``max_bytes`` with 413, whether or not Content-Length is honest, and a
    NUL character in the path or query with 422: Postgres cannot compare text with one, and no
    name, id or filter holds one (request bodies are checked by ``RequestModel``)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if b"%00" in scope.get("query_string", b"") or "\x00" in scope.get("path", ""):
            await _reject(send, 422, _NUL_IN_URL, "validation_error")
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _reject(send, 400, "invalid Content-Length", "bad_request")
                    return
                if declared > self.max_bytes:
                    await _reject(send, 413, self._message(), "payload_too_large")
                    return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not response_started:
                await _reject(send, 413, self._message(), "payload_too_large")

    def _message(self) -> str:
        return f"request body larger than {self.max_bytes} bytes"


_NUL_IN_URL = [
    {"loc": ["query"], "msg": "the URL may not contain NUL characters (%00)", "type": "value_error"}
]


class _TooLarge(Exception):
    pass


async def _reject(send: Send, status: int, detail: Any, code: str) -> None:
    body = json.dumps({"detail": detail, "code": code}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeaders:
    """Headers every response carries, also in embedded mode without nginx."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                existing = {name for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    h for h in _SECURITY_HEADERS if h[0] not in existing
                ]
            await send(message)

        await self.app(scope, receive, with_headers)
