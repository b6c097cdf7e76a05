"""MCP client configuration files: which files they are, what servers they declare.

Key contracts:
- One parser for every client format: ``mcpServers`` (Claude Code ``.mcp.json``, Claude Desktop,
  Cursor, Windsurf), ``servers`` (VS Code ``mcp.json``) and the per-project ``mcpServers`` of
  ``~/.claude.json``. ``sentinel scan`` uses it for config files inside scanned trees,
  ``sentinel discover --configs`` for the files of this host.
- Environment and header VALUES are never kept: a config file is where people paste API keys.
  Only the names of env variables, and whether an auth header is configured, survive parsing.
- ``parse_mcp_config`` raises ``ValueError`` (with a one-line reason) on invalid JSON or a shape
  it does not understand; it never returns half a file silently.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from agentsentinel.posture import McpServerPosture, SourceLocation
from agentsentinel_cli.report.model import Location

# File names (or ``parent/name``) that are MCP client configs wherever they appear in a tree.
CONFIG_FILE_NAMES: Final[tuple[str, ...]] = (
    ".mcp.json",
    ".claude.json",
    "claude_desktop_config.json",
    ".cursor/mcp.json",
    ".vscode/mcp.json",
)
_BARE_NAMES: Final = frozenset(n for n in CONFIG_FILE_NAMES if "/" not in n)
_DIR_NAMES: Final = frozenset(tuple(n.split("/")) for n in CONFIG_FILE_NAMES if "/" in n)

# Header names that carry credentials (lower-case); their values are never read.
_AUTH_HEADERS: Final = frozenset({"authorization", "proxy-authorization", "x-api-key", "api-key"})

_TRANSPORT_ALIASES: Final[dict[str, str]] = {
    "stdio": "stdio",
    "http": "http",
    "streamable-http": "http",
    "streamable_http": "http",
    "streamablehttp": "http",
    "sse": "sse",
}


@dataclass(frozen=True, slots=True)
class McpServerEntry:
    """One MCP server declared in a client config (values of env and headers dropped)."""

    name: str
    transport: str  # "stdio" | "http" | "sse"
    command: str | None
    args: tuple[str, ...]
    url: str | None
    env_keys: tuple[str, ...]
    has_auth_header: bool
    location: Location


def is_mcp_config(path: Path) -> bool:
    """Whether ``path`` names an MCP client config file (by name, never by content)."""
    if path.name in _BARE_NAMES:
        return True
    return (path.parent.name, path.name) in _DIR_NAMES


def host_config_paths(home: Path | None = None) -> list[Path]:
    """The MCP client config files of this host's user that exist, in a stable order."""
    home = Path.home() if home is None else home
    candidates = [
        home / ".claude.json",
        home / ".mcp.json",
        home / ".cursor" / "mcp.json",
        home / ".codeium" / "windsurf" / "mcp_config.json",
        # Claude Desktop: Linux, macOS, Windows.
        home / ".config" / "Claude" / "claude_desktop_config.json",
        home / "Library" / "Application Support" / "Claude" / "claude_desktop_config.json",
        home / "AppData" / "Roaming" / "Claude" / "claude_desktop_config.json",
        # VS Code user-level MCP servers.
        home / ".config" / "Code" / "User" / "mcp.json",
        home / "Library" / "Application Support" / "Code" / "User" / "mcp.json",
        home / "AppData" / "Roaming" / "Code" / "User" / "mcp.json",
    ]
    if sys.platform == "win32" and (appdata := os.environ.get("APPDATA")):
        candidates.append(Path(appdata) / "Claude" / "claude_desktop_config.json")
    seen: set[Path] = set()
    out: list[Path] = []
    for path in candidates:
        if path not in seen and path.is_file():
            seen.add(path)
            out.append(path)
    return out


def parse_mcp_config(
    path: Path, text: str | None = None, *, display_path: str | None = None
) -> list[McpServerEntry]:
    """The servers declared in one config file, in file order; ``ValueError`` if it is invalid."""
    shown = display_path if display_path is not None else str(path)
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{shown}: not UTF-8 text") from exc
    if not text.strip():
        return []
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{shown}: invalid JSON at line {exc.lineno}: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{shown}: expected a JSON object at the top level")
    locator = _LineLocator(text)
    entries: list[McpServerEntry] = []
    cursor = 0
    for container_key, servers in _server_tables(data, shown):
        cursor = locator.offset_of_key(container_key, cursor)
        for name, spec in servers.items():
            if not isinstance(spec, dict):
                raise ValueError(f"{shown}: server {name!r} must be a JSON object")
            line, cursor = locator.line_of_key(name, cursor)
            entries.append(_entry(name, spec, Location(shown, line), shown))
    return entries


