"""Failed-authentication throttling per client address, and the client address itself."""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict, deque

from starlette.requests import Request

_MAX_TRACKED = 10_000  # bounded memory: the least recently failing addresses are forgotten
_WINDOW_S = 60.0


class AuthThrottle:
    """Sliding one-minute window of failures per address; over the limit the address gets 429."""

    def __init__(self, failures_per_minute: int) -> None:
        self.limit = failures_per_minute
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, address: str) -> int:
        """Seconds until ``address`` may try again; 0 when it is not throttled."""
        window = self._failures.get(address)
        if not window:
            return 0
        now = time.monotonic()
        while window and now - window[0] > _WINDOW_S:
            window.popleft()
        if len(window) < self.limit:
            return 0
        return max(1, math.ceil(_WINDOW_S - (now - window[0])))

    def record_failure(self, address: str) -> None:
        window = self._failures.pop(address, None) or deque(maxlen=self.limit)
        window.append(time.monotonic())
        self._failures[address] = window
        while len(self._failures) > _MAX_TRACKED:
            self._failures.popitem(last=False)


def client_address(request: Request, trusted_proxies: list[str]) -> str:
    """The caller's address; ``X-Forwarded-For`` is believed only from a trusted proxy."""
    peer = request.client.host if request.client else "unknown"
    if peer not in trusted_proxies:
        return peer
    forwarded = request.headers.get("x-forwarded-for")
    if not forwarded:
        return peer
    # Walk from the right: the first hop that is not one of our proxies is the client.
    for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
        if hop not in trusted_proxies:
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                return peer
            return hop
    return peer
