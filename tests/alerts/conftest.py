"""A real HTTP receiver on 127.0.0.1 (a thread running ``http.server``) for alert deliveries."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records every request; answers with the scripted statuses, then 200."""

    url: str
    requests: list[Received] = field(default_factory=list)
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    on_request: Callable[[Received], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, *statuses: int, headers: dict[str, str] | None = None) -> None:
        self.script.extend((status, headers or {}) for status in statuses)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            item = Received(self.path, dict(self.headers.items()), self.rfile.read(length))
            rec = state["r"]
            # Alert paths only (a webhook, a fake Slack): not e.g. another test's port scan.
            if not self.path.startswith(("/hook", "/services/")):
                self.send_error(404)
                return
            if rec.on_request is not None:
                rec.on_request(item)
            with rec.lock:
                rec.requests.append(item)
                status, headers = rec.script.pop(0) if rec.script else (200, {})
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["r"] = Receiver(f"http://127.0.0.1:{server.server_address[1]}/hook")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["r"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def with_alerts(settings: Any, **changes: Any) -> Any:
    """A validated copy of the test settings (``model_copy`` would skip the URL validators)."""
    from agentsentinel.settings import Settings

    return Settings(**{**settings.model_dump(), **changes})
