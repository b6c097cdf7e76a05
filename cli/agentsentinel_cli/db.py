"""``sentinel db``: migrations."""

from __future__ import annotations

import typer

from agentsentinel_cli._common import err_console, load_settings

app = typer.Typer(help="Database migrations.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    settings = load_settings()
    from agentsentinel.db.migrate import upgrade as run_upgrade

    run_upgrade(settings.resolved_database_url(), revision)
    err_console.print(f"database upgraded to {revision}", highlight=False)


@app.command("downgrade")
def downgrade(revision: str = typer.Argument(..., help="Target revision, e.g. base.")) -> None:
    """Revert migrations down to REVISION."""
    settings = load_settings()
    from agentsentinel.db.migrate import downgrade as run_downgrade

    run_downgrade(settings.resolved_database_url(), revision)
    err_console.print(f"database downgraded to {revision}", highlight=False)
