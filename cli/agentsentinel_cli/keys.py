"""``sentinel keys``: create, list and revoke API keys directly in the database."""

from __future__ import annotations

import uuid
from typing import Any

import typer
from rich.table import Table

from agentsentinel_cli._common import (
    ExitCode,
    OutputFormat,
    err_console,
    fail,
    load_settings,
    out_console,
    print_json,
    run_async,
)

app = typer.Typer(help="Manage API keys (works with the server stopped).", no_args_is_help=True)
FORMAT = typer.Option(OutputFormat.TABLE, "--format", help="Output format.")


async def _with_session(fn: Any) -> Any:
    from agentsentinel.db.engine import create_engine, create_session_factory
    from agentsentinel.db.migrate import upgrade_async

    settings = load_settings()
    url = settings.resolved_database_url()
    await upgrade_async(url)
    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            return await fn(session, settings.resolved_secret())
    finally:
        await engine.dispose()


def _key_dict(key: Any) -> dict[str, Any]:
    return {
        "id": str(key.id),
        "name": key.name,
        "key_prefix": key.key_prefix,
        "scope": key.scope,
        "agent_id": str(key.agent_id) if key.agent_id else None,
        "is_active": key.is_active,
        "created_at": key.created_at.isoformat(),
        "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


@app.command("create")
def create(
    name: str = typer.Option(..., "--name", help="A label for the key."),
    scope: str = typer.Option(..., "--scope", help="admin, agent or readonly."),
    agent_id: str | None = typer.Option(None, "--agent-id", help="Agent keys: the bound agent."),
    fmt: OutputFormat = FORMAT,
) -> None:
    """Create a key and print it once."""
    load_settings()
    from agentsentinel.auth.keys import Scope
    from agentsentinel.errors import SentinelError
    from agentsentinel.services.keys import create_key

    try:
        parsed_scope = Scope(scope)
    except ValueError:
        fail("--scope must be one of admin, agent, readonly", ExitCode.USAGE)
    if (parsed_scope is Scope.AGENT) != (agent_id is not None):
        fail("--agent-id is required for agent keys and only for them", ExitCode.USAGE)
    try:
        bound = uuid.UUID(agent_id) if agent_id else None
    except ValueError:
        fail("--agent-id must be a UUID", ExitCode.USAGE)
    if not name.strip() or len(name) > 255:
        fail("--name must be 1-255 characters", ExitCode.USAGE)

    async def run(session: Any, secret: str) -> tuple[Any, str]:
        return await create_key(
            session, secret, name=name.strip(), scope=parsed_scope, agent_id=bound, created_by="cli"
        )

    try:
        key, raw = run_async(_with_session(run))
    except SentinelError as exc:
        fail(str(exc.detail))
    if fmt is OutputFormat.JSON:
        print_json({**_key_dict(key), "key": raw})
        return
    err_console.print(f"created {parsed_scope} key '{key.name}' ({key.id}); shown once:")
    typer.echo(raw)


@app.command("list")
def list_(fmt: OutputFormat = FORMAT) -> None:
    """List keys (prefixes only)."""
    load_settings()
    from agentsentinel.services.keys import list_keys

    async def run(session: Any, secret: str) -> list[dict[str, Any]]:
        rows, _ = await list_keys(session, 10_000, 0)
        return [_key_dict(k) for k in rows]

    keys = run_async(_with_session(run))
    if fmt is OutputFormat.JSON:
        print_json(keys)
        return
    table = Table("id", "name", "prefix", "scope", "agent", "active", "last used")
    for k in keys:
        table.add_row(
            k["id"],
            k["name"],
            k["key_prefix"],
            k["scope"],
            k["agent_id"] or "",
            "yes" if k["is_active"] else "revoked",
            k["last_used_at"] or "never",
        )
    out_console.print(table)


@app.command("revoke")
def revoke(
    key_id: str = typer.Argument(..., help="The key's id (see `sentinel keys list`)."),
) -> None:
    """Revoke a key; it stops working on the next request."""
    load_settings()
    from agentsentinel.errors import SentinelError
    from agentsentinel.services.keys import revoke_key

    try:
        parsed = uuid.UUID(key_id)
    except ValueError:
        fail("KEY_ID must be a UUID", ExitCode.USAGE)

    async def run(session: Any, secret: str) -> Any:
        return await revoke_key(session, parsed, None)

    try:
        key = run_async(_with_session(run))
    except SentinelError as exc:
        fail(str(exc.detail))
    err_console.print(f"revoked key '{key.name}' ({key.id})")
