"""Liveness and readiness (unauthenticated)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

import agentsentinel
from agentsentinel.api.deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/health", operation_id="health")
async def health(runtime: RuntimeDep) -> dict[str, Any]:
    """Liveness: the process answers. Never touches dependencies."""
    return {"status": "ok", "version": agentsentinel.__version__, "mode": runtime.settings.mode}


async def _check(coro: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        ok = await asyncio.wait_for(coro, timeout=2.0)
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": bool(ok), "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


@router.get("/ready", operation_id="ready", responses={503: {"description": "Not ready"}})
async def ready(runtime: RuntimeDep) -> JSONResponse:
    """Readiness: the database and the bus answer. 503 with details otherwise."""

    async def db_ok() -> bool:
        async with runtime.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True

    checks = {"database": await _check(db_ok()), "bus": await _check(runtime.bus.ping())}
    ok = all(c["ok"] for c in checks.values())
    body = {"status": "ready" if ok else "unavailable", "checks": checks}
    headers = {} if ok else {"Retry-After": "5"}
    return JSONResponse(body, status_code=200 if ok else 503, headers=headers)
