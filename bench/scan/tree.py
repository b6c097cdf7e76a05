"""A seeded generator of a realistic agent-code tree that knows its own ground truth.

Key contracts:
- ``generate(root, files=2000, seed=7)`` writes exactly ``files`` files under ``root`` and returns
  a ``Truth``: every tool it wrote (name as the model sees it, file, line) and every planted
  credential (file, line). The same seed always writes the same bytes.
- Tool lines follow the scanner's convention: the ``def`` line of a decorated function, the
  ``class`` line of a tool class, the first line of a ``StructuredTool.from_function``/``Tool``
  call, the ``{`` line of a raw tool dict (the inner ``"function": {`` for OpenAI's form), the
  ``Agent(`` line for the ``code_execution`` tool a CrewAI ``allow_code_execution=True`` grants.
- Forms: LangChain ``@tool`` (plain, named, aliased, module-qualified), ``BaseTool`` subclasses,
  ``StructuredTool.from_function``/``Tool`` (also wrapping a function imported from another
  module); tools defined in one module and attached to an agent in another through a list held
  in a variable; CrewAI ``@tool("Name")``/``BaseTool``; OpenAI Agents ``@function_tool``
  (``name_override``); MCP ``FastMCP`` (v1 and ``fastmcp``) and ``MCPServer`` (v2); PydanticAI
  ``@agent.tool``/``tool_plain``; raw Anthropic/OpenAI tool dicts. The rest are plain modules
  (dataclasses, FastAPI routes, click commands, tests, a local registry decorator), config files
  (MCP client configs, pyproject, YAML) and settings modules with fake, pattern-valid secrets.
- Secret values are built at run time; AWS's are its documented example values.
"""

from __future__ import annotations

import json
import random
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

VERBS: Final = (
    "get", "list", "search", "fetch", "lookup", "summarise", "create", "update", "delete",
    "send", "run", "export", "sync", "archive", "translate", "schedule", "approve", "refund",
)  # fmt: skip
NOUNS: Final = (
    "order", "invoice", "customer", "ticket", "report", "forecast", "file", "record", "email",
    "message", "shipment", "product", "user", "note", "document", "payment", "event", "metric",
    "calendar", "repo", "issue", "page", "quote", "contract",
)  # fmt: skip
# Tool bodies: (body lines using ``arg``, imports they need).
BODIES: Final[tuple[tuple[list[str], list[str]], ...]] = (
    (['return requests.get("https://api.example.com/v1/items", params={"q": arg}).text'],
     ["import requests"]),
    (['with open(arg, encoding="utf-8") as handle:', "    return handle.read()"], []),
    (["result = subprocess.run(arg, shell=True, capture_output=True, text=True)",
      "return result.stdout"], ["import subprocess"]),
    (['conn = sqlite3.connect("app.db")',
      'rows = conn.execute("SELECT * FROM items WHERE id = ?", (arg,)).fetchall()',
      "return str(rows)"], ["import sqlite3"]),
    (["os.remove(arg)", 'return "deleted"'], ["import os"]),
    (['return json.dumps({"value": arg, "ok": True})'], ["import json"]),
    (['return f"{arg}".strip().lower()'], []),
    (['resp = httpx.post("https://hooks.example.com/notify", json={"text": arg})',
      "return str(resp.status_code)"], ["import httpx"]),
)  # fmt: skip


@dataclass
class Truth:
    tools: list[tuple[str, str, int]] = field(default_factory=list)  # (name, file, line)
    secrets: list[tuple[str, int]] = field(default_factory=list)  # (file, line)
    kinds: dict[str, int] = field(default_factory=dict)  # files written per kind


class _Src:
    """Lines of one file, with the ground truth recorded as they are written."""

    def __init__(self, path: str, truth: Truth) -> None:
        self.path = path
        self.truth = truth
        self.lines: list[str] = []

    def add(self, *lines: str) -> int:
        """Append lines; return the number (1-based) of the first one."""
        first = len(self.lines) + 1
        self.lines.extend(lines)
        return first

    def tool(self, name: str, line: int) -> None:
        self.truth.tools.append((name, self.path, line))

    def secret(self, line: int) -> None:
        self.truth.secrets.append((self.path, line))

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


