"""Processes of this host: agent frameworks, MCP launchers, LLM keys, LLM connections, sockets.

Key contracts:
- psutil is the ``[discover]`` extra and is imported lazily; ``PsutilMissing`` tells the caller
  to report that process discovery did not run (with the install command).
- Environment VALUES never leave this module in clear: an LLM key becomes
  ``(variable, provider, masked, hash)``.
- Listening sockets are mapped to their process through the kernel's socket table
  (``net_connections``), never guessed from the port number.
- Processes of other users that cannot be read are counted, not raised.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, Final

from agentsentinel_cli.credentials import llm_key_kind, mask

INSTALL_HINT: Final = 'pip install "agentsentinel-cli[discover]"'

# Hosts of LLM provider APIs; a live connection to one marks a process as an LLM client.
LLM_API_HOSTS: Final[tuple[str, ...]] = (
    "api.openai.com",
    "api.anthropic.com",
    "generativelanguage.googleapis.com",
    "api.mistral.ai",
    "api.cohere.com",
    "api.cohere.ai",
    "api.groq.com",
    "api.together.xyz",
    "api.deepseek.com",
    "api.x.ai",
    "api.perplexity.ai",
    "api.fireworks.ai",
    "openrouter.ai",
)

# Agent frameworks, by the module / package / executable name that shows in a command line or
# an import of the script it runs.
_FRAMEWORK_MODULES: Final[dict[str, str]] = {
    "langchain": "langchain",
    "langchain_core": "langchain",
    "langchain_community": "langchain",
    "langgraph": "langgraph",
    "langgraph_api": "langgraph",
    "crewai": "crewai",
    "autogen": "autogen",
    "autogen_agentchat": "autogen",
    "autogenstudio": "autogen",
    "llama_index": "llamaindex",
    "smolagents": "smolagents",
    "pydantic_ai": "pydantic-ai",
    "semantic_kernel": "semantic-kernel",
    "agents": "openai-agents",
    "google.adk": "google-adk",
    "letta": "letta",
    "agno": "agno",
    "haystack": "haystack",
    "openhands": "openhands",
    "mcp": "mcp",
    "fastmcp": "mcp",
}
# Executables that are agents or agent runtimes in their own right.
_AGENT_EXECUTABLES: Final[dict[str, str]] = {
    "langgraph": "langgraph",
    "crewai": "crewai",
    "autogenstudio": "autogen",
    "adk": "google-adk",
    "letta": "letta",
    "openhands": "openhands",
    "aider": "aider",
    "claude": "claude-code",
    "codex": "codex",
    "gemini": "gemini-cli",
    "goose": "goose",
    "cursor-agent": "cursor",
}
_IMPORT_RE: Final = re.compile(
    r"^\s*(?:from\s+([A-Za-z_][\w.]*)\s+import|import\s+([A-Za-z_][\w.]*))", re.MULTILINE
)
_SCRIPT_BYTES: Final = 64 * 1024
_INTERPRETERS: Final = re.compile(r"^(python[\d.]*|pypy[\d.]*|node|bun|deno|uv|uvx)$")


class PsutilMissing(RuntimeError):
    """psutil is not installed: process discovery cannot run."""


@dataclass(frozen=True, slots=True)
class LlmKey:
    """An LLM API key seen in an environment (the value itself is never kept)."""

    variable: str
    provider: str
    masked: str
    value_hash: str


@dataclass(slots=True)
class ProcessInfo:
    """One process of interest."""

    pid: int
    ppid: int | None
    name: str
    cmdline: tuple[str, ...]
    cwd: str | None
    username: str | None
    frameworks: set[str] = field(default_factory=set)
    launcher: str | None = None  # the MCP server package or image it launches
    llm_keys: list[LlmKey] = field(default_factory=list)
    llm_hosts: set[str] = field(default_factory=set)
    listening: set[tuple[str, int]] = field(default_factory=set)
    child_pids: list[int] = field(default_factory=list)


@dataclass(slots=True)
class ProcessScan:
    """What process discovery saw."""

    processes: list[ProcessInfo]
    # (ip, port) listening -> pid (None when the owner is another user's process).
    listeners: dict[tuple[str, int], int | None]
    access_denied: int = 0
    notes: list[str] = field(default_factory=list)


def key_hash(value: str) -> str:
    """A one-way id of a secret value (fingerprints, de-duplication)."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def llm_keys_in(environ: Mapping[str, str]) -> list[LlmKey]:
    """The LLM API keys among environment variables, masked."""
    keys = []
    for name in sorted(environ):
        value = environ[name]
        provider = llm_key_kind(name, value)
        if provider is not None:
            keys.append(LlmKey(name, provider, mask(value.strip()), key_hash(value.strip())))
    return keys


