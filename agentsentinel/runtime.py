"""The process-wide objects of a running server, started and stopped in one place.

``Runtime`` is what the API's lifespan, ``sentinel worker`` and the tests share: settings, the
database engine and session factory, the bus, the secret, and (when this process runs them) the
worker services.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from agentsentinel.alerts.outbox import ROUTING_KEY, AlertRouting
from agentsentinel.auth.bootstrap import BootstrapResult, create_login_token, ensure_admin_key
from agentsentinel.auth.throttle import AuthThrottle
from agentsentinel.auth.usage import KeyUsageRecorder
from agentsentinel.bus import create_bus
from agentsentinel.bus.base import BusUnavailable, EventBus
from agentsentinel.db.engine import create_engine, create_session_factory
from agentsentinel.db.migrate import upgrade_async
from agentsentinel.settings import Settings

if TYPE_CHECKING:
    from agentsentinel.alerts.dispatcher import AlertDispatcher
    from agentsentinel.worker.ingest import EventIngestService

log = logging.getLogger(__name__)


def _unreachable(exc: BaseException) -> bool:
    """True for "cannot connect" errors (refused, reset, timeout, DNS), at any depth."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (ConnectionError, TimeoutError, socket.gaierror, BusUnavailable)):
            return True
        if type(current).__name__ == "CannotConnectNowError":  # Postgres is starting up
            return True
        current = current.__cause__ or current.__context__
    return False


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine = field(init=False)
    sessions: async_sessionmaker[AsyncSession] = field(init=False)
    bus: EventBus = field(init=False)
    secret: str = field(init=False)
    throttle: AuthThrottle = field(init=False)
    usage: KeyUsageRecorder = field(init=False)
    ingest: EventIngestService | None = None
    alerts: AlertDispatcher | None = None
    bootstrap: BootstrapResult | None = None
    login_token: str | None = None
    # Ping every pooled connection before use. The API keeps it (a request must not fail on a
    # connection a database restart left dead); a worker process turns it off (``sentinel
    # worker``): the ping costs three round trips per batch, and a batch that meets a dead
    # connection is simply retried on a fresh one.
    pool_pre_ping: bool = True

    def __post_init__(self) -> None:
        self.secret = self.settings.resolved_secret()
        self.engine = create_engine(
            self.settings.resolved_database_url(), pool_pre_ping=self.pool_pre_ping
        )
        self.sessions = create_session_factory(self.engine)
        # Every session carries the alert routing, so the engines' triggers know the channels.
        self.sessions.configure(info={ROUTING_KEY: AlertRouting.from_settings(self.settings)})
        self.bus = create_bus(self.settings)
        self.throttle = AuthThrottle(self.settings.auth_failures_per_minute)
        self.usage = KeyUsageRecorder(self.sessions)

    async def start(
        self,
        *,
        migrate: bool = True,
        api: bool = True,
        worker: bool | None = None,
        login_token: bool = False,
    ) -> None:
        """Migrate, connect the bus, bootstrap the admin key, start background services."""
        if migrate:
            await self._until_reachable(
                "the database", lambda: upgrade_async(self.settings.resolved_database_url())
            )
        await self._until_reachable("the event bus", self.bus.start)
        if api:
            self.bootstrap = await ensure_admin_key(
                self.sessions, self.secret, self.settings.bootstrap_key_file
            )
            if login_token:
                self.login_token = await create_login_token(self.sessions, self.secret)
            self.usage.start()
        run_worker = self.settings.worker_in_process if worker is None else worker
        if run_worker:
            from agentsentinel.alerts.dispatcher import AlertDispatcher
            from agentsentinel.worker.behavior import DetectorPipeline
            from agentsentinel.worker.ingest import EventIngestService

            self.ingest = EventIngestService(
                self.bus, self.sessions, self.settings, scorer=DetectorPipeline(self.settings)
            )
            self.ingest.start()
            self.alerts = AlertDispatcher(self.sessions, self.settings)
            self.alerts.start()

    async def _until_reachable(self, what: str, attempt: Callable[[], Awaitable[object]]) -> None:
        """Retry ``attempt`` while the service is unreachable, up to ``startup_wait_s``.

        Containers start in any order: a worker that comes up a few seconds before Postgres or
        Redis waits for them (saying so) instead of exiting. Errors that are not about reaching
        the service (a bad schema, wrong credentials) are raised at once.
        """
        deadline = time.monotonic() + self.settings.startup_wait_s
        delay = 0.5
        while True:
            try:
                await attempt()
                return
            except Exception as exc:
                if not _unreachable(exc) or time.monotonic() + delay > deadline:
                    raise
                log.warning("%s is not reachable yet (%s); retrying in %.1fs", what, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def stop(self) -> None:
        """Drain in-flight events, flush bookkeeping, close connections."""
        if self.ingest is not None:
            await self.ingest.stop(drain=True)
        if self.alerts is not None:
            await self.alerts.stop()
        await self.usage.stop()
        await self.bus.close()
        await self.engine.dispose()