class _Gen:
    def __init__(self, root: Path, seed: int) -> None:
        self.root = root
        self.rng = random.Random(seed)
        self.truth = Truth()
        self.written = 0

    # -- helpers ------------------------------------------------------------------------------

    def names(self, n: int) -> list[str]:
        picked: list[str] = []
        while len(picked) < n:
            name = f"{self.rng.choice(VERBS)}_{self.rng.choice(NOUNS)}"
            if name not in picked:
                picked.append(name)
        return picked

    def token(self, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def body(self) -> tuple[list[str], list[str]]:
        lines, imports = self.rng.choice(BODIES)
        return list(lines), list(imports)

    def write(self, rel: str, text: str, kind: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        self.written += 1
        self.truth.kinds[kind] = self.truth.kinds.get(kind, 0) + 1

    def func(self, src: _Src, decorators: list[str], fname: str, doc: str, ctx: str = "") -> int:
        """Write a tool-shaped function; return its ``def`` line."""
        lines, _ = self.body()
        src.add(*decorators)
        line = src.add(f"def {fname}({ctx}arg: str) -> str:")
        src.add(f'    """{doc}"""', *("    " + body_line for body_line in lines), "", "")
        return line

    def header(self, src: _Src, imports: list[str]) -> None:
        src.add(
            f'"""{self.rng.choice(NOUNS).title()} '
            f'{self.rng.choice(["agent", "tools", "service"])}."""',
            "",
        )
        src.add(*sorted(set(imports)), "")

    @staticmethod
    def all_imports() -> list[str]:
        return sorted({imp for _, imports in BODIES for imp in imports})

    # -- agent files ---------------------------------------------------------------------------

    def langchain_tools(self, src: _Src, count: int) -> list[str]:
        """LangChain tools in one module; returns the Python names that hold them."""
        style = self.rng.choice(["plain", "alias", "module", "langchain"])
        deco = {"plain": "tool", "alias": "lc_tool", "module": "lct.tool", "langchain": "tool"}[
            style
        ]
        imports = {
            "plain": "from langchain_core.tools import tool",
            "alias": "from langchain_core.tools import tool as lc_tool",
            "module": "import langchain_core.tools as lct",
            "langchain": "from langchain.tools import tool",
        }[style]
        self.header(
            src,
            [
                imports,
                "from langchain_core.tools import BaseTool, StructuredTool, Tool",
                *self.all_imports(),
            ],
        )
        held: list[str] = []
        for name in self.names(count):
            form = self.rng.choice(["deco", "deco", "named", "class", "structured", "tool"])
            doc = f"{name.replace('_', ' ').capitalize()} for the user."
            if form == "deco":
                src.tool(name, self.func(src, [f"@{deco}"], name, doc))
                held.append(name)
            elif form == "named":
                fname = f"_{name}_impl"
                src.tool(name, self.func(src, [f'@{deco}("{name}")'], fname, doc))
                held.append(fname)
            elif form == "class":
                cls = "".join(part.title() for part in name.split("_")) + "Tool"
                lines, _ = self.body()
                line = src.add(f"class {cls}(BaseTool):")
                src.add(f'    name: str = "{name}"', f'    description: str = "{doc}"', "")
                src.add(
                    "    def _run(self, arg: str) -> str:", *("        " + b for b in lines), "", ""
                )
                src.tool(name, line)
                held.append(f"{cls}()")
            else:
                impl = f"_{name}"
                self.func(src, [], impl, doc)
                var = f"{name}_tool"
                if form == "structured":
                    line = src.add(f"{var} = StructuredTool.from_function(")
                    src.add(f'    func={impl}, name="{name}", description="{doc}"', ")", "")
                else:
                    line = src.add(f"{var} = Tool(")
                    src.add(
                        f'    name="{name}",',
                        f"    func={impl},",
                        f'    description="{doc}",',
                        ")",
                        "",
                    )
                src.tool(name, line)
                held.append(var)
        return held

    def langchain_single(self, rel: str) -> None:
        src = _Src(rel, self.truth)
        held = self.langchain_tools(src, self.rng.randint(2, 5))
        src.add(
            "from langchain_openai import ChatOpenAI",
            "from langgraph.prebuilt import create_react_agent",
            "",
        )
        if self.rng.random() < 0.25:
            line = src.add(f'llm = ChatOpenAI(model="gpt-4o", api_key="sk-proj-{self.token(40)}")')
            src.secret(line)
        else:
            src.add('llm = ChatOpenAI(model="gpt-4o")')
        src.add(f"TOOLS = [{', '.join(held)}]", "agent = create_react_agent(llm, tools=TOOLS)")
        self.write(rel, src.text(), "langchain")

    def langchain_pair(self, pkg: str, k: int) -> None:
        """Tools in ``tools_k.py``; an agent in ``agent_k.py`` imports, wraps and attaches them."""
        tools_rel, impl_rel, agent_rel = (
            f"{pkg}/tools_{k}.py",
            f"{pkg}/impl_{k}.py",
            f"{pkg}/agent_{k}.py",
        )
        src = _Src(tools_rel, self.truth)
        held = [
            h for h in self.langchain_tools(src, self.rng.randint(3, 6)) if not h.endswith("()")
        ]
        self.write(tools_rel, src.text(), "langchain (tools module)")
        impl = _Src(impl_rel, self.truth)
        self.header(impl, self.all_imports())
        impl_name = self.names(1)[0] + "_record"
        self.func(impl, [], impl_name, "Plain function wrapped as a tool elsewhere.")
        self.write(impl_rel, impl.text(), "plain (wrapped elsewhere)")
        agent = _Src(agent_rel, self.truth)
        modpath = pkg.replace("/", ".")
        aliases = [f"{h} as t{i}" if self.rng.random() < 0.4 else h for i, h in enumerate(held)]
        agent.add('"""Agent wiring."""', "")
        if aliases:
            agent.add(f"from {modpath}.tools_{k} import {', '.join(aliases)}")
        agent.add(f"from {modpath}.impl_{k} import {impl_name}")
        agent.add("from langchain.agents import AgentExecutor, create_tool_calling_agent")
        agent.add("from langchain_core.tools import StructuredTool as ST", "")
        wrapped = f"wrapped_{impl_name}"
        line = agent.add(
            f"{wrapped} = ST.from_function(",
            f'    func={impl_name}, name="{wrapped}", description="Wrapped."',
            ")",
            "",
        )
        agent.tool(wrapped, line)
        used = [a.split(" as ")[-1] for a in aliases]
        agent.add(f"TOOLS = [{', '.join([*used, wrapped])}]", "")
        agent.add(
            "def build(llm, prompt):", "    agent = create_tool_calling_agent(llm, TOOLS, prompt)"
        )
        agent.add("    return AgentExecutor(agent=agent, tools=TOOLS)")
        self.write(agent_rel, agent.text(), "langchain (agent module)")

    def crewai(self, rel: str) -> None:
        src = _Src(rel, self.truth)
        self.header(
            src,
            [
                "from crewai import Agent, Crew, Task",
                "from crewai.tools import BaseTool, tool",
                *self.all_imports(),
            ],
        )
        held = []
        for name in self.names(self.rng.randint(2, 4)):
            title = name.replace("_", " ").title()
            doc = f"{title} for the crew."
            if self.rng.random() < 0.6:
                fname = f"{name}_fn"
                src.tool(title, self.func(src, [f'@tool("{title}")'], fname, doc))
                held.append(fname)
            else:
                cls = "".join(p.title() for p in name.split("_"))
                lines, _ = self.body()
                line = src.add(
                    f"class {cls}(BaseTool):",
                    f'    name: str = "{name}"',
                    f'    description: str = "{doc}"',
                    "",
                )
                src.add(
                    "    def _run(self, arg: str) -> str:", *("        " + b for b in lines), "", ""
                )
                src.tool(name, line)
                held.append(f"{cls}()")
        role = self.rng.choice(["Researcher", "Support Lead", "Data Analyst", "Ops Engineer"])
        agent_line = src.add(
            "worker = Agent(",
            f'    role="{role}",',
            '    goal="Handle requests.",',
            '    backstory="Experienced.",',
        )
        code_execution = self.rng.random() < 0.2
        if code_execution:  # CrewAI grants the agent a built-in code interpreter tool
            src.tool("code_execution", agent_line)
        src.add(
            f"    tools=[{', '.join(held)}],",
            f"    allow_code_execution={code_execution},",
            ")",
        )
        src.add(
            "crew = Crew(agents=[worker], "
            'tasks=[Task(description="Go", agent=worker, expected_output="ok")])'
        )
        self.write(rel, src.text(), "crewai")

    def openai_agents(self, rel: str) -> None:
        src = _Src(rel, self.truth)
        alias = self.rng.random() < 0.3
        deco = "ft" if alias else "function_tool"
        self.header(
            src,
            [
                "from agents import Agent, Runner",
                f"from agents import function_tool{' as ft' if alias else ''}",
                *self.all_imports(),
            ],
        )
        held = []
        for name in self.names(self.rng.randint(2, 4)):
            doc = f"{name.replace('_', ' ').capitalize()}."
            if self.rng.random() < 0.3:
                fname = f"do_{name}"
                src.tool(name, self.func(src, [f'@{deco}(name_override="{name}")'], fname, doc))
                held.append(fname)
            else:
                src.tool(name, self.func(src, [f"@{deco}"], name, doc))
                held.append(name)
        src.add(
            "assistant = Agent(",
            f'    name="{self.rng.choice(NOUNS)}_assistant",',
            '    instructions="Help the user.",',
        )
        src.add(
            f"    tools=[{', '.join(held)}],",
            ")",
            "",
            "def main(q: str) -> object:",
            "    return Runner.run_sync(assistant, q)",
        )
        self.write(rel, src.text(), "openai_agents")

    def mcp(self, rel: str) -> None:
        src = _Src(rel, self.truth)
        flavour = self.rng.choice(["v1", "v1", "fastmcp", "v2"])
        imp, cls = {
            "v1": ("from mcp.server.fastmcp import FastMCP", "FastMCP"),
            "fastmcp": ("from fastmcp import FastMCP", "FastMCP"),
            "v2": ("from mcp.server import MCPServer", "MCPServer"),
        }[flavour]
        self.header(src, [imp, *self.all_imports()])
        var = self.rng.choice(["mcp", "server", "app"])
        src.add(f'{var} = {cls}("{self.rng.choice(NOUNS)}-server")', "", "")
        for name in self.names(self.rng.randint(2, 5)):
            doc = f"{name.replace('_', ' ').capitalize()}."
            choice = self.rng.random()
            if choice < 0.25:
                src.tool(
                    name, self.func(src, [f'@{var}.tool(name="{name}")'], f"handle_{name}", doc)
                )
            elif choice < 0.4 and flavour != "v2":
                src.tool(name, self.func(src, [f"@{var}.tool"], name, doc))
            else:
                src.tool(name, self.func(src, [f"@{var}.tool()"], name, doc))
        src.add('if __name__ == "__main__":', f"    {var}.run()")
        self.write(rel, src.text(), f"mcp ({flavour})")

    def pydantic_ai(self, rel: str) -> None:
        src = _Src(rel, self.truth)
        self.header(src, ["from pydantic_ai import Agent, RunContext", *self.all_imports()])
        src.add(
            f'agent = Agent("openai:gpt-4o", name="{self.rng.choice(NOUNS)}-bot", '
            'system_prompt="Be helpful.")',
            "",
            "",
        )
        for name in self.names(self.rng.randint(2, 4)):
            doc = f"{name.replace('_', ' ').capitalize()}."
            if self.rng.random() < 0.5:
                src.tool(
                    name, self.func(src, ["@agent.tool"], name, doc, ctx="ctx: RunContext[None], ")
                )
            else:
                src.tool(name, self.func(src, ["@agent.tool_plain"], name, doc))
        self.write(rel, src.text(), "pydantic_ai")

    def raw_dicts(self, rel: str) -> None:
        src = _Src(rel, self.truth)
        anthropic = self.rng.random() < 0.5
        self.header(src, ["import anthropic" if anthropic else "import openai"])
        src.add(
            "client = anthropic.Anthropic()" if anthropic else "client = openai.OpenAI()",
            "",
            "TOOLS = [",
        )
        for name in self.names(self.rng.randint(1, 4)):
            doc = f"{name.replace('_', ' ').capitalize()}."
            schema = '{"type": "object", "properties": {"arg": {"type": "string"}}}'
            if anthropic:
                line = src.add(
                    "    {", f'        "name": "{name}",', f'        "description": "{doc}",'
                )
                src.add(f'        "input_schema": {schema},', "    },")
            else:
                src.add("    {", '        "type": "function",')
                line = src.add('        "function": {', f'            "name": "{name}",')
                src.add(
                    f'            "description": "{doc}",',
                    f'            "parameters": {schema},',
                    "        },",
                    "    },",
                )
            src.tool(name, line)
        src.add("]", "", "", "def ask(prompt: str) -> object:")
        if anthropic:
            src.add(
                '    return client.messages.create(model="claude-sonnet-4", max_tokens=512, '
                "tools=TOOLS,"
            )
            src.add('        messages=[{"role": "user", "content": prompt}])')
        else:
            src.add('    return client.chat.completions.create(model="gpt-4o", tools=TOOLS,')
            src.add('        messages=[{"role": "user", "content": prompt}])')
        self.write(rel, src.text(), "raw tool dicts")

    # -- everything else ---------------------------------------------------------------------

    def plain(self, rel: str) -> None:
        src = _Src(rel, self.truth)
        style = self.rng.choice(["models", "utils", "routes", "cli", "tests", "registry"])
        noun = self.rng.choice(NOUNS)
        if style == "models":
            src.add('"""Data models."""', "", "from dataclasses import dataclass", "", "")
            for n in self.names(3):
                cls = "".join(p.title() for p in n.split("_"))
                src.add(
                    "@dataclass",
                    f"class {cls}:",
                    "    id: int",
                    "    name: str",
                    "    active: bool = True",
                    "",
                    "",
                )
        elif style == "utils":
            src.add('"""Helpers."""', "", *self.all_imports(), "", "")
            for n in self.names(self.rng.randint(3, 8)):
                lines, _ = self.body()
                src.add(
                    f"def {n}(arg: str) -> str:",
                    f'    """{n}."""',
                    *("    " + b for b in lines),
                    "",
                    "",
                )
        elif style == "routes":
            src.add(
                '"""HTTP routes."""',
                "",
                "from fastapi import APIRouter",
                "",
                f'router = APIRouter(prefix="/{noun}s")',
                "",
                "",
            )
            for n in self.names(self.rng.randint(2, 5)):
                src.add(
                    f'@router.get("/{n}")',
                    f"async def {n}() -> dict[str, str]:",
                    f'    return {{"{noun}": "{n}"}}',
                    "",
                    "",
                )
        elif style == "cli":
            src.add(
                '"""Command line."""',
                "",
                "import click",
                "",
                "",
                "@click.group()",
                "def cli() -> None:",
                "    pass",
                "",
                "",
            )
            for n in self.names(3):
                src.add(
                    "@cli.command()",
                    '@click.argument("arg")',
                    f"def {n}(arg: str) -> None:",
                    "    click.echo(arg)",
                    "",
                    "",
                )
        elif style == "tests":
            src.add(
                '"""Tests."""',
                "",
                "import pytest",
                "",
                "",
                "@pytest.fixture",
                "def tool() -> str:",
                '    return "x"',
                "",
                "",
            )
            for n in self.names(3):
                src.add(f"def test_{n}(tool: str) -> None:", "    assert tool", "", "")
        else:
            src.add(
                '"""A plugin registry (not an agent framework)."""',
                "",
                "_REGISTRY: dict[str, object] = {}",
                "",
                "",
            )
            src.add(
                "def tool(name: str):",
                "    def wrap(fn):",
                "        _REGISTRY[name] = fn",
                "        return fn",
                "    return wrap",
                "",
                "",
            )
            for n in self.names(3):
                src.add(f'@tool("{n}")', f"def {n}(arg: str) -> str:", "    return arg", "", "")
        self.write(rel, src.text(), "plain")

    def settings(self, rel: str) -> None:
        src = _Src(rel, self.truth)
        src.add('"""Settings (development values)."""', "", "import os", "")
        secrets = [
            ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            ("GITHUB_TOKEN", "ghp_" + self.token(36)),
            ("OPENAI_API_KEY", "sk-proj-" + self.token(48)),
            (
                "ANTHROPIC_API_KEY",
                "sk-ant-api03-"
                + self.token(80, string.ascii_letters + string.digits + "-_")
                + "AA",
            ),
            (
                "SLACK_BOT_TOKEN",
                f"xoxb-{self.token(11, string.digits)}-"
                f"{self.token(12, string.digits)}-{self.token(24)}",
            ),
        ]
        for var, value in self.rng.sample(secrets, self.rng.randint(1, 3)):
            src.secret(src.add(f'{var} = "{value}"'))
        src.add(
            'DEBUG = os.environ.get("DEBUG") == "1"',
            'DATABASE_URL = "sqlite:///app.db"',
            "TIMEOUT_SECONDS = 30",
        )
        self.write(rel, src.text(), "settings with secrets")

    def config(self, rel_dir: str) -> None:
        kind = self.rng.choice(["mcp", "pyproject", "yaml", "readme"])
        if kind == "mcp":
            name = self.rng.choice([".mcp.json", "claude_desktop_config.json"])
            servers = {
                "filesystem": {
                    "command": "npx",
                    "args": ["-y", "@modelcontextprotocol/server-filesystem", "/srv/data"],
                },
                "remote": {"url": "http://mcp.internal.example:8080/mcp"},
            }
            self.write(
                f"{rel_dir}/{name}", json.dumps({"mcpServers": servers}, indent=2) + "\n", "config"
            )
        elif kind == "pyproject":
            text = (
                '[project]\nname = "svc"\nversion = "0.1.0"\n'
                'dependencies = ["langchain-core>=0.3", "mcp>=1.2"]\n'
            )
            self.write(f"{rel_dir}/pyproject.toml", text, "config")
        elif kind == "yaml":
            self.write(
                f"{rel_dir}/config.yaml",
                "model: gpt-4o\ntemperature: 0.2\nmax_tokens: 1024\n",
                "config",
            )
        else:
            self.write(f"{rel_dir}/README.md", "# Service\n\nRun with `python -m app`.\n", "config")


KINDS: Final = (
    ("plain", 40),
    ("langchain", 10),
    ("pair", 4),
    ("crewai", 6),
    ("openai_agents", 6),
    ("mcp", 9),
    ("pydantic_ai", 5),
    ("raw", 5),
    ("settings", 3),
    ("config", 4),
)


def generate(root: Path, files: int = 2000, seed: int = 7, per_project: int = 20) -> Truth:
    """Write ``files`` files under ``root``; return what a perfect scanner would report."""
    gen = _Gen(root, seed)
    kinds = [k for k, _ in KINDS]
    weights = [w for _, w in KINDS]
    project = 0
    while gen.written < files:
        pkg = f"services/svc_{project:03d}_{gen.rng.choice(NOUNS)}"
        gen.write(f"{pkg}/__init__.py", "", "plain")
        index = 0
        while gen.written < files and index < per_project:
            kind = gen.rng.choices(kinds, weights)[0]
            rel = f"{pkg}/mod_{index:02d}.py"
            if kind == "pair":
                if files - gen.written < 3:
                    continue
                gen.langchain_pair(pkg, index)
            elif kind == "config":
                gen.config(f"{pkg}/conf_{index:02d}")
            elif kind == "settings":
                gen.settings(f"{pkg}/settings_{index:02d}.py")
            else:
                getattr(gen, {"raw": "raw_dicts", "langchain": "langchain_single"}.get(kind, kind))(
                    rel
                )
            index += 1
        project += 1
    return gen.truth
