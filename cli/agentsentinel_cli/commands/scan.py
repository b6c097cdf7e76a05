"""``sentinel scan PATH...``: static posture of agent source code."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from agentsentinel_cli._common import ExitCode, fail
from agentsentinel_cli.commands import _run
from agentsentinel_cli.report import ReportFormat


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "agentsentinel" / "scan"


def _common_root(paths: list[Path]) -> Path:
    resolved = [p.resolve() for p in paths]
    dirs = [p if p.is_dir() else p.parent for p in resolved]
    return Path(os.path.commonpath([str(d) for d in dirs]))


def scan(
    paths: list[Path] = typer.Argument(
        ..., metavar="PATH...", help="Files or directories to scan."
    ),
    fmt: ReportFormat = _run.FORMAT,
    output: Path | None = _run.OUTPUT,
    fail_on: str | None = _run.FAIL_ON,
    baseline: Path | None = _run.BASELINE,
    config_file: Path | None = _run.CONFIG,
    exclude: list[str] = typer.Option(
        [],
        "--exclude",
        help="gitignore-style glob (relative to the scan root) to skip; repeatable.",
    ),
    jobs: int | None = typer.Option(
        None,
        "--jobs",
        "-j",
        min=1,
        max=256,
        help="Parallel workers (default: CPU count, fewer for a small tree).",
    ),
    no_cache: bool = typer.Option(
        False,
        "--no-cache",
        help="Do not read or write the result cache (per-file facts and the last result).",
    ),
    connect: str | None = typer.Option(
        None,
        "--connect",
        help="AgentSentinel server URL: add trust score, status and behavior of registered "
        "agents whose name equals an agent found in the code.",
    ),
    api_key: str | None = typer.Option(
        None,
        "--api-key",
        envvar="AGENTSENTINEL_API_KEY",
        help="API key (read scope) for --connect.",
        show_default=False,
    ),
) -> None:
    """Scan agent source code for tools, agents, hard-coded credentials and posture risks."""
    missing = [p for p in paths if not p.exists()]
    if missing:
        _run.usage_error(f"{missing[0]}: no such file or directory")
    unreadable = [p for p in paths if not os.access(p, os.R_OK)]
    if unreadable:
        fail(f"{unreadable[0]}: permission denied", ExitCode.ERROR)
    if connect is not None:
        from agentsentinel_cli.commands.connect import check_connect_args

        check_connect_args(connect, api_key)
    root = _common_root(paths)
    config = _run.load_cli_config(config_file, root)
    threshold = _run.resolve_fail_on(fail_on, config)
    known = _run.read_baseline(baseline)

    try:
        from agentsentinel_cli.scan import scan as run_scan

        with _run.progress_bar("scanning") as progress:
            report = run_scan(
                paths,
                root=root,
                exclude=(*config.exclude, *exclude),
                overrides=config.overrides,
                rule_config=config.rule_config,
                jobs=jobs,
                cache_dir=None if no_cache else default_cache_dir(),
                progress=progress,
            )
    except FileNotFoundError as exc:
        _run.usage_error(f"{exc.filename or exc}: no such file or directory")
    except PermissionError as exc:
        fail(f"{exc.filename or exc}: permission denied", ExitCode.ERROR)
    except Exception as exc:
        _run.engine_failure(exc)

    if connect is not None:
        from agentsentinel_cli.commands.connect import enrich

        assert api_key is not None  # checked above
        report = enrich(report, connect, api_key)

    _run.finish(
        report,
        config=config,
        root=root,
        baseline=known,
        fmt=fmt,
        output=output,
        fail_on=threshold,
    )
