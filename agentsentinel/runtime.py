"""The process-wide objects of a running server, started and stopped in one place.

``Runtime`` is what the API's lifespan, ``sentinel worker`` and the tests share: settings, the
database engine and session factory, the bus, the secret, and (when this process runs them) the
worker services.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from agentsentinel.auth.bootstrap import BootstrapResult, create_login_token, ensure_admin_key
from agentsentinel.auth.throttle import AuthThrottle
from agentsentinel.auth.usage import KeyUsageRecorder
from agentsentinel.bus import create_bus
from agentsentinel.bus.base import EventBus
from agentsentinel.db.engine import create_engine, create_session_factory
from agentsentinel.db.migrate import upgrade_async
from agentsentinel.settings import Settings

if TYPE_CHECKING:
    from agentsentinel.worker.ingest import EventIngestService

log = logging.getLogger(__name__)


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
    bootstrap: BootstrapResult | None = None
    login_token: str | None = None

    def __post_init__(self) -> None:
        self.secret = self.settings.resolved_secret()
        self.engine = create_engine(self.settings.resolved_database_url())
        self.sessions = create_session_factory(self.engine)
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
            await upgrade_async(self.settings.resolved_database_url())
        await self.bus.start()
        if api:
            self.bootstrap = await ensure_admin_key(
                self.sessions, self.secret, self.settings.bootstrap_key_file
            )
            if login_token:
                self.login_token = await create_login_token(self.sessions, self.secret)
            self.usage.start()
        run_worker = self.settings.worker_in_process if worker is None else worker
        if run_worker:
            from agentsentinel.worker.behavior import DetectorPipeline
            from agentsentinel.worker.ingest import EventIngestService

            self.ingest = EventIngestService(
                self.bus, self.sessions, self.settings, scorer=DetectorPipeline(self.settings)
            )
            self.ingest.start()

    async def stop(self) -> None:
        """Drain in-flight events, flush bookkeeping, close connections."""
        if self.ingest is not None:
            await self.ingest.stop(drain=True)
        await self.usage.stop()
        await self.bus.close()
        await self.engine.dispose()
