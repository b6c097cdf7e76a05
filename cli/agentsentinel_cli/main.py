"""Entry point: ``sentinel <command>``. Server commands import the server lazily.

Start-up is part of every command's run time, so a command's modules are imported only when
that command runs: ``sentinel scan`` builds an app holding ``scan`` alone (its help, options and
errors are the same as in the full app), every other invocation builds the full app.
"""

from __future__ import annotations

import sys
from typing import Any

import typer


def _new_app() -> typer.Typer:
    app = typer.Typer(
        name="sentinel",
        help="AgentSentinel: discover, assess and watch AI agents.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )

    @app.callback(invoke_without_command=True)
    def _version(
        version: bool = typer.Option(False, "--version", help="Print the version and exit."),
    ) -> None:
        if version:
            import agentsentinel

            typer.echo(f"sentinel {agentsentinel.__version__}")
            raise typer.Exit(0)

    return app


def _scan_app() -> typer.Typer:
    from agentsentinel_cli.commands import scan

    app = _new_app()
    app.command("scan")(scan.scan)
    return app


def build_app() -> typer.Typer:
    """The full ``sentinel`` app, every command registered."""
    from agentsentinel_cli import db, keys, server
    from agentsentinel_cli.commands import discover, scan

    app = _new_app()
    app.command("scan")(scan.scan)
    app.command("discover")(discover.discover)
    app.command("serve")(server.serve)
    app.command("api")(server.api)
    app.command("worker")(server.worker)
    app.add_typer(db.app, name="db")
    app.add_typer(keys.app, name="keys")
    return app


def __getattr__(name: str) -> Any:
    # ``from agentsentinel_cli.main import app``: the full app, built on first use.
    if name == "app":
        app = build_app()
        globals()["app"] = app
        return app
    raise AttributeError(name)


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] == "scan":
        _scan_app()()
    else:
        build_app()()
