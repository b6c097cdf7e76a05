"""Name resolution, file handling and error paths of the scan engine."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from agentsentinel_cli.scan import scan
from agentsentinel_cli.scan.python_ast import extract_python

from agentsentinel.posture import ToolOverride


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def run(tmp_path: Path, files: dict[str, str], **kwargs: object):  # type: ignore[no-untyped-def]
    root = write(tmp_path / "src", files)
    return scan([root], cache_dir=tmp_path / "cache", **kwargs)  # type: ignore[arg-type]


def agent_tools(report, name: str) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    return next(a.tools for a in report.agents if a.name == name)


def test_module_import_alias_and_attribute_reference(tmp_path: Path) -> None:
    report = run(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/tools.py": """
                from langchain_core.tools import tool

                @tool
                def fetch_page(url: str) -> str:
                    \"\"\"Fetch a web page.\"\"\"
                    return ""
            """,
            "app/main.py": """
                import app.tools as t
                from langchain.agents import initialize_agent

                runner = initialize_agent([t.fetch_page], llm=None)
            """,
        },
    )
    assert agent_tools(report, "runner") == ("fetch_page",)
    assert not any(a.details.get("implicit") for a in report.agents)


def test_append_extend_and_function_local_lists(tmp_path: Path) -> None:
    report = run(
        tmp_path,
        {
            "a.py": """
                from langchain_core.tools import tool
                from langgraph.prebuilt import create_react_agent

                @tool
                def one(x: str) -> str:
                    \"\"\"One.\"\"\"

                @tool
                def two(x: str) -> str:
                    \"\"\"Two.\"\"\"

                TOOLS = [one]
                TOOLS.append(two)

                def build():
                    local = [*TOOLS]
                    return create_react_agent(None, tools=local, name="built")
            """,
        },
    )
    assert agent_tools(report, "built") == ("one", "two")


def test_unimported_decorator_is_not_a_tool(tmp_path: Path) -> None:
    facts = extract_python("@tool\ndef delete_all():\n    pass\n", "x.py")
    assert facts.tools == []


def test_agent_executor_merges_the_wrapped_runnable(tmp_path: Path) -> None:
    report = run(
        tmp_path,
        {
            "a.py": """
                from langchain.agents import AgentExecutor, create_tool_calling_agent
                from langchain_core.tools import tool

                @tool
                def lookup(q: str) -> str:
                    \"\"\"Look up a record.\"\"\"

                runnable = create_tool_calling_agent(None, [lookup], None)
                executor = AgentExecutor(agent=runnable, tools=[lookup])
            """,
        },
    )
    assert [a.name for a in report.agents] == ["executor"]
    assert agent_tools(report, "executor") == ("lookup",)


def test_sinks_through_imports_aliases_and_helpers(tmp_path: Path) -> None:
    facts = extract_python(
        textwrap.dedent(
            """
            import subprocess as sp
            from pathlib import Path

            import httpx
            from langchain_core.tools import tool

            def _helper(cmd):
                return sp.check_output(cmd)

            @tool
            def do_things(cmd: str, path: str) -> str:
                \"\"\"Do things.\"\"\"
                with httpx.Client() as client:
                    client.post("https://x", json={})
                Path(path).write_text("x")
                open(path, "rb")
                return _helper(cmd)
            """
        ),
        "t.py",
    )
    assert facts.tools[0].sinks == [
        "httpx.Client.post",
        "open:rb",
        "pathlib.Path.write_text",
        "subprocess.check_output",
    ]


def test_overrides_are_applied(tmp_path: Path) -> None:
    files = {
        "a.py": """
            from langchain_core.tools import tool

            @tool
            def helper(x: str) -> str:
                \"\"\"Help.\"\"\"
        """,
    }
    report = run(tmp_path, files, overrides={"helper": ToolOverride(is_dangerous=True)})
    assert report.tools[0].dangerous
    assert [f.rule_id for f in report.findings] == ["DANGEROUS_GRANTS"]


def test_syntax_error_is_reported_and_scan_goes_on(tmp_path: Path) -> None:
    report = run(tmp_path, {"bad.py": "def (:\n", "ok.py": "X = 1\n"})
    assert [e.target for e in report.errors] == ["bad.py"]
    assert "syntax error" in report.errors[0].message
    assert report.stats["files_scanned"] == 2


def test_invalid_mcp_config_is_an_error(tmp_path: Path) -> None:
    report = run(tmp_path, {".mcp.json": "{not json"})
    assert [e.target for e in report.errors] == [".mcp.json"]


def test_missing_path_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        scan([tmp_path / "nope"], cache_dir=tmp_path / "cache")


def test_excludes_binaries_and_large_files(tmp_path: Path) -> None:
    root = write(
        tmp_path / "src",
        {
            "keep.py": "X = 1\n",
            "vendor/skip.py": "X = 1\n",
            "node_modules/pkg/index.js": "x\n",
            "gen/out.py": "X = 1\n",
        },
    )
    (root / "blob.bin").write_bytes(b"\x00\x01" * 10)
    (root / "big.txt").write_text("a" * (1024 * 1024 + 1))
    report = scan([root], exclude=["vendor", "/gen/"], cache_dir=tmp_path / "cache")
    assert report.stats["files_scanned"] == 1
    assert report.stats["files_skipped"] == 2


def test_credentials_in_any_text_file_with_line(tmp_path: Path) -> None:
    key = "AKIA" + "IOSFODNN7EXAMPLE"
    report = run(tmp_path, {"deploy/config.yaml": f"aws:\n  access_key_id: {key}\n"})
    (finding,) = report.findings
    assert finding.rule_id == "HARDCODED_CREDENTIALS"
    assert str(finding.location) == "deploy/config.yaml:2"
    assert key not in str(report.to_dict())
