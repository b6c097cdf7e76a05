"""``discover()``: run the selected sources and assemble one ``Report``.

Key contracts:
- Never prints; progress goes through ``progress(phase, done, total)``; exit codes are the
  command's business.
- A source that cannot run (psutil missing, docker absent) becomes a ``ScanError`` naming the
  fix; the other sources still run. Informational notes go to ``stats["notes"]``.
- Open MCP servers' tools are classified with the shared classifier and judged by the shared
  posture rules (``evaluate`` on an ``AgentPosture`` holding a ``McpServerPosture``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentsentinel.posture import (
    AgentPosture,
    CredentialHit,
    McpServerPosture,
    PostureSource,
    RuleConfig,
    RuleFinding,
    SourceLocation,
    ToolPosture,
    evaluate,
)
from agentsentinel_cli.discover import docker as docker_source
from agentsentinel_cli.discover.options import DiscoverOptions
from agentsentinel_cli.discover.probes import EndpointFinding, McpTool, probe_all
from agentsentinel_cli.discover.processes import (
    LlmKey,
    ProcessInfo,
    ProcessScan,
    PsutilMissing,
    resolve_llm_hosts,
    scan_processes,
)
from agentsentinel_cli.discover.rules import (
    LLM_KEY_IN_ENVIRONMENT,
    OPEN_MCP_SERVER,
    UNAUTHENTICATED_MODEL_API,
    DiscoverRule,
)
from agentsentinel_cli.discover.subnet import iter_targets, sweep, target_count
from agentsentinel_cli.report.model import (
    AgentReport,
    Finding,
    Location,
    Report,
    ScanError,
    ToolReport,
    finding_fingerprint,
)

Progress = Callable[[str, int, int], None]
Target = tuple[str, int]


@dataclass
class _Builder:
    findings: list[Finding] = field(default_factory=list)
    agents: list[AgentReport] = field(default_factory=list)
    tools: list[ToolReport] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    def rule(
        self,
        rule: DiscoverRule,
        *,
        agent: str,
        key: str,
        message: str,
        location: Location,
        evidence: Mapping[str, Any],
        stable_path: str | None,
    ) -> None:
        self.findings.append(
            Finding(
                rule_id=rule.id,
                severity=rule.severity,
                message=message,
                location=location,
                fingerprint=finding_fingerprint(rule.id, agent, key, stable_path),
                title=rule.title,
                remediation=rule.remediation,
                agent=agent,
                tags=rule.tags,
                evidence=dict(evidence),
            )
        )

    def posture(self, finding: RuleFinding, *, agent: str, fallback: Location) -> None:
        self.findings.append(Finding.from_rule(finding, agent, fallback))


def discover(options: DiscoverOptions, *, progress: Progress | None = None) -> Report:
    """Run discovery as configured by ``options`` (blocking)."""
    return asyncio.run(discover_async(options, progress=progress))


async def discover_async(options: DiscoverOptions, *, progress: Progress | None = None) -> Report:
    """``discover`` for callers already inside an event loop."""
    started = time.perf_counter()
    out = _Builder()
    targets: list[str] = []
    listeners: dict[Target, int | None] = {}
    processes_by_pid: dict[int, ProcessInfo] = {}

    if options.processes:
        targets.append("processes")
        scan = await asyncio.to_thread(_scan_processes_or_none, out)
        if scan is not None:
            listeners = scan.listeners
            processes_by_pid = {p.pid: p for p in scan.processes}
            _report_processes(out, scan)
        if progress is not None:
            progress("processes", 1, 1)

    endpoints: set[Target] = set()
    if options.local_endpoints:
        targets.append("local")
        if listeners:
            endpoints |= _local_targets(listeners)
        else:
            # Without the socket table, fall back to the loopback address on the chosen ports.
            local = [("127.0.0.1", port) for port in options.ports]
            endpoints |= set(
                await sweep(local, timeout_s=options.timeout_s, concurrency=options.concurrency)
            )
    network = options.network()
    if network is not None:
        targets.append(str(network))
        total = target_count(network, options.ports)

        def connect_progress(done: int, count: int) -> None:
            if progress is not None:
                progress("connect", done, count)

        open_targets = await sweep(
            iter_targets(network, options.ports),
            timeout_s=options.timeout_s,
            concurrency=options.concurrency,
            total=total,
            progress=connect_progress,
        )
        out.stats["subnet"] = {"targets": total, "open": len(open_targets)}
        endpoints |= set(open_targets)

    if endpoints:
        ordered = sorted(endpoints, key=_target_order)

        def probe_progress(done: int, count: int) -> None:
            if progress is not None:
                progress("probe", done, count)

        results, _errors = await probe_all(
            ordered,
            timeout_s=max(2.0, options.timeout_s * 4),
            concurrency=options.concurrency,
            progress=probe_progress,
        )
        for target in ordered:
            pid = _owner(listeners, target)
            owner = processes_by_pid.get(pid) if pid is not None else None
            for found in results.get(target, []):
                _report_endpoint(out, target, found, pid, owner)
        out.stats["endpoints_probed"] = len(ordered)

    if options.docker:
        targets.append("docker")
        await asyncio.to_thread(_report_docker, out)
        if progress is not None:
            progress("docker", 1, 1)

    if options.configs:
        targets.append("configs")
        _report_configs(out)
        if progress is not None:
            progress("configs", 1, 1)

    for path in options.paths:
        targets.append(str(path))
    if options.paths:
        _report_paths(out, options.paths)
        if progress is not None:
            progress("scan", 1, 1)

    out.stats["duration_s"] = round(time.perf_counter() - started, 3)
    if out.notes:
        out.stats["notes"] = sorted(set(out.notes))
    return Report(
        command="discover",
        targets=tuple(targets),
        findings=tuple(out.findings),
        agents=tuple(out.agents),
        tools=tuple(out.tools),
        errors=tuple(out.errors),
        stats=out.stats,
    ).sorted()


# --- processes -----------------------------------------------------------------------------------


def _scan_processes_or_none(out: _Builder) -> ProcessScan | None:
    try:
        llm_ips = resolve_llm_hosts()
        scan = scan_processes(llm_ips=llm_ips)
    except PsutilMissing as exc:
        out.errors.append(ScanError("processes", str(exc)))
        return None
    out.notes.extend(scan.notes)
    if not llm_ips:
        out.notes.append("LLM API hosts did not resolve: live LLM connections were not matched")
    out.stats["processes"] = {"reported": len(scan.processes), "access_denied": scan.access_denied}
    return scan


def _process_label(info: ProcessInfo) -> str:
    """A name for the process that is stable across restarts (no pid)."""
    if info.launcher:
        return info.launcher
    exe = Path(info.cmdline[0]).name if info.cmdline else info.name
    return exe or info.name or "process"


def _report_processes(out: _Builder, scan: ProcessScan) -> None:
    for info in scan.processes:
        label = _process_label(info)
        location = Location(f"pid:{info.pid}")
        kind = "mcp_launcher" if info.launcher else "process"
        details: dict[str, Any] = {
            "pid": info.pid,
            "name": info.name,
            "command": _redacted_command(info.cmdline),
            "cwd": info.cwd,
            "user": info.username,
        }
        if info.launcher:
            details["mcp_server"] = info.launcher
        if info.frameworks:
            details["frameworks"] = sorted(info.frameworks)
        if info.llm_hosts:
            details["llm_api_connections"] = sorted(info.llm_hosts)
        if info.listening:
            details["listening"] = [f"{_addr(ip, port)}" for ip, port in sorted(info.listening)]
        if info.child_pids:
            details["child_pids"] = sorted(info.child_pids)
        if info.llm_keys:
            details["llm_keys"] = [_key_dict(k) for k in info.llm_keys]
        out.agents.append(AgentReport(label, kind, location, details=details))
        for key in info.llm_keys:
            _key_finding(out, key, agent=label, location=location, where=f"process {info.pid}")


def _key_dict(key: LlmKey) -> dict[str, str]:
    return {"variable": key.variable, "provider": key.provider, "masked": key.masked}


def _key_finding(out: _Builder, key: LlmKey, *, agent: str, location: Location, where: str) -> None:
    out.rule(
        LLM_KEY_IN_ENVIRONMENT,
        agent=agent,
        key=f"{key.variable}|{key.provider}|{key.value_hash}",
        message=(
            f"{key.provider} API key in environment variable {key.variable} of {where} "
            f"({agent}): {key.masked}."
        ),
        location=location,
        evidence=_key_dict(key),
        stable_path=None,
    )


def _redacted_command(cmdline: tuple[str, ...]) -> str:
    """The command line with any argument that looks like an LLM key masked."""
    from agentsentinel_cli.credentials import llm_key_kind, mask

    parts = []
    for arg in cmdline:
        name, sep, value = arg.partition("=")
        if sep and llm_key_kind(name.lstrip("-"), value):
            parts.append(f"{name}={mask(value)}")
        elif llm_key_kind("", arg):
            parts.append(mask(arg))
        else:
            parts.append(arg)
    return " ".join(parts)[:1000]


# --- endpoints -----------------------------------------------------------------------------------


def _local_targets(listeners: Mapping[Target, int | None]) -> set[Target]:
    """Addresses to probe for this host's listening TCP sockets (wildcards -> loopback)."""
    out: set[Target] = set()
    for ip, port in listeners:
        if ip in ("0.0.0.0", ""):  # noqa: S104 - reading the socket table, not binding
            out.add(("127.0.0.1", port))
        elif ip == "::":
            out.add(("::1", port))
        else:
            try:
                ipaddress.ip_address(ip)
            except ValueError:
                continue
            out.add((ip.split("%", 1)[0], port))
    return out


