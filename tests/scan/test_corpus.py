"""The scan corpora: every framework form, with exact tools, agents and findings.

Two corpora, each with its ``expected.json`` of labels that follow the spec and the rule
definitions, not the engine's output: ``corpus`` (reviewed by reading its source) and
``corpus_labelled`` (written and labelled by hand before the engine was first run on it). Where
the engine is still wrong, the difference is listed in ``KNOWN_MISSES`` with its reason; the test
fails on any other difference, and also when a known miss gets fixed (remove it then).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from agentsentinel_cli.report.model import Report
from agentsentinel_cli.scan import scan

from tests.scan.corpus_fixture import (
    CORPORA,
    FAKE_GITHUB_TOKEN,
    FAKE_HF_TOKEN,
    FAKE_OPENAI_KEY,
    LABELLED,
    materialise,
)


class KnownMiss(NamedTuple):
    """A label the engine does not meet yet: ``missing`` from its output or ``extra`` in it."""

    section: str  # tools | agents | findings
    kind: str  # missing | extra
    item: dict[str, Any]
    reason: str


_CLASSIFIER_TURN_ON = (
    "shared classifier: 'turn on' is no verb in agentsentinel.posture's vocabulary, so "
    "'Turn on a light' reads as a read"
)
_CROSS_MODULE_CALLABLE = (
    "a plain function is made a tool only in the module of the agent that wraps it: FileFacts "
    "keep no undecorated functions for other modules to resolve"
)
KNOWN_MISSES: dict[str, list[KnownMiss]] = {
    "corpus": [
        KnownMiss(
            "tools",
            "missing",
            {
                "name": "turn_on_light",
                "at": "misc/others.py:31",
                "scope": "write",
                "framework": "semantic_kernel",
                "agent": "kernel",
            },
            _CLASSIFIER_TURN_ON,
        ),
        KnownMiss(
            "tools",
            "extra",
            {
                "name": "turn_on_light",
                "at": "misc/others.py:31",
                "scope": "read",
                "framework": "semantic_kernel",
                "agent": "kernel",
            },
            _CLASSIFIER_TURN_ON,
        ),
        KnownMiss(
            "findings",
            "missing",
            {"rule_id": "UNDESCRIBED_WRITE_AGENT", "at": "misc/others.py:35", "agent": "kernel"},
            _CLASSIFIER_TURN_ON + " (the kernel then has no write tool)",
        ),
    ],
    "corpus_labelled": [
        KnownMiss(
            "tools",
            "missing",
            {
                "name": "get_tide",
                "at": "weather_helpers.py:4",
                "scope": "read",
                "framework": "langgraph",
                "agent": "sailor",
            },
            _CROSS_MODULE_CALLABLE,
        ),
        KnownMiss(
            "agents",
            "missing",
            {"name": "sailor", "kind": "langgraph", "tools": ["get_tide"]},
            _CROSS_MODULE_CALLABLE,
        ),
        KnownMiss(
            "agents",
            "extra",
            {"name": "sailor", "kind": "langgraph", "tools": []},
            _CROSS_MODULE_CALLABLE,
        ),
    ],
}


def observed(report: Report) -> dict[str, list[dict[str, Any]]]:
    """The report in the shape of ``expected.json``."""
    return {
        "tools": [
            {
                "name": t.name,
                "at": f"{t.location.path}:{t.location.line}",
                "scope": t.scope,
                "framework": t.framework,
                "agent": t.agent,
            }
            for t in report.tools
        ],
        "agents": [
            {"name": a.name, "kind": a.kind, "tools": sorted(a.tools)} for a in report.agents
        ],
        "findings": [
            {"rule_id": f.rule_id, "at": f"{f.location.path}:{f.location.line}", "agent": f.agent}
            for f in report.findings
            if f.location is not None
        ],
    }


def _key(item: dict[str, Any]) -> str:
    return json.dumps(item, sort_keys=True)


def differences(
    expected: list[dict[str, Any]], got: list[dict[str, Any]]
) -> tuple[list[str], list[str]]:
    """(missing, extra) items, as sorted JSON keys; duplicates count."""
    want = sorted(_key(i) for i in expected)
    have = sorted(_key(i) for i in got)
    missing, extra = list(want), []
    for item in have:
        if item in missing:
            missing.remove(item)
        else:
            extra.append(item)
    return missing, extra


def _expected(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CORPORA[name] / "expected.json").read_text())
    return data


@pytest.fixture(scope="module", params=sorted(CORPORA))
def corpus_report(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Report]:
    name: str = request.param
    base = tmp_path_factory.mktemp(name)
    return name, scan([materialise(base, CORPORA[name])], cache_dir=base / "cache")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    base = tmp_path_factory.mktemp("scan")
    return scan([materialise(base)], cache_dir=base / "cache")


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> Report:
    base = tmp_path_factory.mktemp("labelled")
    return scan([materialise(base, LABELLED)], cache_dir=base / "cache")


@pytest.mark.parametrize("section", ["tools", "agents", "findings"])
def test_exact_but_for_known_misses(corpus_report: tuple[str, Report], section: str) -> None:
    name, report = corpus_report
    missing, extra = differences(_expected(name)[section], observed(report)[section])
    known = [m for m in KNOWN_MISSES[name] if m.section == section]
    assert missing == sorted(_key(m.item) for m in known if m.kind == "missing")
    assert extra == sorted(_key(m.item) for m in known if m.kind == "extra")
    assert report.errors == ()


def test_known_misses_are_labelled_cases() -> None:
    for name, misses in KNOWN_MISSES.items():
        expected = _expected(name)
        for miss in misses:
            assert miss.reason
            if miss.kind == "missing":
                assert miss.item in expected[miss.section], miss


def test_labels_are_consistent() -> None:
    for name in CORPORA:
        expected = _expected(name)
        held: dict[str, set[str]] = {}
        for agent in expected["agents"]:
            for tool in agent["tools"]:
                held.setdefault(tool, set()).add(agent["name"])
        listed: dict[str, set[str]] = {}
        for tool in expected["tools"]:
            assert tool["scope"] in ("read", "write", "admin")
            holders = set(tool["agent"].split(", ")) if tool["agent"] else set()
            assert holders <= held.get(tool["name"], set()), (name, tool)
            listed.setdefault(tool["name"], set()).update(holders)
        assert listed == held, name
        agents = {a["name"] for a in expected["agents"]}
        assert {f["agent"] for f in expected["findings"]} - {None} <= agents, name


def test_cross_module_aliases_and_lists(report: Report) -> None:
    agent = next(a for a in report.agents if a.name == "agent")
    # TOOLS (from .tools, built with `@t` and `@lt.tool("shell")`) + [FileWriterTool()].
    assert agent.tools == ("web_search", "shell", "write_file")
    assert agent.location.path == "langchain_app/agent.py"


def test_scary_substrings_are_not_dangerous(report: Report) -> None:
    benign = [t for t in report.tools if t.location.path == "benign/report.py"]
    assert {t.name for t in benign} == {
        "executive_summary",
        "retrieval_search",
        "get_skills",
        "format_currency",
    }
    assert not any(t.dangerous for t in benign)
    assert not [f for f in report.findings if f.location and f.location.path == "benign/report.py"]


def test_no_credential_in_clear(report: Report) -> None:
    dumped = json.dumps(report.to_dict())
    for secret in (FAKE_GITHUB_TOKEN, FAKE_OPENAI_KEY, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"):
        assert secret not in dumped
        assert secret[6:-6] not in dumped
    kinds = {f.evidence["kind"] for f in report.findings if f.rule_id == "HARDCODED_CREDENTIALS"}
    assert kinds == {"aws_access_key_id", "aws_secret_access_key", "github_token", "openai_api_key"}


def test_no_secret_in_cache(tmp_path: Path) -> None:
    root = materialise(tmp_path)
    scan([root], cache_dir=tmp_path / "cache")
    cached = "".join(p.read_text() for p in (tmp_path / "cache").rglob("*.json"))
    assert cached
    assert FAKE_GITHUB_TOKEN not in cached and FAKE_OPENAI_KEY not in cached


def test_cache_and_jobs_do_not_change_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agentsentinel_cli.scan.engine as engine

    root = materialise(tmp_path)
    serial = scan([root], cache_dir=tmp_path / "c1", jobs=1)
    monkeypatch.setattr(engine, "PARALLEL_MIN_FILES", 2)
    monkeypatch.setattr(engine, "PARALLEL_MIN_BYTES", 0)
    parallel = scan([root], cache_dir=tmp_path / "c2", jobs=2)
    warm = scan([root], cache_dir=tmp_path / "c2", jobs=2)
    assert parallel.stats["jobs"] == 2
    assert warm.stats["cache_hits"] == warm.stats["files_scanned"] > 0
    assert parallel.stats["cache_hits"] == 0

    def strip(r: Report) -> dict[str, object]:
        d = r.to_dict()
        d.pop("stats")
        return d

    assert strip(serial) == strip(parallel) == strip(warm)


def test_labelled_near_misses_are_not_tools(labelled: Report) -> None:
    # A decorator named `tool` from an unrelated library, a local function named `tool`, dicts
    # with a `name` but no schema: no tool, no agent, no finding.
    near = [t for t in labelled.tools if t.location.path.startswith("near_misses/")]
    assert near == []
    assert not [a for a in labelled.agents if a.location.path.startswith("near_misses/")]
    assert not [t for t in labelled.tools if t.name in ("Ada", "wipe", "reset", "tool")]


def test_labelled_lookalikes_are_harmless(labelled: Report) -> None:
    lookalikes = [t for t in labelled.tools if t.location.path == "benign/lookalikes.py"]
    assert len(lookalikes) == 10
    assert all(t.scope == "read" and not t.dangerous for t in lookalikes)
    assert not [f for f in labelled.findings if f.agent == "analyst"]
    assert not [
        f for f in labelled.findings if f.location and f.location.path == "benign/lookalikes.py"
    ]


def test_labelled_innocent_names_are_dangerous(labelled: Report) -> None:
    by_name = {t.name: t for t in labelled.tools}
    for name in ("purge_rows", "rm", "bash", "transfer_funds", "grant_role", "dispatch_message"):
        assert by_name[name].dangerous, name
        assert by_name[name].evidence, name  # proven by a sink in the body
    assert by_name["apply_migration"].dangerous  # proven by its description
    assert by_name["grant_role"].capabilities == ("privilege_admin",)
    assert by_name["transfer_funds"].capabilities == ("financial",)


def test_labelled_plain_callables_become_tools(labelled: Report) -> None:
    by_name = {t.name: t for t in labelled.tools}
    assert by_name["get_weather"].agent == "forecaster"  # through WEATHER_TOOLS
    assert by_name["post_update"].evidence == ("sink:httpx.AsyncClient.post",)
    assert "_unused_helper" not in by_name


def test_labelled_secrets_masked(labelled: Report) -> None:
    dumped = json.dumps(labelled.to_dict())
    for secret in (FAKE_GITHUB_TOKEN, FAKE_OPENAI_KEY, FAKE_HF_TOKEN, "Zq7Xv2Lp9Rt4Wm8Kc3Nb"):
        assert secret not in dumped
        assert secret[6:-6] not in dumped
    kinds = sorted(
        f.evidence["kind"] for f in labelled.findings if f.rule_id == "HARDCODED_CREDENTIALS"
    )
    assert "aws_access_key_id" in kinds and "github_token" in kinds
    assert "huggingface_token" in kinds and "openai_api_key" in kinds
    assert len(kinds) == 6
