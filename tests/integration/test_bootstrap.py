"""First-start admin key: exactly one, however many processes start together."""

from __future__ import annotations

import asyncio
import os
import stat

from sqlalchemy import func, select

from agentsentinel.auth.bootstrap import ensure_admin_key
from agentsentinel.models import ApiKey
from agentsentinel.runtime import Runtime
from agentsentinel.settings import Settings


async def _admin_count(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        return int(
            (
                await session.execute(
                    select(func.count()).select_from(ApiKey).where(ApiKey.scope == "admin")
                )
            ).scalar_one()
        )


async def test_concurrent_starts_mint_one_key(settings: Settings) -> None:
    runtimes = [Runtime(settings) for _ in range(6)]
    try:
        results = await asyncio.gather(
            *(ensure_admin_key(rt.sessions, rt.secret, None) for rt in runtimes)
        )
        minted = [r for r in results if r is not None]
        assert len(minted) == 1
        assert await _admin_count(runtimes[0]) == 1
        # Later starts with an active admin key (or several) mint nothing and do not crash.
        assert await ensure_admin_key(runtimes[0].sessions, runtimes[0].secret, None) is None
    finally:
        for rt in runtimes:
            await rt.engine.dispose()


async def test_key_file_holds_the_key_alone(settings: Settings, tmp_path: object) -> None:
    key_file = settings.data_dir / "secrets" / "admin.key"
    rt = Runtime(settings)
    try:
        result = await ensure_admin_key(rt.sessions, rt.secret, key_file)
        assert result is not None and result.key is None and result.key_file == key_file
        content = key_file.read_text()
        assert content.startswith("as_adm_") and len(content) == len("as_adm_") + 64
        assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    finally:
        await rt.engine.dispose()


def test_production_refuses_default_secret() -> None:
    import pytest
    from pydantic import ValidationError

    for secret in (None, "change-me", "short"):
        with pytest.raises(ValidationError, match="SECRET_KEY"):
            Settings(mode="production", secret_key=secret)
    Settings(mode="production", secret_key="a" * 40)


def test_embedded_secret_is_generated_once(tmp_path: object) -> None:
    from pathlib import Path

    data = Path(str(tmp_path)) / "d"
    first = Settings(data_dir=data).resolved_secret()
    assert len(first) == 64 and first == Settings(data_dir=data).resolved_secret()
    assert stat.S_IMODE(os.stat(data / "secret_key").st_mode) == 0o600
