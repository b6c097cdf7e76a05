"""One file in, ``FileFacts`` out: credentials for every text file, tools for Python, MCP configs.

This is the function worker processes run, so it takes plain data (a display path and the bytes)
and returns plain data.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from agentsentinel_cli.credentials import find_credentials
from agentsentinel_cli.mcp_configs import is_mcp_config, parse_mcp_config
from agentsentinel_cli.scan.facts import FileFacts, McpEntryFacts
from agentsentinel_cli.scan.python_ast import check_python, extract_python, may_define_tools

PYTHON_SUFFIXES = frozenset({".py", ".pyi"})


def _text(data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text[1:] if text.startswith("\ufeff") else text


def extract_file(path: str, data: bytes) -> FileFacts:
    """Facts of one file given its display path and content (``lazy`` for a Python file that
    cannot define a tool or an agent: see ``complete``)."""
    text = _text(data)
    pure = PurePosixPath(path)
    if pure.suffix not in PYTHON_SUFFIXES:
        facts = FileFacts(path=path)
    elif may_define_tools(text, path):
        facts = extract_python(text, path)
    else:
        facts = check_python(text, path)
    facts.credentials = find_credentials(text, path)
    if is_mcp_config(Path(pure)):
        try:
            entries = parse_mcp_config(Path(pure), text, display_path=path)
        except ValueError as exc:
            facts.error = str(exc)
        else:
            facts.mcp_servers = [
                McpEntryFacts(
                    name=e.name,
                    transport=e.transport,
                    command=e.command,
                    args=list(e.args),
                    url=e.url,
                    env_keys=list(e.env_keys),
                    has_auth_header=e.has_auth_header,
                    line=e.location.line,
                )
                for e in entries
            ]
    return facts


def complete(facts: FileFacts, data: bytes) -> FileFacts:
    """The full facts of a ``lazy`` file (its imports, bindings, docstring), given its content."""
    full = extract_python(_text(data), facts.path)
    full.credentials = facts.credentials
    full.mcp_servers = facts.mcp_servers
    return full
