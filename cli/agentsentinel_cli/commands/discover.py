"""``sentinel discover``: agents, MCP servers and LLM endpoints running here or on a subnet."""

from __future__ import annotations

from pathlib import Path

import typer

from agentsentinel_cli.commands import _run
from agentsentinel_cli.report import ReportFormat


def parse_ports(text: str) -> tuple[int, ...]:
    """``"80,443,8000-8010"`` -> ports; ``ValueError`` on anything else."""
    ports: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        low, sep, high = part.partition("-")
        try:
            first = int(low)
            last = int(high) if sep else first
        except ValueError:
            raise ValueError(f"{part!r} is not a port or a range such as 8000-8010") from None
        if not (1 <= first <= 65535 and 1 <= last <= 65535) or first > last:
            raise ValueError(f"{part!r}: ports are 1-65535, ranges low-high")
        ports.extend(range(first, last + 1))
    if not ports:
        raise ValueError("no ports given")
    return tuple(ports)


def discover(
    subnet: str | None = typer.Option(
        None, "--subnet", help="Also sweep this CIDR range (e.g. 10.0.0.0/24) for endpoints."
    ),
    allow_large_subnet: bool = typer.Option(
        False, "--allow-large-subnet", help="Allow a --subnet larger than a /16."
    ),
    ports: str | None = typer.Option(
        None,
        "--ports",
        help="Ports to probe, comma-separated, ranges allowed (e.g. 80,443,8000-8010); "
        "default: a built-in list of usual MCP / LLM server ports.",
    ),
    timeout: float = typer.Option(0.5, "--timeout", help="Per-connection timeout in seconds."),
    concurrency: int = typer.Option(256, "--concurrency", help="Concurrent connections."),
    path: list[Path] = typer.Option(
        [], "--path", help="Also scan this directory of agent source code; repeatable."
    ),
    docker: bool = typer.Option(
        False, "--docker", help="Inspect Docker containers (LLM keys, MCP images)."
    ),
    configs: bool = typer.Option(
        False, "--configs", help="Read MCP client configs on this host (Claude, Cursor, VS Code)."
    ),
    no_processes: bool = typer.Option(
        False, "--no-processes", help="Do not inspect local processes."
    ),
    no_local: bool = typer.Option(
        False, "--no-local", help="Do not probe this host's listening sockets."
    ),
    fmt: ReportFormat = _run.FORMAT,
    output: Path | None = _run.OUTPUT,
    fail_on: str | None = _run.FAIL_ON,
    baseline: Path | None = _run.BASELINE,
    config_file: Path | None = _run.CONFIG,
) -> None:
    """Find agents, MCP servers and LLM endpoints you did not know were running."""
    missing = [p for p in path if not p.exists()]
    if missing:
        _run.usage_error(f"--path {missing[0]}: no such file or directory")
    from agentsentinel_cli.discover.options import DEFAULT_PORTS, DiscoverOptions

    try:
        port_list = DEFAULT_PORTS if ports is None else parse_ports(ports)
        options = DiscoverOptions(
            processes=not no_processes,
            local_endpoints=not no_local,
            subnet=subnet,
            ports=port_list,
            timeout_s=timeout,
            concurrency=concurrency,
            paths=tuple(path),
            docker=docker,
            configs=configs,
            allow_large_subnet=allow_large_subnet,
        )
    except ValueError as exc:
        _run.usage_error(str(exc))
    config = _run.load_cli_config(config_file, Path.cwd())
    threshold = _run.resolve_fail_on(fail_on, config)
    known = _run.read_baseline(baseline)

    try:
        from agentsentinel_cli.discover import discover as run_discover

        with _run.progress_bar("discovering") as progress:
            report = run_discover(options, progress=progress)
    except ValueError as exc:
        _run.usage_error(str(exc))
    except Exception as exc:
        _run.engine_failure(exc)

    _run.finish(
        report,
        config=config,
        root=Path.cwd(),
        baseline=known,
        fmt=fmt,
        output=output,
        fail_on=threshold,
    )