def mcp_launcher(cmdline: Sequence[str]) -> str | None:
    """The MCP server a command line launches (package, script or image), else ``None``."""
    args = list(cmdline)
    names = [PurePath(a).name for a in args]
    for i, arg in enumerate(args):
        name = names[i]
        package = _npm_package(arg)
        if package.startswith("@modelcontextprotocol/"):
            return package
        if name == "mcp-remote" or package == "mcp-remote":
            return "mcp-remote"
        if _is_mcp_server_name(package) or _is_mcp_server_name(name):
            return package if "/" in package else name
        if name in ("fastmcp", "mcp") and i + 1 < len(args) and args[i + 1] in ("run", "dev"):
            target = args[i + 2] if i + 2 < len(args) else ""
            return f"{name} {args[i + 1]} {target}".strip()
        if name == "docker" and "run" in args[i + 1 :]:
            for image in args[i + 2 :]:
                if image.startswith("mcp/") or "/mcp-server" in image or "mcp-server-" in image:
                    return image
    # Paths of installed servers: .../node_modules/@modelcontextprotocol/server-x/dist/index.js
    for arg in args:
        marker = "node_modules/@modelcontextprotocol/"
        if marker in arg:
            rest = arg.split(marker, 1)[1].split("/", 1)[0]
            return f"@modelcontextprotocol/{rest}"
    return None


def _npm_package(arg: str) -> str:
    """``@scope/name@1.2`` -> ``@scope/name``; other args unchanged."""
    if arg.startswith("@"):
        scope, _, rest = arg.partition("/")
        return f"{scope}/{rest.split('@', 1)[0]}" if rest else arg
    return arg.split("@", 1)[0] if "@" in arg and "/" not in arg else arg


def _is_mcp_server_name(name: str) -> bool:
    base = name.removesuffix(".js").removesuffix(".py").lower()
    if "/" in base:
        base = base.rsplit("/", 1)[1]
    return base.startswith("mcp-server-") or base.endswith(("-mcp-server", "-mcp", "_mcp_server"))


def frameworks_of(cmdline: Sequence[str], cwd: str | None) -> set[str]:
    """Agent frameworks named in a command line or imported by the script it runs."""
    found: set[str] = set()
    if not cmdline:
        return found
    exe = PurePath(cmdline[0]).name
    interpreter = bool(_INTERPRETERS.match(exe))
    if not interpreter and exe in _AGENT_EXECUTABLES:
        found.add(_AGENT_EXECUTABLES[exe])
    args = list(cmdline[1:]) if interpreter else []
    for i, arg in enumerate(args):
        if arg == "-m" and i + 1 < len(args):
            module = args[i + 1]
            found.update(_frameworks_of_module(module))
        elif PurePath(arg).name in _AGENT_EXECUTABLES and i == 0:
            found.add(_AGENT_EXECUTABLES[PurePath(arg).name])
        elif arg.endswith(".py") and not arg.startswith("-"):
            found.update(_frameworks_in_script(arg, cwd))
    return found


def _frameworks_of_module(module: str) -> set[str]:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        framework = _FRAMEWORK_MODULES.get(".".join(parts[:n]))
        if framework is not None and module != "agents":
            return {framework}
    return set()


def _frameworks_in_script(arg: str, cwd: str | None) -> set[str]:
    path = Path(arg)
    if not path.is_absolute() and cwd:
        path = Path(cwd) / path
    try:
        with path.open("rb") as fh:
            text = fh.read(_SCRIPT_BYTES).decode("utf-8", "replace")
    except OSError:
        return set()
    found: set[str] = set()
    for match in _IMPORT_RE.finditer(text):
        module = match.group(1) or match.group(2)
        found.update(_frameworks_of_module(module))
        if module == "agents" or module.startswith("agents."):
            found.add("openai-agents")
    return found


def resolve_llm_hosts(
    hosts: Iterable[str] = LLM_API_HOSTS, timeout_s: float = 2.0
) -> dict[str, str]:
    """IP address -> LLM API host name, resolved once (unresolvable hosts are skipped)."""

    def resolve(host: str) -> list[tuple[str, str]]:
        try:
            infos = socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
        except OSError:
            return []
        return [(str(info[4][0]), host) for info in infos]

    out: dict[str, str] = {}
    host_list = list(hosts)
    pool = ThreadPoolExecutor(max_workers=min(8, max(1, len(host_list))))
    futures = [pool.submit(resolve, host) for host in host_list]
    for future in futures:
        try:
            out.update(future.result(timeout=timeout_s))
        except FutureTimeout:
            continue
    # Slow resolvers are abandoned, not waited for.
    pool.shutdown(wait=False, cancel_futures=True)
    return out


