"""Entry point: ``sentinel <command>``. Server commands import the server lazily."""

from __future__ import annotations

import typer

from agentsentinel_cli import db, keys, server
from agentsentinel_cli.commands import discover, scan

app = typer.Typer(
    name="sentinel",
    help="AgentSentinel: discover, assess and watch AI agents.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("scan")(scan.scan)
app.command("discover")(discover.discover)
app.command("serve")(server.serve)
app.command("api")(server.api)
app.command("worker")(server.worker)
app.add_typer(db.app, name="db")
app.add_typer(keys.app, name="keys")


@app.callback(invoke_without_command=True)
def _version(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        import agentsentinel

        typer.echo(f"sentinel {agentsentinel.__version__}")
        raise typer.Exit(0)


def main() -> None:
    app()
