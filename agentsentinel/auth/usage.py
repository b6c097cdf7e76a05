"""``last_used_at`` bookkeeping that never holds a row lock during a request.

Requests only note the time in memory; a background task writes the latest time per key every
few seconds in one short transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import datetime

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentsentinel.db.types import utcnow
from agentsentinel.models import ApiKey

log = logging.getLogger(__name__)


class KeyUsageRecorder:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], interval_s: float = 5.0) -> None:
        self._sessions = sessions
        self._interval = interval_s
        self._pending: dict[uuid.UUID, datetime] = {}
        self._task: asyncio.Task[None] | None = None

    def touch(self, key_id: uuid.UUID) -> None:
        self._pending[key_id] = utcnow()

    async def flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        async with self._sessions() as session, session.begin():
            for key_id, used_at in pending.items():
                await session.execute(
                    update(ApiKey)
                    .where(ApiKey.id == key_id)
                    .where(or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < used_at))
                    .values(last_used_at=used_at)
                )

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.flush()
            except Exception:  # a hiccup must not kill the loop; the next flush retries
                log.warning("could not record key usage", exc_info=True)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="key-usage-recorder")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            await self.flush()
        except Exception:
            log.warning("could not record key usage at shutdown", exc_info=True)
