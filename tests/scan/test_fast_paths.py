"""The scan's shortcuts give the results of the long way: unparsed plain modules, credential
prefilters, the json writer."""

from __future__ import annotations

import fnmatch
import json
import textwrap
from pathlib import Path

import pytest
from agentsentinel_cli.credentials import find_credentials
from agentsentinel_cli.report.json_writer import dumps_indented
from agentsentinel_cli.scan import extract, files, scan
from agentsentinel_cli.scan.extract import extract_file
from agentsentinel_cli.scan.python_ast import may_define_tools

# Assembled at run time so that the source holds no credential-shaped literal.
FAKE_OPENAI = "sk-" + "proj-" + "Q7fZ2mW9xK4pL8vR3nT6yB1cD5"

FILES = {
    "pkg/__init__.py": "",
    "pkg/impl.py": """
        from langchain_core.tools import tool

        @tool
        def search_web(query: str) -> str:
            \"\"\"Search the web.\"\"\"
            return query
    """,
    # No tool or framework marker: read for errors only, resolved into on demand.
    "pkg/helpers.py": """
        \"\"\"Helpers.\"\"\"
        from pkg.impl import search_web

        FUNCS = [search_web]
    """,
    "pkg/more.py": """
        from pkg.helpers import FUNCS as BASE

        ALL = BASE + []
    """,
    "pkg/crew.py": """
        from crewai import Agent
        from pkg.more import ALL

        researcher = Agent(role="researcher", goal="g", backstory="b", tools=ALL)
    """,
    "pkg/broken.py": "def oops(:\n",
}


def _write(root: Path) -> Path:
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def test_marker_prefilter() -> None:
    assert not may_define_tools(textwrap.dedent(FILES["pkg/helpers.py"]), "pkg/helpers.py")
    assert may_define_tools(textwrap.dedent(FILES["pkg/crew.py"]), "pkg/crew.py")
    # A relative import inside a framework's package resolves to that framework.
    assert may_define_tools("from .x import y\n", "mcp/server.py")
    # Non-ASCII identifiers are NFKC-normalised by the parser: always extracted in full.
    assert may_define_tools("import \uff4cangchain\n", "a.py")
    facts = extract_file("pkg/helpers.py", textwrap.dedent(FILES["pkg/helpers.py"]).encode())
    assert facts.lazy and not facts.bindings and not facts.imports


def test_plain_modules_resolve_like_parsed_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _write(tmp_path / "src")
    fast = scan([root], cache_dir=None, jobs=1)
    warm_cache = tmp_path / "cache"
    scan([root], cache_dir=warm_cache, jobs=1)
    warm = scan([root], cache_dir=warm_cache, jobs=1)
    monkeypatch.setattr(extract, "may_define_tools", lambda text, path: True)
    full = scan([root], cache_dir=None, jobs=1)
    assert next(a.tools for a in fast.agents if a.name == "researcher") == ("search_web",)
    for report in (fast, warm):
        assert report.agents == full.agents
        assert report.tools == full.tools
        assert report.findings == full.findings
        assert report.errors == full.errors
    assert [e.target for e in fast.errors] == ["pkg/broken.py"]


@pytest.mark.parametrize(
    "text",
    [
        f'OPENAI_KEY = "{FAKE_OPENAI}"\n',
        f'url = "{"x" * 4100}"\nclient = make(api_key="{FAKE_OPENAI}")\n',
        f'pad = "{"y" * 4010}" ; api_key = "{FAKE_OPENAI}"\n',
        'db_password = "Zq8!vR2#mL5w"\n',
        "nothing = 'to see here'\n",
        "caf\u00e9 = 1\nAWS_SECRET_ACCESS_KEY = '" + "A1b2C3d4E5f6G7h8I9j0" * 2 + "'\n",
    ],
)
def test_credential_prefilters_change_nothing(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = find_credentials(text, "settings.py")
    # The long way: every pattern on every line.
    monkeypatch.setattr("agentsentinel_cli.credentials._secret_name_hint", lambda lowered: True)
    monkeypatch.setattr(
        "agentsentinel_cli.credentials._PROVIDER_PATTERNS",
        tuple(
            p._replace(hints=("",))
            for p in __import__("agentsentinel_cli.credentials").credentials._PROVIDER_PATTERNS
        ),
    )
    assert fast == find_credentials(text, "settings.py")


def test_json_writer_matches_json_dumps() -> None:
    data = {
        "a": [],
        "b": {},
        "c": [1, 2.5, float("nan"), float("inf"), True, False, None, '\u00e9\u2028\x00"'],
        "d": (1, (2,)),
        "e": {7: 2, 2.5: 3, True: 1, None: 2, "k": [{}]},
        "f": Path("/x"),
    }
    assert dumps_indented(data) == json.dumps(data, indent=2, ensure_ascii=False, default=str)


def test_shadow_names_are_the_other_tools_names() -> None:
    from agentsentinel.posture.rules.poisoning import ShadowNames, _distinctive

    names = ["send_email", "Send_Email", "list", "getUser", "getuser", "ab_", "read-file", "x.y.z"]
    shadow = ShadowNames(names)
    for own in [*names, "other_tool", ""]:
        # The long way: every other distinctive name, lower-cased, per tool.
        expected = tuple(sorted({n.lower() for n in names if n != own and _distinctive(n)}))
        assert shadow.without(own) == expected
        assert shadow.any_besides(own) == bool(expected)
    single = ShadowNames(["send_email", "send_email"])
    assert single.without("send_email") == () and not single.any_besides("send_email")
    assert single.without("x") == ("send_email",) and single.any_besides("x")
    assert not ShadowNames([]).any_besides("x")


def _matches_long_way(rel: str, is_dir: bool, patterns: list[str]) -> bool:
    last = rel.rpartition("/")[2]
    for raw in patterns:
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        dir_only = pattern.endswith("/")
        pattern = pattern.rstrip("/")
        if dir_only and not is_dir:
            continue
        if "/" not in pattern:
            if last and fnmatch.fnmatchcase(last, pattern):
                return True
            continue
        pattern = pattern.lstrip("/")
        if fnmatch.fnmatchcase(rel, pattern) or fnmatch.fnmatchcase(rel, pattern + "/**"):
            return True
    return False


def test_prepared_excludes_match_like_each_pattern() -> None:
    patterns = [
        *files.DEFAULT_EXCLUDES,
        "  vendor ",
        "#comment",
        "",
        "/",
        "*.min.js",
        "gen/",
        "/out/",
        "docs/**",
        "a/b/c.py",
        "x[12]",
        "te?t",
        "/rooted",
    ]
    prepared = files._Patterns(patterns)
    paths = [
        "vendor",
        "src/vendor",
        "app.min.js",
        "lib/app.min.js",
        "gen",
        "src/gen",
        "out",
        "src/out",
        "docs/a/b.md",
        "docs",
        "a/b/c.py",
        "a/b/c.pyc",
        "x1",
        "x3",
        "test",
        "src/text",
        "rooted",
        "src/rooted",
        "node_modules",
        "pkg/__pycache__",
        "main.py",
        "",
    ]
    for rel in paths:
        for is_dir in (False, True):
            expected = _matches_long_way(rel, is_dir, patterns)
            assert prepared.matches(rel, is_dir) == expected, (rel, is_dir)
