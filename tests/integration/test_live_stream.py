"""The SSE live feed over a real HTTP server: a posted event shows up in the stream."""

from __future__ import annotations

import asyncio
import hashlib
import json

import httpx

from agentsentinel.settings import Settings
from tests.conftest import run_live_server


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def test_posted_event_appears_in_stream(settings: Settings) -> None:
    with run_live_server(settings) as live:
        headers = {"X-API-Key": live.admin_key}
        async with httpx.AsyncClient(base_url=live.base_url, headers=headers, timeout=10) as c:
            agent = (await c.post("/api/v1/agents", json={"name": "streamer"})).json()["id"]
            async with c.stream(
                "GET", "/api/v1/events/stream", params={"agent_id": agent}
            ) as stream:
                assert stream.status_code == 200
                assert stream.headers["content-type"].startswith("text/event-stream")
                lines = stream.aiter_lines()
                assert (await anext(lines)).startswith(": connected")
                posted = await c.post(
                    "/api/v1/events",
                    json={
                        "agent_id": agent,
                        "tool_name": "search",
                        "input_hash": sha("i"),
                        "output_hash": sha("o"),
                    },
                )
                assert posted.status_code == 201
                event_id = posted.json()["event_id"]

                async def first_event() -> dict[str, object]:
                    kind = None
                    async for line in lines:
                        if line.startswith("event: "):
                            kind = line[7:]
                        elif line.startswith("data: ") and kind == "event":
                            return dict(json.loads(line[6:]))
                    raise AssertionError("stream ended")

                item = await asyncio.wait_for(first_event(), timeout=10)
                assert item["event_id"] == event_id and item["agent_name"] == "streamer"
