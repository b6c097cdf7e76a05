"""``sentinel serve`` (embedded, all-in-one), ``sentinel api`` and ``sentinel worker``."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import typer

from agentsentinel_cli._common import ExitCode, err_console, fail, load_settings, run_async

HOST = typer.Option("127.0.0.1", "--host", help="Interface to listen on.")
PORT = typer.Option(9000, "--port", min=1, max=65535, help="TCP port to listen on.")


def _describe_db(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _announcer(host: str, port: int) -> Any:
    def announce(runtime: Any) -> None:
        settings = runtime.settings
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
        base = f"http://{shown_host}:{port}"
        bus = "Redis Streams" if settings.redis_url else "in-memory"
        err_console.print(
            f"[bold]AgentSentinel[/] ({settings.mode}) listening on [cyan]{base}[/]\n"
            f"  database: {_describe_db(settings.resolved_database_url())}\n  bus: {bus}",
            highlight=False,
        )
        boot = runtime.bootstrap
        if boot is not None and boot.key_file is not None:
            err_console.print(
                f"  bootstrap admin key written to [bold]{boot.key_file}[/] (mode 0600)",
                highlight=False,
            )
        elif boot is not None and boot.key is not None:
            # The terminal is the one place the key goes; it is never logged.
            print(
                f"\n  Bootstrap admin key (shown once, store it now):\n    {boot.key}\n",
                flush=True,
            )
        if runtime.login_token:
            print(
                f"  Dashboard login (one-time, 15 min): {base}/login?token={runtime.login_token}",
                flush=True,
            )

    return announce


def _serve_uvicorn(app: Any, host: str, port: int, log_level: str) -> None:
    import uvicorn

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level.lower(),
        lifespan="on",
        proxy_headers=True,
        timeout_graceful_shutdown=10,
        access_log=False,
    )
    server = uvicorn.Server(config)
    server.run()
    if not server.started:
        fail(f"could not start the server on {host}:{port} (is the port in use?)")


def serve(host: str = HOST, port: int = PORT) -> None:
    """Run everything in one process: API, worker and dashboard, on SQLite by default."""
    settings = load_settings()
    from agentsentinel.api.app import create_app
    from agentsentinel.logging import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    if settings.run_worker is False:
        fail(
            "`sentinel serve` runs the worker in-process; unset AGENTSENTINEL_RUN_WORKER",
            ExitCode.USAGE,
        )
    settings = settings.model_copy(update={"run_worker": True})
    app = create_app(settings, announce=_announcer(host, port), login_token=True)
    _serve_uvicorn(app, host, port, settings.log_level)


def api(host: str = HOST, port: int = PORT) -> None:
    """Run the stateless API (production: scale it out behind nginx; workers run separately)."""
    settings = load_settings()
    if settings.redis_url is None:
        fail(
            "`sentinel api` hands events to separate workers through Redis: set "
            "AGENTSENTINEL_REDIS_URL (or run everything in one process with `sentinel serve`)",
            ExitCode.USAGE,
        )
    from agentsentinel.api.app import create_app
    from agentsentinel.logging import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    if settings.run_worker is None:
        settings = settings.model_copy(update={"run_worker": False})
    app = create_app(settings, announce=_announcer(host, port))
    _serve_uvicorn(app, host, port, settings.log_level)


def worker() -> None:
    """Run the event worker: consume owned shards, score, persist, reply (Ctrl-C drains)."""
    settings = load_settings()
    if settings.redis_url is None:
        fail(
            "`sentinel worker` consumes events from Redis: set AGENTSENTINEL_REDIS_URL "
            "(`sentinel serve` runs a worker in-process instead)",
            ExitCode.USAGE,
        )
    from agentsentinel.logging import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    run_async(_run_worker(settings))


async def _run_worker(settings: Any) -> None:
    from agentsentinel.runtime import Runtime

    runtime = Runtime(settings, pool_pre_ping=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await runtime.start(api=False, worker=True)
    from agentsentinel.worker.ingest import freeze_startup_objects

    freeze_startup_objects()
    err_console.print("[bold]AgentSentinel worker[/] running; Ctrl-C to stop", highlight=False)
    await stop.wait()
    err_console.print("draining in-flight events…", highlight=False)
    await runtime.stop()
