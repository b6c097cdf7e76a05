"""The one migration chain goes up and down on SQLite and on Postgres, and matches the models."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from agentsentinel.db.migrate import current_heads, downgrade, upgrade
from agentsentinel.models import Base
from tests.conftest import PG_URL, REDIS_URL

BACKENDS = ["sqlite"] + (["postgres"] if PG_URL and REDIS_URL else [])


def _tables(url: str) -> set[str]:
    async def run() -> set[str]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _cycle(url: str) -> list[set[str]]:
    seen = []
    upgrade(url)
    seen.append(_tables(url))
    downgrade(url, "base")
    seen.append(_tables(url))
    upgrade(url)
    seen.append(_tables(url))
    return seen


@pytest.mark.parametrize("kind", BACKENDS)
def test_upgrade_downgrade_upgrade(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    else:
        url = request.getfixturevalue("postgres_database")
    with ThreadPoolExecutor(1) as pool:
        up, down, up_again = pool.submit(_cycle, url).result()
    expected = set(Base.metadata.tables)
    assert expected <= up, expected - up
    assert down <= {"alembic_version"}
    assert up_again == up


def test_single_linear_chain() -> None:
    assert len(current_heads()) == 1
