"""What every command shares: exit codes, the error path, output helpers, the async wrapper."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Coroutine
from enum import IntEnum, StrEnum
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

T = TypeVar("T")

# Progress and messages go to stderr; machine output (json, keys) to stdout.
err_console = Console(stderr=True)
out_console = Console()


class ExitCode(IntEnum):
    OK = 0
    FINDINGS = 1
    USAGE = 2
    ERROR = 3


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


def fail(message: str, code: ExitCode = ExitCode.ERROR) -> NoReturn:
    """Print a one-line error on stderr and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(int(code))


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; unexpected errors exit 3 unless running under a test."""
    try:
        return asyncio.run(coro)
    except (typer.Exit, KeyboardInterrupt):
        raise
    except Exception as exc:
        if os.environ.get("AGENTSENTINEL_CLI_RAISE") or "pytest" in sys.modules:
            raise
        fail(f"{type(exc).__name__}: {exc}")


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def require_server() -> None:
    """Server commands need the ``server`` extra; say exactly how to get it."""
    missing = []
    for module in ("fastapi", "sqlalchemy", "uvicorn", "alembic", "pydantic_settings"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        fail(
            "this command needs the AgentSentinel server, which is not installed "
            f"(missing: {', '.join(missing)}). Install it with:\n"
            '    pip install "agentsentinel[server]"',
            ExitCode.USAGE,
        )


def load_settings(**overrides: Any) -> Any:
    """Settings from the environment, with a readable error instead of a traceback."""
    require_server()
    from pydantic import ValidationError

    from agentsentinel.settings import Settings

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        fail(f"invalid configuration: {problems}", ExitCode.USAGE)
