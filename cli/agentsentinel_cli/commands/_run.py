"""Shared by ``scan`` and ``discover``: flag parsing, progress, filtering, output, exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import typer

from agentsentinel.posture import Severity
from agentsentinel_cli._common import (
    ExitCode,
    err_console,
    escape,
    fail,
    out_console,
    real_console,
)
from agentsentinel_cli.commands.filters import BaselineError, apply_filters, load_baseline
from agentsentinel_cli.config import CliConfig, ConfigError, load_config, parse_fail_on
from agentsentinel_cli.report import ReportFormat, render
from agentsentinel_cli.report.model import Report

FORMAT = typer.Option(
    ReportFormat.TABLE, "--format", "-f", help="Output format: table, json, sarif or markdown."
)
OUTPUT = typer.Option(
    None, "--output", "-o", help="Write the report to FILE instead of stdout.", dir_okay=False
)
FAIL_ON = typer.Option(
    None,
    "--fail-on",
    help="Exit 1 when a finding is at or above this severity: CRITICAL (default), HIGH, "
    "MEDIUM, LOW, INFO, or none to never fail.",
)
BASELINE = typer.Option(
    None,
    "--baseline",
    help="A previous json report: report only findings whose fingerprint is not in it.",
    dir_okay=False,
)
CONFIG = typer.Option(
    None,
    "--config",
    help="Config file (.agentsentinel.toml or pyproject.toml); default: looked up from the "
    "scan root upwards.",
    dir_okay=False,
)


def usage_error(message: str) -> NoReturn:
    fail(message, ExitCode.USAGE)


def warn(message: str) -> None:
    err_console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False, soft_wrap=True)


def resolve_fail_on(flag: str | None, config: CliConfig) -> Severity | None:
    if flag is None:
        return config.fail_on
    try:
        return parse_fail_on(flag)
    except ValueError as exc:
        usage_error(f"--fail-on: {exc}")


def load_cli_config(explicit: Path | None, start: Path) -> CliConfig:
    if explicit is not None and not explicit.is_file():
        usage_error(f"--config {explicit}: no such file")
    try:
        return load_config(explicit, start=start)
    except ConfigError as exc:
        usage_error(str(exc))


def read_baseline(path: Path | None) -> frozenset[str] | None:
    if path is None:
        return None
    try:
        return load_baseline(path)
    except BaselineError as exc:
        usage_error(str(exc))


def engine_failure(exc: BaseException) -> NoReturn:
    """An engine exception: exit 3 with one line (the traceback only on request)."""
    if os.environ.get("AGENTSENTINEL_CLI_RAISE"):
        raise exc
    fail(f"the run could not complete: {type(exc).__name__}: {exc}", ExitCode.ERROR)


def _may_be_terminal() -> bool:
    """False when rich would certainly find stderr is no terminal (no TTY, no override in the
    environment), without importing rich."""
    if any(os.environ.get(v) for v in ("TTY_COMPATIBLE", "FORCE_COLOR", "FORCE_TERMINAL")):
        return True
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except ValueError:
        return False


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[..., None] | None]:
    """A rich progress bar on stderr when stderr is a terminal; ``None`` otherwise."""
    if not _may_be_terminal() or not err_console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=real_console(err_console),
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=None)

        def update(*args: Any) -> None:
            # scan: (done, total); discover: (phase, done, total)
            if len(args) == 3:
                progress.update(task, description=str(args[0]), completed=args[1], total=args[2])
            else:
                progress.update(task, completed=args[0], total=args[1])

        yield update


def finish(
    report: Report,
    *,
    config: CliConfig,
    root: Path | None,
    baseline: frozenset[str] | None,
    fmt: ReportFormat,
    output: Path | None,
    fail_on: Severity | None,
) -> NoReturn:
    """Filter, render, write and exit with the code the findings call for."""
    report, warnings = apply_filters(report, config, root=root, baseline=baseline)
    for message in warnings:
        warn(message)
    for error in report.sorted().errors:
        warn(f"{error.target}: {error.message}")
    if output is not None:
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(render(report, fmt), encoding="utf-8")
        except OSError as exc:
            fail(f"--output {output}: {exc.strerror or exc}", ExitCode.ERROR)
        err_console.print(
            escape(f"wrote {fmt.value} report to {output} ({len(report.findings)} findings)"),
            highlight=False,
        )
    elif fmt is ReportFormat.TABLE:
        from agentsentinel_cli.report.table import write_table

        write_table(report, real_console(out_console))
    else:
        sys.stdout.write(render(report, fmt))
        sys.stdout.flush()
    failing = fail_on is not None and any(f.severity.rank >= fail_on.rank for f in report.findings)
    raise typer.Exit(int(ExitCode.FINDINGS if failing else ExitCode.OK))