def to_posture(entry: McpServerEntry) -> McpServerPosture:
    """The posture-rule view of a declared server (tools unknown: a config lists none)."""
    if entry.transport == "stdio":
        url = "stdio:" + shlex.join([entry.command or "", *entry.args]).strip()
        auth: str | None = None
    else:
        url = entry.url or ""
        auth = "bearer" if entry.has_auth_header else "none"
    return McpServerPosture(
        name=entry.name,
        url=url,
        auth=auth,
        location=SourceLocation(entry.location.path, entry.location.line),
    )


def _server_tables(data: Mapping[str, Any], shown: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every ``{name: spec}`` table of the file with the key that holds it."""
    found = False
    for key in ("mcpServers", "servers"):
        if key in data:
            table = data[key]
            if not isinstance(table, dict):
                raise ValueError(f"{shown}: {key!r} must be a JSON object")
            found = True
            yield key, table
    # ~/.claude.json keeps project-scoped servers under projects.<dir>.mcpServers.
    projects = data.get("projects")
    if isinstance(projects, dict):
        for project in projects.values():
            if isinstance(project, dict) and isinstance(project.get("mcpServers"), dict):
                found = True
                yield "mcpServers", project["mcpServers"]
    # A .claude.json without servers is normal; anything else with neither table is not a config
    # we understand (and silence would read as "no servers").
    if (
        not found
        and not data.keys() <= {"inputs", "$schema"}
        and Path(shown).name != ".claude.json"
    ):
        raise ValueError(f"{shown}: no 'mcpServers' or 'servers' table")


def _entry(name: str, spec: Mapping[str, Any], location: Location, shown: str) -> McpServerEntry:
    command = spec.get("command")
    raw_url = spec.get("url", spec.get("serverUrl"))
    declared = spec.get("type", spec.get("transport"))
    if command is not None and not isinstance(command, str):
        raise ValueError(f"{shown}: server {name!r}: 'command' must be a string")
    if raw_url is not None and not isinstance(raw_url, str):
        raise ValueError(f"{shown}: server {name!r}: 'url' must be a string")
    args_raw = spec.get("args", [])
    if not isinstance(args_raw, list):
        raise ValueError(f"{shown}: server {name!r}: 'args' must be a list")
    args = tuple(str(a) for a in args_raw)
    env = spec.get("env", {})
    headers = spec.get("headers", {})
    env_keys = tuple(sorted(str(k) for k in env)) if isinstance(env, dict) else ()
    has_auth = isinstance(headers, dict) and any(str(h).lower() in _AUTH_HEADERS for h in headers)
    if isinstance(declared, str) and declared.lower() in _TRANSPORT_ALIASES:
        transport = _TRANSPORT_ALIASES[declared.lower()]
    elif command:
        transport = "stdio"
    elif raw_url:
        transport = "sse" if raw_url.rstrip("/").endswith("/sse") else "http"
    else:
        raise ValueError(f"{shown}: server {name!r} has neither 'command' nor 'url'")
    if transport == "stdio" and not command:
        raise ValueError(f"{shown}: stdio server {name!r} has no 'command'")
    if transport != "stdio" and not raw_url:
        raise ValueError(f"{shown}: {transport} server {name!r} has no 'url'")
    return McpServerEntry(
        name=name,
        transport=transport,
        command=command if transport == "stdio" else None,
        args=args if transport == "stdio" else (),
        url=raw_url if transport != "stdio" else None,
        env_keys=env_keys,
        has_auth_header=has_auth,
        location=location,
    )


class _LineLocator:
    """Finds the line of a JSON object key, searching forward from an offset."""

    def __init__(self, text: str) -> None:
        self._text = text

    def _find(self, key: str, start: int) -> re.Match[str] | None:
        pattern = re.escape(json.dumps(key, ensure_ascii=False)) + r"\s*:"
        return re.compile(pattern).search(self._text, start)

    def offset_of_key(self, key: str, start: int) -> int:
        match = self._find(key, start)
        return start if match is None else match.end()

    def line_of_key(self, key: str, start: int) -> tuple[int | None, int]:
        """The 1-based line of ``key`` and the offset to search on from."""
        match = self._find(key, start)
        if match is None:
            # Written with escapes json.dumps does not produce, or out of order: line unknown.
            return None, start
        return self._text.count("\n", 0, match.start()) + 1, match.end()
