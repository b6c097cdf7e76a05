"""What every command shares: exit codes, the error path, output helpers, the async wrapper."""

from __future__ import annotations

import os
import sys
from collections.abc import Coroutine
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    from rich.console import Console

T = TypeVar("T")


class _LazyConsole:
    """A rich ``Console`` created (and rich imported) on first use: a scan writing json to
    stdout never needs one."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    def get(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)


def real_console(console: Console) -> Console:
    """The rich ``Console`` behind ``err_console`` / ``out_console``, for rich objects that keep
    a console (``Progress``, tables)."""
    return console.get() if isinstance(console, _LazyConsole) else console


# Progress and messages go to stderr; machine output (json, keys) to stdout.
err_console: Console = _LazyConsole(stderr=True)  # type: ignore[assignment]
out_console: Console = _LazyConsole()  # type: ignore[assignment]


def escape(text: str) -> str:
    """``rich.markup.escape``, imported when first needed."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


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
    import asyncio

    try:
        return asyncio.run(coro)
    except (typer.Exit, KeyboardInterrupt):
        raise
    except Exception as exc:
        if os.environ.get("AGENTSENTINEL_CLI_RAISE") or "pytest" in sys.modules:
            raise
        fail(f"{type(exc).__name__}: {exc}")


def print_json(data: Any) -> None:
    import json

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
