"""Event ingestion (single and batch), queries, and the live Server-Sent Events feed."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import TypeAdapter

from agentsentinel.api.deps import (
    PrincipalDep,
    ReaderDep,
    RuntimeDep,
    SessionDep,
    ensure_can_act_for,
    get_key_lookup,
)
from agentsentinel.api.fastjson import json_response
from agentsentinel.auth.keys import Scope
from agentsentinel.errors import Forbidden, InvalidInput
from agentsentinel.schemas.common import UTCDatetime
from agentsentinel.schemas.event import (
    BatchAccepted,
    EventAccepted,
    EventBatchCreate,
    EventCreate,
    EventRead,
)
from agentsentinel.services import events as svc

router = APIRouter(tags=["events"])
_HEARTBEAT_S = 15.0


@router.post("/events", status_code=201, response_model=EventAccepted, operation_id="ingest_event")
async def ingest_event(
    body: EventCreate, request: Request, runtime: RuntimeDep, principal: PrincipalDep
) -> Response:
    """Ingest one tool call and return its anomaly score.

    The request waits for the worker's score up to the reply deadline (default 250 ms). Past it,
    the event is safely queued and the answer is ``status: "pending"`` with a null score; the
    score lands later (``GET /events``). Until a detector is configured the score is null with
    ``status: "accepted"``. Re-sending an ``event_id`` never stores it twice
    (``status: "duplicate"``).
    """
    ensure_can_act_for(principal, body.agent_id)
    # A live agent key proves its agent exists (authentication joined it); admins ask. No pooled
    # connection is held from here on, so none is held while waiting for the worker.
    if principal.scope is not Scope.AGENT and not await svc.agent_ids_existing(
        get_key_lookup(request), {body.agent_id}
    ):
        raise svc.not_found_agent()
    prepared = svc.prepare(body, runtime.settings, svc.now())
    message = dataclasses.replace(prepared.message, reply_to=runtime.bus.instance_id)
    bus = runtime.bus
    bus.expect_reply(message.message_id)
    try:
        await svc.publish(bus, [message])
        reply = await bus.wait_reply(message.message_id, runtime.settings.reply_timeout_ms / 1000)
    finally:
        bus.forget_reply(message.message_id)
    result: dict[str, Any] = {
        "event_id": message.message_id,
        "timestamp": prepared.occurred_at,
        "received_at": prepared.received_at,
        "clock_adjusted": prepared.clock_adjusted,
        "anomaly_score": None,
        "reasons": [],
        "status": "pending",
    }
    if reply is not None:
        if reply.status == "rejected":
            raise svc.not_found_agent()
        result.update(anomaly_score=reply.anomaly_score, reasons=reply.reasons, status=reply.status)
    # What FastAPI would do with ``response_model`` (validate, then dump), minus its overhead.
    return Response(
        _ACCEPTED.dump_json(_ACCEPTED.validate_python(result)),
        status_code=201,
        media_type="application/json",
    )


_ACCEPTED: TypeAdapter[EventAccepted] = TypeAdapter(EventAccepted)


@router.post(
    "/events/batch",
    status_code=202,
    response_model=BatchAccepted,
    operation_id="ingest_events_batch",
)
async def ingest_batch(
    body: EventBatchCreate, request: Request, runtime: RuntimeDep, principal: PrincipalDep
) -> Response:
    """Queue up to 1000 events without waiting for scores.

    Each event is validated and authorised on its own: a bad one is rejected alone (with its
    error in ``results``), the rest are accepted. Idempotent on ``event_id``.
    """
    window = svc.ReceiveWindow.at(runtime.settings, svc.now())
    # Every result carries the five ``BatchItemResult`` fields, in its order.
    results: list[dict[str, Any]] = []
    candidates: list[tuple[int, EventCreate]] = []
    for index, raw in enumerate(body.events):
        validated = svc.validate_batch_item(raw)
        if isinstance(validated, list):
            results.append(_rejected(index, None, validated))
            continue
        if not principal.can_act_for(validated.agent_id):
            results.append(
                _rejected(index, validated.event_id, "this key may not post events for that agent")
            )
            continue
        candidates.append((index, validated))
        results.append(_PLACEHOLDER)  # filled below in request order
    existing: set[uuid.UUID]
    if principal.scope is Scope.AGENT:
        # Only the key's own agent got this far, and a live agent key proves it exists.
        existing = {e.agent_id for _, e in candidates[:1]}
    else:
        existing = await svc.agent_ids_existing(
            get_key_lookup(request), {e.agent_id for _, e in candidates}
        )
    messages = []
    accepted = 0
    for index, event in candidates:
        if event.agent_id not in existing:
            results[index] = _rejected(index, event.event_id, "Agent not found")
            continue
        try:
            prepared = svc.prepare(event, runtime.settings, window.received_at, window)
        except InvalidInput as exc:
            results[index] = _rejected(index, event.event_id, exc.detail)
            continue
        messages.append(prepared.message)
        results[index] = {
            "index": index,
            "event_id": prepared.message.message_id,
            "status": "accepted",
            "anomaly_score": None,
            "error": None,
        }
        accepted += 1
    if messages:
        await svc.publish(runtime.bus, messages)
    return json_response(
        {"accepted": accepted, "rejected": len(results) - accepted, "results": results}, 202
    )


_PLACEHOLDER: dict[str, Any] = {}


def _rejected(index: int, event_id: uuid.UUID | None, error: Any) -> dict[str, Any]:
    return {
        "index": index,
        "event_id": None if event_id is None else str(event_id),
        "status": "rejected",
        "anomaly_score": None,
        "error": error,
    }


@router.get("/events", response_model=list[EventRead], operation_id="list_events")
async def list_events(
    response: Response,
    session: SessionDep,
    _: ReaderDep,
    agent_id: uuid.UUID | None = None,
    tool_name: Annotated[str | None, Query(max_length=255)] = None,
    session_id: Annotated[str | None, Query(max_length=255)] = None,
    since: UTCDatetime | None = None,
    until: UTCDatetime | None = None,
    min_score: Annotated[float | None, Query(ge=0.0, le=1.0)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=256)] = None,
) -> list[dict[str, Any]]:
    """Events newest first. The next page's cursor is in the ``X-Next-Cursor`` header."""
    rows, next_cursor = await svc.list_events(
        session,
        svc.EventFilter(agent_id, tool_name, since, until, min_score, session_id),
        limit,
        cursor,
    )
    if next_cursor:
        response.headers["X-Next-Cursor"] = next_cursor
    return [svc.event_read(ev, name) for ev, name in rows]