def scan_processes(*, llm_ips: Mapping[str, str] | None = None) -> ProcessScan:
    """Every process of interest on this host; ``PsutilMissing`` when psutil is absent."""
    try:
        import psutil  # type: ignore[import-untyped,unused-ignore]
    except ImportError as exc:
        raise PsutilMissing(f"process discovery needs psutil: {INSTALL_HINT}") from exc

    own_pid = os.getpid()
    denied = 0
    by_pid: dict[int, ProcessInfo] = {}
    everyone: dict[int, ProcessInfo] = {}
    attrs = ["pid", "ppid", "name", "cmdline", "cwd", "username"]
    for proc in psutil.process_iter(attrs, ad_value=None):
        info_raw: dict[str, Any] = proc.info
        if info_raw.get("pid") == own_pid:
            continue
        cmdline = tuple(info_raw.get("cmdline") or ())
        info = ProcessInfo(
            pid=int(info_raw["pid"]),
            ppid=info_raw.get("ppid"),
            name=str(info_raw.get("name") or ""),
            cmdline=cmdline,
            cwd=info_raw.get("cwd"),
            username=info_raw.get("username"),
        )
        everyone[info.pid] = info
        info.launcher = mcp_launcher(cmdline)
        info.frameworks = frameworks_of(cmdline, info.cwd)
        try:
            environ = proc.environ()
        except (psutil.AccessDenied, psutil.ZombieProcess):
            denied += 1
            environ = {}
        except psutil.NoSuchProcess:
            continue
        info.llm_keys = llm_keys_in(environ)
        if info.launcher or info.frameworks or info.llm_keys:
            by_pid[info.pid] = info

    listeners: dict[tuple[str, int], int | None] = {}
    notes: list[str] = []
    try:
        connections = psutil.net_connections(kind="inet")
    except psutil.AccessDenied:
        connections = []
        notes.append("the socket table is not readable: listening sockets were not mapped")
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr:
            listeners[(str(conn.laddr.ip), int(conn.laddr.port))] = conn.pid
        elif conn.status == psutil.CONN_ESTABLISHED and conn.raddr and llm_ips:
            host = llm_ips.get(str(conn.raddr.ip))
            if host is not None and conn.pid in everyone:
                target = by_pid.setdefault(conn.pid, everyone[conn.pid])
                target.llm_hosts.add(host)
    for (ip, port), pid in listeners.items():
        if pid is not None and pid in by_pid:
            by_pid[pid].listening.add((ip, port))

    _fold_launcher_children(by_pid, everyone)
    if denied:
        notes.append(
            f"{denied} processes of other users could not be inspected (environment); "
            "run as root to include them"
        )
    return ProcessScan(sorted(by_pid.values(), key=lambda p: p.pid), listeners, denied, notes)


def _fold_launcher_children(
    by_pid: dict[int, ProcessInfo], everyone: Mapping[int, ProcessInfo]
) -> None:
    """Report ``npx x`` and the ``node .../x`` it spawns as one launcher (the outermost)."""
    for pid in sorted(by_pid, reverse=True):
        info = by_pid.get(pid)
        if info is None or info.launcher is None:
            continue
        parent_pid, hops = info.ppid, 0
        # A shell may sit between the launcher and the server it starts.
        while parent_pid is not None and hops < 4:
            parent = by_pid.get(parent_pid)
            if parent is not None and parent.launcher is not None:
                if _same_server(parent.launcher, info.launcher):
                    parent.child_pids.extend([pid, *info.child_pids])
                    parent.listening |= info.listening
                    parent.llm_hosts |= info.llm_hosts
                    parent.frameworks |= info.frameworks
                    known = {k.value_hash for k in parent.llm_keys}
                    parent.llm_keys.extend(k for k in info.llm_keys if k.value_hash not in known)
                    del by_pid[pid]
                break
            ancestor = everyone.get(parent_pid)
            parent_pid = ancestor.ppid if ancestor is not None else None
            hops += 1


def _same_server(a: str, b: str) -> bool:
    short_a = a.rsplit("/", 1)[-1].removeprefix("server-").removeprefix("mcp-server-")
    short_b = b.rsplit("/", 1)[-1].removeprefix("server-").removeprefix("mcp-server-")
    return a == b or short_a == short_b
