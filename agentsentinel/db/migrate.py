"""Run the Alembic migration chain programmatically (``sentinel db upgrade`` and start-up)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic.config import Config

import agentsentinel
from agentsentinel.db.engine import ensure_sqlite_dir
from alembic import command


def migrations_dir() -> Path:
    """The migration scripts: inside the wheel, or ``alembic/`` of a source checkout."""
    packaged = Path(agentsentinel.__file__).parent / "_migrations"
    if packaged.is_dir():
        return packaged
    source = Path(agentsentinel.__file__).resolve().parent.parent / "alembic"
    if source.is_dir():
        return source
    raise RuntimeError("migration scripts not found (broken installation)")


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    # '%' must be escaped for ConfigParser interpolation (passwords may contain it).
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    ensure_sqlite_dir(database_url)
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def current_heads() -> tuple[str, ...]:
    from alembic.script import ScriptDirectory

    return tuple(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    """Upgrade from async code (Alembic runs its own event loop in a worker thread)."""
    await asyncio.to_thread(upgrade, database_url, revision)
