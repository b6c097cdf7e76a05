"""Domain errors. Each carries its HTTP status and machine code; one handler maps them."""

from __future__ import annotations

from typing import Any


class SentinelError(Exception):
    """Base class: ``status_code`` and ``code`` end up in the ``{"detail", "code"}`` body."""

    status_code = 400
    code = "bad_request"

    def __init__(self, detail: Any = None, *, headers: dict[str, str] | None = None) -> None:
        self.detail = detail if detail is not None else self.default_detail()
        self.headers = headers
        super().__init__(str(self.detail))

    def default_detail(self) -> str:
        return self.code.replace("_", " ").capitalize()


class NotFound(SentinelError):
    status_code = 404
    code = "not_found"


class Conflict(SentinelError):
    status_code = 409
    code = "conflict"


class Unauthenticated(SentinelError):
    status_code = 401
    code = "unauthenticated"


class Forbidden(SentinelError):
    status_code = 403
    code = "forbidden"


class RateLimited(SentinelError):
    status_code = 429
    code = "rate_limited"


class InvalidInput(SentinelError):
    status_code = 422
    code = "validation_error"


class PayloadTooLarge(SentinelError):
    status_code = 413
    code = "payload_too_large"


class DependencyUnavailable(SentinelError):
    status_code = 503
    code = "unavailable"
