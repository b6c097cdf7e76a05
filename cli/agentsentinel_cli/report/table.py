"""The table format: findings, then agents/servers found, then errors, then a summary line."""

from __future__ import annotations

import io
from typing import Final

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agentsentinel.posture import Severity
from agentsentinel_cli.report.model import Report

SEVERITY_STYLE: Final[dict[Severity, str]] = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def write_table(report: Report, console: Console) -> None:
    """Print the report on ``console`` (colours only if the console has them)."""
    ordered = report.sorted()
    noun = "agents" if report.command == "scan" else "found"
    if ordered.findings:
        table = Table(title="Findings", title_justify="left", show_lines=False, expand=False)
        for col in ("Severity", "Rule", "Location", "Agent", "Message"):
            table.add_column(col, overflow="fold")
        for f in ordered.findings:
            table.add_row(
                f"[{SEVERITY_STYLE[f.severity]}]{f.severity.value}[/]",
                escape(f.rule_id),
                escape(str(f.location) if f.location else "-"),
                escape(f.agent or "-"),
                escape(f.message),
            )
        console.print(table)
    if ordered.agents:
        table = Table(
            title="Agents" if report.command == "scan" else "Discovered",
            title_justify="left",
        )
        for col in ("Name", "Kind", "Location", "Tools"):
            table.add_column(col, overflow="fold")
        for a in ordered.agents:
            table.add_row(
                escape(a.name), escape(a.kind), escape(str(a.location)), str(len(a.tools))
            )
        console.print(table)
    if ordered.errors:
        table = Table(title="Errors", title_justify="left")
        table.add_column("Target", overflow="fold")
        table.add_column("Message", overflow="fold")
        for e in ordered.errors:
            table.add_row(escape(e.target), escape(e.message))
        console.print(table)
    counts = ", ".join(
        f"{sum(1 for f in ordered.findings if f.severity == s)} {s.value.lower()}" for s in Severity
    )
    console.print(
        f"{len(ordered.findings)} findings ({counts}); {len(ordered.agents)} {noun}, "
        f"{len(ordered.tools)} tools, {len(ordered.errors)} errors, "
        f"{ordered.suppressed} suppressed",
        highlight=False,
    )


def render_table_text(report: Report) -> str:
    """The table as plain text (no ANSI codes), for ``--output``."""
    buf = io.StringIO()
    console = Console(file=buf, no_color=True, color_system=None, width=140, force_terminal=False)
    write_table(report, console)
    return buf.getvalue()
