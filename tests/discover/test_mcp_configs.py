"""MCP client config parsing (shared with ``sentinel scan``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from agentsentinel_cli.mcp_configs import (
    host_config_paths,
    is_mcp_config,
    parse_mcp_config,
    to_posture,
)

SECRET = "sk-ant-api03-" + "q" * 40


def test_config_file_names() -> None:
    for path in (
        ".mcp.json",
        "a/.claude.json",
        "claude_desktop_config.json",
        "p/.cursor/mcp.json",
        ".vscode/mcp.json",
    ):
        assert is_mcp_config(Path(path)), path
    for path in ("mcp.json", "src/mcp.json", "package.json", ".cursor/settings.json"):
        assert not is_mcp_config(Path(path)), path


def test_parses_stdio_http_sse_and_drops_env_and_header_values() -> None:
    text = json.dumps(
        {
            "mcpServers": {
                "github": {
                    "command": "npx",
                    "args": ["-y", "@modelcontextprotocol/server-github"],
                    "env": {"GITHUB_TOKEN": SECRET},
                },
                "remote": {
                    "url": "https://mcp.example.com/mcp",
                    "headers": {"Authorization": f"Bearer {SECRET}"},
                },
                "events": {"url": "http://10.0.0.5:8000/sse"},
            }
        },
        indent=2,
    )
    entries = parse_mcp_config(Path(".mcp.json"), text)
    assert [(e.name, e.transport, e.location.line) for e in entries] == [
        ("github", "stdio", 3),
        ("remote", "http", 13),
        ("events", "sse", 19),
    ]
    assert entries[0].env_keys == ("GITHUB_TOKEN",)
    assert SECRET not in repr(entries)
    assert to_posture(entries[0]).url == "stdio:npx -y @modelcontextprotocol/server-github"
    assert to_posture(entries[0]).auth is None
    assert to_posture(entries[1]).auth == "bearer"
    assert to_posture(entries[2]).auth == "none"


def test_vscode_servers_and_claude_project_servers() -> None:
    vscode = '{"servers": {"py": {"type": "stdio", "command": "uvx", "args": ["mcp-server-git"]}}}'
    [entry] = parse_mcp_config(Path(".vscode/mcp.json"), vscode, display_path="x/.vscode/mcp.json")
    assert entry.transport == "stdio" and entry.location.path == "x/.vscode/mcp.json"
    claude = json.dumps(
        {"projects": {"/w": {"mcpServers": {"a": {"type": "http", "url": "http://h/mcp"}}}}},
        indent=1,
    )
    [project] = parse_mcp_config(Path(".claude.json"), claude)
    assert project.name == "a" and project.location.line == 5
    assert parse_mcp_config(Path(".claude.json"), '{"numStartups": 3}') == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{oops", "invalid JSON at line 1"),
        ("[]", "expected a JSON object"),
        ('{"mcpServers": []}', "'mcpServers' must be a JSON object"),
        ('{"mcpServers": {"x": {}}}', "neither 'command' nor 'url'"),
        ('{"mcpServers": {"x": {"command": "a", "args": "b"}}}', "'args' must be a list"),
        ('{"other": 1}', "no 'mcpServers' or 'servers' table"),
    ],
)
def test_invalid_configs_raise_value_error(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_mcp_config(Path(".mcp.json"), text)


def test_host_config_paths_lists_existing_files_only(tmp_path: Path) -> None:
    assert host_config_paths(tmp_path) == []
    (tmp_path / ".claude.json").write_text("{}")
    desktop = tmp_path / ".config" / "Claude" / "claude_desktop_config.json"
    desktop.parent.mkdir(parents=True)
    desktop.write_text("{}")
    assert host_config_paths(tmp_path) == [tmp_path / ".claude.json", desktop]
