"""The application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from starlette.requests import Request

import agentsentinel
from agentsentinel.api.errors import install_error_handlers
from agentsentinel.api.middleware import RequestLimits, SecurityHeaders
from agentsentinel.api.routers import (
    agents,
    alerts,
    events,
    findings,
    health,
    keys,
    login,
    rules,
    scores,
    suppressions,
)
from agentsentinel.auth.lookup import KeyLookup
from agentsentinel.runtime import Runtime
from agentsentinel.settings import Settings

log = logging.getLogger(__name__)
STATIC_DIR = Path(agentsentinel.__file__).parent / "static"
API_PREFIX = "/api/v1"


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    announce: Callable[[Runtime], None] | None = None,
    login_token: bool = False,
    migrate: bool = True,
    static_dir: Path | None = None,
) -> FastAPI:
    """Build the API. The lifespan migrates, connects, bootstraps, and (if configured) runs the
    worker in-process; ``announce`` is called once everything is up (the CLI prints keys)."""
    settings = settings or Settings()
    rt = runtime or Runtime(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await rt.start(migrate=migrate, login_token=login_token)
        app.state.key_lookup = KeyLookup.for_database(
            rt.settings.resolved_database_url(), rt.engine
        )
        if announce is not None:
            announce(rt)
        try:
            yield
        finally:
            try:
                await rt.stop()
            finally:
                await app.state.key_lookup.close()

    docs = settings.docs_enabled
    app = FastAPI(
        title="AgentSentinel",
        version=agentsentinel.__version__,
        description="Discover, assess and watch AI agents: one explainable Trust Score per agent.",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.runtime = rt
    install_error_handlers(app)

    api = APIRouter(prefix=API_PREFIX)
    for module in (agents, events, findings, scores, keys, rules, suppressions, alerts):
        api.include_router(module.router)
    # Also under /api/v1 for clients that only proxy /api/ (one schema entry: the root one).
    api.include_router(health.router, include_in_schema=False)
    app.include_router(api)
    app.include_router(health.router)

    ui_dir = static_dir or STATIC_DIR
    if not (ui_dir / "index.html").is_file():
        app.include_router(login.router)  # the dashboard bundle brings its own login page
    _mount_ui(app, ui_dir)

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["X-API-Key", "Content-Type"],
            expose_headers=["X-Total-Count", "X-Next-Cursor"],
        )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestLimits, max_bytes=settings.max_body_bytes)
    return app


def _mount_ui(app: FastAPI, static_dir: Path) -> None:
    """Serve the dashboard with SPA fallback, or say clearly that it is not built."""
    index = static_dir / "index.html"
    if not index.is_file():
        log.warning("dashboard bundle not found in %s (build it with `make ui`)", static_dir)
        return
    root = static_dir.resolve()

    @app.get("/{path:path}", include_in_schema=False)
    async def spa(path: str, request: Request) -> FileResponse | JSONResponse:
        if path.startswith("api/") or path == "api":
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        candidate = (root / path).resolve()
        if path and candidate.is_file() and candidate.is_relative_to(root):
            return FileResponse(candidate)
        return FileResponse(index)
