"""Delivers due outbox rows: claim (short transaction), send (no transaction), record outcome.

Claiming moves a row's ``next_attempt_at`` forward by ``LEASE`` in the same statement that
selects it (Postgres: ``FOR UPDATE SKIP LOCKED``), and commits: two dispatchers never hold the
same row, and a row whose dispatcher died becomes due again when the lease ends (at least once).
HTTP requests run with no transaction open. The outcome is written in a second short transaction,
only while the row is still ``pending``.

Once a minute at most, the dispatcher also deletes finished rows older than
``alert_retention_days`` (``outbox.delete_expired``), ``PRUNE_BATCH`` rows per transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentsentinel.alerts import channels
from agentsentinel.alerts.outbox import (
    DIGEST_TRIGGER,
    LOG_CHANNEL,
    PRUNE_BATCH,
    SLACK_CHANNEL,
    WEBHOOK_CHANNEL,
    AlertRouting,
    delete_expired,
    retention_cutoff,
    suppressed_count,
)
from agentsentinel.db.types import utcnow
from agentsentinel.models import Alert
from agentsentinel.settings import Settings

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=120)  # well above one send (timeouts below) of a whole claimed batch
MAX_BACKOFF_S = 3600.0
HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
_BATCH = 50
_CONCURRENCY = 8
PRUNE_EVERY = timedelta(seconds=60)
_PRUNE_MAX_BATCHES = 20  # per round: a large backlog is worked off over several minutes
_ALERTS = cast(Table, Alert.__table__)


@dataclass(frozen=True)
class Outcome:
    """What a delivery attempt did: sent, retry after ``retry_after`` s, or failed for good."""

    sent: bool
    error: str | None = None
    retryable: bool = False
    retry_after: float | None = None


class AlertDispatcher:
    """Polls the outbox and delivers; one per worker process (``Runtime`` starts it)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.routing = AlertRouting.from_settings(settings)
        self.secret = (
            settings.alert_webhook_secret.get_secret_value()
            if settings.alert_webhook_secret is not None
            else ""
        )
        self.clock = clock
        self.rng = rng or random.Random()  # jitter only, not a secret
        self.client = httpx.AsyncClient(
            transport=transport, timeout=HTTP_TIMEOUT, follow_redirects=False
        )
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.delivered = 0
        self._pruned_at: datetime | None = None

    # Lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="alert-dispatcher")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self.client.aclose()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.prune_if_due()
            except Exception:
                log.warning("alert retention failed; retrying later", exc_info=True)
            try:
                handled = await self.run_once()
            except Exception:
                log.warning("alert dispatch failed; retrying", exc_info=True)
                handled = 0
            if handled == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._stopping.wait(), self.settings.alert_poll_interval_s
                    )

    # One round ---------------------------------------------------------------------------

    async def run_once(self, now: datetime | None = None) -> int:
        """Claim what is due at ``now``, deliver it, record the outcomes; returns the count."""
        now = now or self.clock()
        claimed = await self._claim(now)
        if not claimed:
            return 0
        limit = asyncio.Semaphore(_CONCURRENCY)

        async def one(row: Alert) -> None:
            async with limit:
                outcome = await self._deliver(row)
            await self._record(row, outcome, now)

        await asyncio.gather(*(one(row) for row in claimed))
        return len(claimed)

    # Retention ---------------------------------------------------------------------------

    async def prune_if_due(self, now: datetime | None = None) -> int | None:
        """``prune`` unless this dispatcher already pruned less than ``PRUNE_EVERY`` ago."""
        now = now or self.clock()
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return None
        self._pruned_at = now
        return await self.prune(now)

    async def prune(self, now: datetime | None = None) -> int:
        """Delete finished rows past retention (one transaction per batch); returns the count."""
        now = now or self.clock()
        cutoff = retention_cutoff(now, self.settings.alert_retention_days, self.routing.window_s)
        total = 0
        for _ in range(_PRUNE_MAX_BATCHES):
            async with self.sessions() as session, session.begin():
                deleted = await delete_expired(session, cutoff, limit=PRUNE_BATCH)
            total += deleted
            if deleted < PRUNE_BATCH:
                break
        if total:
            log.info("deleted %d alerts older than %s", total, cutoff.isoformat())
        return total

    async def _claim(self, now: datetime) -> list[Alert]:
        due = (Alert.status == "pending", Alert.next_attempt_at <= now)
        async with self.sessions() as session, session.begin():
            ids = (
                select(Alert.id)
                .where(*due)
                .order_by(Alert.next_attempt_at)
                .limit(_BATCH)
                .with_for_update(skip_locked=True)
            )
            stmt = (
                update(_ALERTS)
                .where(_ALERTS.c.id.in_(ids.scalar_subquery()), *due)
                .values(next_attempt_at=now + LEASE)
                .returning(_ALERTS.c.id)
            )
            claimed = list((await session.execute(stmt)).scalars())
            if not claimed:
                return []
            rows = list(
                (await session.execute(select(Alert).where(Alert.id.in_(claimed)))).scalars()
            )
            for row in rows:
                if row.trigger == DIGEST_TRIGGER:
                    row.payload = channels.digest_message(
                        row.payload, await suppressed_count(session, row)
                    )
        return rows

    async def _deliver(self, row: Alert) -> Outcome:
        message = channels.AlertMessage(
            id=str(row.id),
            trigger=row.trigger,
            dedup_key=row.dedup_key,
            created_at=row.created_at.isoformat(),
            payload=row.payload,
        )
        if row.channel == LOG_CHANNEL:
            channels.log_alert(message)
            return Outcome(sent=True)
        url = self.routing.url_of(row.channel, row.destination)
        if url is None:
            return Outcome(sent=False, error="destination no longer configured")
        try:
            if row.channel == SLACK_CHANNEL:
                response = await self.client.post(url, json=channels.slack_body(message))
            elif row.channel == WEBHOOK_CHANNEL:
                if not self.secret:
                    return Outcome(sent=False, error="no webhook signing secret configured")
                body, headers = channels.webhook_request(
                    message, self.secret, int(self.clock().timestamp())
                )
                response = await self.client.post(url, content=body, headers=headers)
            else:
                return Outcome(sent=False, error=f"unknown channel {row.channel!r}")
        except httpx.TimeoutException:
            return Outcome(sent=False, error="timeout", retryable=True)
        except httpx.HTTPError as exc:
            # The class name only: messages of some httpx errors quote the URL (a secret).
            return Outcome(sent=False, error=type(exc).__name__, retryable=True)
        return _outcome(response)

    def backoff(self, attempts: int) -> float:
        """Seconds before attempt ``attempts + 1``: exponential, with up to 25 % jitter."""
        base = self.settings.alert_backoff_s * (2 ** (attempts - 1))
        return float(min(MAX_BACKOFF_S, base * (1.0 + 0.25 * self.rng.random())))

    async def _record(self, row: Alert, outcome: Outcome, now: datetime) -> None:
        attempts = row.attempts + 1
        values: dict[str, Any] = {"attempts": attempts}
        if outcome.sent:
            values |= {"status": "sent", "sent_at": self.clock(), "last_error": None}
            self.delivered += 1
        elif outcome.retryable and attempts < self.settings.alert_max_attempts:
            delay = self.backoff(attempts)
            if outcome.retry_after is not None:
                delay = min(MAX_BACKOFF_S, max(delay, outcome.retry_after))
            values |= {
                "next_attempt_at": now + timedelta(seconds=delay),
                "last_error": outcome.error,
            }
        else:
            values |= {"status": "failed", "last_error": outcome.error}
            log.warning(
                "alert %s (%s, %s) failed after %d attempts: %s",
                row.id,
                row.channel,
                row.destination,
                attempts,
                outcome.error,
            )
        try:
            async with self.sessions() as session, session.begin():
                await session.execute(
                    update(_ALERTS)
                    .where(_ALERTS.c.id == row.id, _ALERTS.c.status == "pending")
                    .values(**values)
                )
        except Exception:
            # The lease ends and the row is sent again: at least once, never lost.
            log.warning("recording the outcome of alert %s failed", row.id, exc_info=True)


def _outcome(response: httpx.Response) -> Outcome:
    code = response.status_code
    if 200 <= code < 300:
        return Outcome(sent=True)
    error = f"HTTP {code}"
    if code == 429:
        return Outcome(False, error, True, _retry_after(response.headers.get("Retry-After")))
    if code == 408 or code >= 500:
        return Outcome(False, error, True)
    return Outcome(False, error)  # other 4xx (and 3xx: redirects are not followed) are final


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), or None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - time.time())