@router.get(
    "/events/stream",
    operation_id="stream_events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "SSE stream"}},
)
async def stream_events(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    agent_id: uuid.UUID | None = None,
) -> StreamingResponse:
    """Server-Sent Events: ``event`` for each stored event, ``score`` for score changes."""
    if agent_id is None and not principal.can_read_fleet():
        raise Forbidden("agent keys must filter the stream by their own agent_id")
    if agent_id is not None and not principal.can_read_agent(agent_id):
        raise Forbidden("this key may only read its own agent")
    wanted = str(agent_id) if agent_id else None
    feed = runtime.bus.subscribe_feed()
    # Answer once the subscription is live, so an event posted after ": connected" is seen.
    try:
        await feed.wait_ready()
    except BaseException:
        feed.close()
        raise

    async def stream() -> AsyncIterator[str]:
        yield ": connected\n\n"
        iterator = feed.__aiter__()
        pending: asyncio.Task[Any] | None = None
        try:
            while not await request.is_disconnected():
                if pending is None:
                    pending = asyncio.ensure_future(iterator.__anext__())
                done, _ = await asyncio.wait({pending}, timeout=_HEARTBEAT_S)
                if not done:
                    yield ": keep-alive\n\n"
                    continue
                item = pending.result()
                pending = None
                if wanted and item.get("agent_id") != wanted:
                    continue
                kind = item.get("type", "event")
                yield f"event: {kind}\ndata: {json.dumps(item, default=str)}\n\n"
        except StopAsyncIteration:
            return
        finally:
            if pending is not None:
                pending.cancel()
            close = getattr(iterator, "aclose", None)
            if close is not None:
                await close()

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