def _owner(listeners: Mapping[Target, int | None], target: Target) -> int | None:
    host, port = target
    for candidate in (host, "0.0.0.0", "::"):  # noqa: S104 - socket table lookup
        pid = listeners.get((candidate, port))
        if pid is not None:
            return pid
    return None


def _addr(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _report_endpoint(
    out: _Builder,
    target: Target,
    found: EndpointFinding,
    pid: int | None,
    owner: ProcessInfo | None,
) -> None:
    host, port = target
    address = _addr(host, port)
    location = Location(address)
    details: dict[str, Any] = {"url": found.url, **found.details}
    if pid is not None:
        details["pid"] = pid
        if owner is not None:
            details["process"] = _process_label(owner)
    if found.kind != "mcp_server":
        name = f"{found.kind}@{address}"
        out.agents.append(AgentReport(name, found.kind, location, details=details))
        if found.kind in ("llm_api", "ollama") and not _is_loopback(host):
            out.rule(
                UNAUTHENTICATED_MODEL_API,
                agent=name,
                key=address,
                message=f"{found.kind} at {found.url} answers without credentials.",
                location=location,
                evidence={"url": found.url, "kind": found.kind},
                stable_path=address,
            )
        return

    server_name = str(found.details.get("server_name") or "mcp")
    name = f"{server_name}@{address}"
    details["status"] = found.status
    tool_postures = tuple(
        _tool_posture(tool, name, location=SourceLocation(address)) for tool in found.tools
    )
    out.agents.append(
        AgentReport(
            name,
            "mcp_server",
            location,
            tools=tuple(sorted(t.name for t in found.tools)),
            details=details,
        )
    )
    for posture_tool in tool_postures:
        out.tools.append(_tool_report(posture_tool, location, name))
    if found.status == "open" and _is_loopback(host):
        out.rule(
            OPEN_MCP_SERVER,
            agent=name,
            key=address,
            message=(
                f"MCP server {server_name!r} at {found.url} lists {len(found.tools)} tools "
                "without authentication."
            ),
            location=location,
            evidence={"url": found.url, "tools": len(found.tools)},
            stable_path=address,
        )
    auth = "none" if found.status == "open" else None
    if found.status == "auth_required":
        auth = "oauth"
    posture = AgentPosture(
        name=name,
        agent_type="mcp_server",
        mcp_servers=(McpServerPosture(name, found.url, auth=auth, tools=tool_postures),),
        source=PostureSource.code,
        location=SourceLocation(address),
    )
    for finding in evaluate(posture, RuleConfig()):
        out.posture(finding, agent=name, fallback=location)


def _tool_posture(tool: McpTool, server: str, *, location: SourceLocation) -> ToolPosture:
    return ToolPosture.classify(
        tool.name,
        tool.description,
        tool.input_schema,
        tool.annotations,
        server=server,
        location=location,
    )


def _tool_report(tool: ToolPosture, location: Location, server: str) -> ToolReport:
    cls = tool.classification
    return ToolReport(
        name=tool.name,
        location=location,
        framework="mcp",
        scope=cls.scope.value,
        capabilities=tuple(sorted(c.value for c in cls.capabilities)),
        dangerous=cls.is_dangerous,
        confidence=cls.confidence,
        description=tool.description,
        agent=server,
        evidence=tuple(f"{e.source}:{e.token}" for e in cls.evidence if e.supports is not None)[
            :20
        ],
    )


# --- docker, configs, paths ----------------------------------------------------------------------


def _report_docker(out: _Builder) -> None:
    try:
        containers = docker_source.list_containers()
    except docker_source.DockerUnavailable as exc:
        out.errors.append(ScanError("docker", str(exc)))
        return
    for container in containers:
        location = Location(f"container:{container.name}")
        details: dict[str, Any] = {
            "id": container.id,
            "image": container.image,
            "command": _redacted_command(tuple(container.command.split())),
            "env_keys": list(container.env_keys),
            "ports": list(container.ports),
            "mcp_image": container.mcp_image,
        }
        if container.llm_keys:
            details["llm_keys"] = [_key_dict(k) for k in container.llm_keys]
        out.agents.append(AgentReport(container.name, "container", location, details=details))
        for key in container.llm_keys:
            _key_finding(out, key, agent=container.name, location=location, where="container")
    out.stats["containers"] = len(containers)


def _display(path: Path) -> str:
    """``~/…`` for files under the home directory, so reports do not carry user names."""
    try:
        return "~/" + path.relative_to(Path.home()).as_posix()
    except ValueError:
        return path.as_posix()


def _report_configs(out: _Builder) -> None:
    from agentsentinel_cli.credentials import find_credentials
    from agentsentinel_cli.mcp_configs import host_config_paths, parse_mcp_config, to_posture

    paths = host_config_paths()
    out.stats["config_files"] = [_display(p) for p in paths]
    for path in paths:
        shown = _display(path)
        try:
            text = path.read_text(encoding="utf-8")
            entries = parse_mcp_config(path, text, display_path=shown)
        except (OSError, ValueError) as exc:
            out.errors.append(ScanError(shown, str(exc)))
            continue
        for entry in entries:
            details: dict[str, Any] = {
                "transport": entry.transport,
                "env_keys": list(entry.env_keys),
                "auth_header": entry.has_auth_header,
            }
            if entry.transport == "stdio":
                details["command"] = _redacted_command((entry.command or "", *entry.args))
            else:
                details["url"] = entry.url
            out.agents.append(
                AgentReport(entry.name, "mcp_config_server", entry.location, details=details)
            )
        hits: Iterable[CredentialHit] = find_credentials(text, shown)
        posture = AgentPosture(
            name=shown,
            agent_type="mcp_client",
            mcp_servers=tuple(to_posture(e) for e in entries),
            credential_hits=tuple(hits),
            source=PostureSource.code,
            location=SourceLocation(shown),
        )
        for finding in evaluate(posture, RuleConfig()):
            out.posture(finding, agent=shown, fallback=Location(shown))


def _report_paths(out: _Builder, paths: tuple[Path, ...]) -> None:
    try:
        from agentsentinel_cli.scan import scan
    except ImportError as exc:
        out.errors.append(ScanError("paths", f"the scan engine is not available: {exc}"))
        return
    for path in paths:
        try:
            report = scan([path])
        except FileNotFoundError:
            out.errors.append(ScanError(str(path), "path does not exist"))
            continue
        out.findings.extend(report.findings)
        out.agents.extend(report.agents)
        out.tools.extend(report.tools)
        out.errors.extend(report.errors)
        out.stats.setdefault("scan", {})[str(path)] = dict(report.stats)


def _target_order(target: Target) -> tuple[int, int, int]:
    address = ipaddress.ip_address(target[0])
    return address.version, int(address), target[1]
