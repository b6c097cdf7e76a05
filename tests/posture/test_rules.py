"""Posture rules: each rule fires on its condition and stays quiet on a near-miss twin."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agentsentinel.posture import (
    ToolCapability,
    ToolOverride,
    classify_tool,
    path_parameters,
)
from agentsentinel.posture.rules import (
    RULES,
    RULES_BY_ID,
    TAG_TITLES,
    AgentPosture,
    CredentialHit,
    McpServerPosture,
    PostureSource,
    RuleConfig,
    RuleFinding,
    Severity,
    SourceLocation,
    ToolPosture,
    UngrantedUse,
    evaluate,
    get_rule,
    is_loopback_host,
    parse_endpoint,
    read_only_intent,
    rule_catalog,
)
from tests.posture.corpus import BENIGN_GROUPS, CORPUS

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
SERVER = PostureSource.server
CODE = PostureSource.code


def _schema(*params: str) -> dict[str, Any]:
    return {"type": "object", "properties": {p: {"type": "string"} for p in params}}


def tool(name: str, *params: str, description: str | None = None, **facts: Any) -> ToolPosture:
    schema = _schema(*params) if params else None
    return ToolPosture.classify(name, description, schema, **facts)


def agent(*tools: ToolPosture, **kwargs: Any) -> AgentPosture:
    kwargs.setdefault("name", "agent-1")
    kwargs.setdefault("description", "Helps the support team.")
    return AgentPosture(tools=tools, **kwargs)


def found(
    posture: AgentPosture, rule_id: str, config: RuleConfig | None = None
) -> list[RuleFinding]:
    findings = evaluate(posture, config or RuleConfig())
    return [f for f in findings if f.rule_id == rule_id]


def one(posture: AgentPosture, rule_id: str, config: RuleConfig | None = None) -> RuleFinding:
    hits = found(posture, rule_id, config)
    assert len(hits) == 1, hits
    return hits[0]


CUSTOMER = tool("get_customer")
WEB = tool("fetch_url", "url")
EMAIL = tool("send_email", "to", "subject", "body")
TICKET = tool("create_ticket", "title", "body")
WEATHER = tool("get_weather", "city")
DOCS = tool("search_docs", "query")
PYTHON = tool("run_python", "code")
API_KEY = tool("get_api_key")
ROLE = tool("grant_role", "user", "role")
DEPLOY = tool("deploy_service")


# --- Capability combinations --------------------------------------------------------------------


def test_lethal_trifecta_fires_and_subsumes_the_exfiltration_path() -> None:
    finding = one(agent(EMAIL, CUSTOMER, WEB), "LETHAL_TRIFECTA")
    assert finding.severity is Severity.CRITICAL
    assert finding.key == "fetch_url,get_customer,send_email"
    assert [t["tool"] for t in finding.evidence["private_data"]] == ["get_customer"]
    assert finding.evidence["untrusted_content"][0]["capabilities"] == ["reads_untrusted_content"]
    assert finding.evidence["external_communication"][0]["tool"] == "send_email"
    assert {"ASI01", "MCP06"} <= set(finding.tags)
    assert found(agent(EMAIL, CUSTOMER, WEB), "EXFILTRATION_PATH") == []


def test_lethal_trifecta_in_one_tool_and_near_miss_without_external_channel() -> None:
    inbox = tool("read_email")  # private and untrusted at once
    assert one(agent(inbox, EMAIL), "LETHAL_TRIFECTA").key == "read_email,send_email"
    assert found(agent(CUSTOMER, WEB, TICKET), "LETHAL_TRIFECTA") == []


def test_exfiltration_path_fires_without_untrusted_content() -> None:
    finding = one(agent(CUSTOMER, EMAIL), "EXFILTRATION_PATH")
    assert finding.severity is Severity.CRITICAL
    assert finding.key == "get_customer,send_email"
    assert finding.evidence["sources"][0] == {
        "tool": "get_customer",
        "scope": "read",
        "capabilities": ["reads_private_data"],
    }
    assert finding.evidence["sinks"][0]["capabilities"] == ["writes_external"]


def test_exfiltration_path_near_miss_public_data_only() -> None:
    assert found(agent(WEATHER, EMAIL), "EXFILTRATION_PATH") == []


def test_prompt_injection_vector_fires_on_untrusted_read_plus_any_write() -> None:
    finding = one(agent(WEB, TICKET), "PROMPT_INJECTION_VECTOR")
    assert finding.severity is Severity.HIGH
    assert finding.key == "create_ticket,fetch_url"
    assert finding.evidence["actions"][0]["capabilities"] == ["writes_internal"]
    assert found(agent(WEB, DOCS), "PROMPT_INJECTION_VECTOR") == []


def test_lateral_movement_path_fires_on_identity_plus_runtime() -> None:
    finding = one(agent(ROLE, DEPLOY), "LATERAL_MOVEMENT_PATH")
    assert finding.severity is Severity.HIGH
    assert finding.key == "deploy_service,grant_role"
    assert finding.evidence["identity"][0]["capabilities"] == ["privilege_admin"]
    assert finding.evidence["runtime"][0]["capabilities"] == ["infrastructure"]
    assert one(agent(API_KEY, PYTHON), "LATERAL_MOVEMENT_PATH").key == "get_api_key,run_python"
    assert found(agent(ROLE, CUSTOMER), "LATERAL_MOVEMENT_PATH") == []


# --- Per-tool grants ----------------------------------------------------------------------------


def test_code_execution_grant_fires_per_tool_not_on_lookalikes() -> None:
    finding = one(agent(PYTHON, DOCS), "CODE_EXECUTION_GRANT")
    assert (finding.severity, finding.key) == (Severity.CRITICAL, "run_python")
    assert finding.evidence["capabilities"] == ["code_execution"]
    lookalikes = agent(tool("executive_summary"), tool("evaluate_sentiment", "text"))
    assert found(lookalikes, "CODE_EXECUTION_GRANT") == []


def test_secrets_access_grant_fires_not_on_a_tool_that_receives_a_password() -> None:
    finding = one(agent(API_KEY), "SECRETS_ACCESS_GRANT")
    assert (finding.severity, finding.key) == (Severity.HIGH, "get_api_key")
    checker = tool("check_password_strength", "password")
    assert found(agent(checker), "SECRETS_ACCESS_GRANT") == []


def test_unbounded_file_access_fires_on_free_path_writes() -> None:
    finding = one(agent(tool("write_file", "path", "content")), "UNBOUNDED_FILE_ACCESS")
    assert (finding.severity, finding.key) == (Severity.HIGH, "write_file")
    assert finding.evidence["path_parameters"] == ["path"]
    assert finding.evidence["capabilities"] == ["writes_internal"]
    delete = one(agent(tool("file_delete", "file_path")), "UNBOUNDED_FILE_ACCESS")
    assert delete.evidence["path_parameters"] == ["file_path"]


def test_unbounded_file_access_near_misses() -> None:
    confined = tool(
        "write_file",
        "path",
        "content",
        description="Write a file. Only works within allowed directories.",
    )
    enum_schema = {
        "type": "object",
        "properties": {"path": {"type": "string", "enum": ["out/report.txt"]}, "content": {}},
    }
    fixed = ToolPosture.classify("write_file", None, enum_schema)
    listing = tool("list_files", "path")  # reads only
    no_path = tool("save_report", "content")
    for quiet in (confined, fixed, listing, no_path):
        assert found(agent(quiet), "UNBOUNDED_FILE_ACCESS") == [], quiet.name


def test_dangerous_grants_on_code_only_and_not_for_code_execution() -> None:
    finding = one(agent(EMAIL, source=CODE), "DANGEROUS_GRANTS")
    assert (finding.severity, finding.key) == (Severity.HIGH, "send_email")
    assert finding.evidence["dangerous_capabilities"] == ["writes_external"]
    assert found(agent(PYTHON, source=CODE), "DANGEROUS_GRANTS") == []
    assert found(agent(EMAIL, source=SERVER), "DANGEROUS_GRANTS") == []
    marked = ToolPosture.classify("notes_tool", override=ToolOverride(is_dangerous=True))
    override = one(agent(marked, source=CODE), "DANGEROUS_GRANTS")
    assert override.evidence["dangerous_capabilities"] == []


def test_missing_rate_limit_on_dangerous_grants_only() -> None:
    finding = one(agent(EMAIL), "MISSING_RATE_LIMIT")
    assert (finding.severity, finding.key) == (Severity.LOW, "send_email")
    limited = replace(EMAIL, rate_limit_per_hour=20)
    assert found(agent(limited), "MISSING_RATE_LIMIT") == []
    assert found(agent(TICKET), "MISSING_RATE_LIMIT") == []
    assert found(agent(EMAIL, source=CODE), "MISSING_RATE_LIMIT") == []


# --- Usage-based rules --------------------------------------------------------------------------


def test_unused_dangerous_grant_after_the_grace_period() -> None:
    old = replace(EMAIL, granted_at=NOW - timedelta(days=20))
    finding = one(agent(old, now=NOW), "UNUSED_DANGEROUS_GRANT")
    assert (finding.severity, finding.key) == (Severity.HIGH, "send_email")
    assert finding.evidence["last_called_at"] is None
    assert finding.evidence["granted_at"] == "2025-05-12T12:00:00+00:00"
    idle = replace(old, last_called_at=NOW - timedelta(days=40))
    assert one(agent(idle, now=NOW), "UNUSED_DANGEROUS_GRANT").key == "send_email"


@pytest.mark.parametrize(
    ("granted_days", "called_days", "has_now"),
    [
        (3, None, True),  # a new grant is not unused: grace period
        (20, 5, True),  # used recently
        (20, None, False),  # no clock: cannot tell
    ],
)
def test_unused_dangerous_grant_near_misses(
    granted_days: int, called_days: int | None, has_now: bool
) -> None:
    grant = replace(
        EMAIL,
        granted_at=NOW - timedelta(days=granted_days),
        last_called_at=None if called_days is None else NOW - timedelta(days=called_days),
    )
    posture = agent(grant, now=NOW if has_now else None)
    assert found(posture, "UNUSED_DANGEROUS_GRANT") == []


def test_unused_grant_needs_a_dangerous_tool_and_a_known_grant_time() -> None:
    old_ticket = replace(TICKET, granted_at=NOW - timedelta(days=90))
    assert found(agent(old_ticket, now=NOW), "UNUSED_DANGEROUS_GRANT") == []
    assert found(agent(EMAIL, now=NOW), "UNUSED_DANGEROUS_GRANT") == []  # granted_at unknown


def test_unused_grant_grace_is_configurable_and_naive_datetimes_are_utc() -> None:
    grant = replace(EMAIL, granted_at=(NOW - timedelta(days=3)).replace(tzinfo=None))
    config = RuleConfig(unused_grant_grace=timedelta(days=2))
    assert one(agent(grant, now=NOW), "UNUSED_DANGEROUS_GRANT", config).key == "send_email"


def test_credential_scope_mismatch_on_idle_admin_grants() -> None:
    assert ROLE.classification.scope.value == "admin"
    idle = replace(ROLE, granted_at=NOW - timedelta(days=10))
    finding = one(agent(idle, now=NOW), "CREDENTIAL_SCOPE_MISMATCH")
    assert (finding.severity, finding.key) == (Severity.MEDIUM, "grant_role")
    assert finding.evidence["scope"] == "admin"
    used = replace(idle, last_called_at=NOW - timedelta(days=1))
    fresh = replace(ROLE, granted_at=NOW - timedelta(days=2))
    writer = replace(EMAIL, granted_at=NOW - timedelta(days=30))
    for quiet in (used, fresh, writer):
        assert found(agent(quiet, now=NOW), "CREDENTIAL_SCOPE_MISMATCH") == []


def test_tool_definition_changed_keys_on_the_new_hash() -> None:
    changed = replace(EMAIL, definition_hash="bbb", pinned_definition_hash="aaa")
    finding = one(agent(changed), "TOOL_DEFINITION_CHANGED")
    assert (finding.severity, finding.key) == (Severity.HIGH, "send_email@bbb")
    assert finding.evidence["pinned_hash"] == "aaa"
    assert finding.evidence["current_hash"] == "bbb"
    same = replace(EMAIL, definition_hash="aaa", pinned_definition_hash="aaa")
    unpinned = replace(EMAIL, definition_hash="bbb")
    assert found(agent(same, unpinned), "TOOL_DEFINITION_CHANGED") == []


def test_ungranted_tool_use() -> None:
    use = UngrantedUse("delete_user", 3, NOW - timedelta(hours=2), NOW)
    finding = one(agent(TICKET, ungranted_uses=(use,)), "UNGRANTED_TOOL_USE")
    assert (finding.severity, finding.key) == (Severity.HIGH, "delete_user")
    assert finding.evidence["count"] == 3
    assert finding.evidence["last_seen"] == NOW.isoformat()
    granted_since = UngrantedUse("create_ticket", 2, NOW, NOW)
    assert found(agent(TICKET, ungranted_uses=(granted_since,)), "UNGRANTED_TOOL_USE") == []
    assert found(agent(ungranted_uses=(use,), source=CODE), "UNGRANTED_TOOL_USE") == []


# --- Agent-level hygiene ------------------------------------------------------------------------


def test_privilege_excess_on_read_only_description() -> None:
    posture = agent(TICKET, DOCS, description="Read-only assistant for HR policy questions.")
    finding = one(posture, "PRIVILEGE_EXCESS")
    assert (finding.severity, finding.key) == (Severity.HIGH, "create_ticket")
    assert finding.evidence["read_only_words"] == ["readonly"]
    assert finding.evidence["scope"] == "write"
    implicit = agent(TICKET, description="Searches the docs and answers questions.")
    assert one(implicit, "PRIVILEGE_EXCESS").evidence["read_only_words"] == [
        "search",
        "answer questions",
    ]


@pytest.mark.parametrize(
    "description",
    [
        "Keeps the release thread tidy once a build is already green.",  # no "read" in words
        "Searches the docs and updates the wiki.",  # acts as well as reads
        "Manages deployments and lists pods.",  # broad responsibility
        "",
        None,
    ],
)
def test_privilege_excess_near_misses(description: str | None) -> None:
    assert found(agent(TICKET, description=description), "PRIVILEGE_EXCESS") == []


def test_read_only_intent_matches_words_not_substrings() -> None:
    assert read_only_intent("Read only access to the wiki.") == ("readonly",)
    assert read_only_intent("View only dashboard helper.") == ("view only",)
    assert read_only_intent("It was already in the thread.") == ()
    assert read_only_intent("Looks up orders for customers.") == ("lookup",)
    assert read_only_intent("Searches the web and emails a summary to the team.") == ()
    assert read_only_intent("Answers questions; never modifies records.") == ("answer questions",)


def test_privilege_excess_ignores_read_tools() -> None:
    posture = agent(DOCS, CUSTOMER, description="Read-only research helper.")
    assert found(posture, "PRIVILEGE_EXCESS") == []


def test_undescribed_write_agent_on_code() -> None:
    finding = one(agent(TICKET, description=None, source=CODE), "UNDESCRIBED_WRITE_AGENT")
    assert (finding.severity, finding.key) == (Severity.MEDIUM, "")
    assert finding.evidence["write_tools"][0]["tool"] == "create_ticket"
    assert found(agent(TICKET, description="   ", source=CODE), "UNDESCRIBED_WRITE_AGENT")
    described = agent(TICKET, description="Files support tickets.", source=CODE)
    read_only = agent(DOCS, description=None, source=CODE)
    for quiet in (described, read_only):
        assert found(quiet, "UNDESCRIBED_WRITE_AGENT") == []


def _harmless(count: int) -> tuple[ToolPosture, ...]:
    return tuple(tool(f"get_weather_{i}") for i in range(count))


def test_tool_sprawl_by_count() -> None:
    finding = one(agent(*_harmless(16)), "TOOL_SPRAWL")
    assert (finding.severity, finding.key) == (Severity.MEDIUM, "")
    assert finding.evidence["tool_count"] == 16
    assert found(agent(*_harmless(15)), "TOOL_SPRAWL") == []


def test_tool_sprawl_by_breadth() -> None:
    broad = (CUSTOMER, WEB, EMAIL, TICKET, PYTHON)  # five distinct capabilities
    finding = one(agent(*broad, *_harmless(6)), "TOOL_SPRAWL")
    assert finding.evidence["capabilities"] == [
        "code_execution",
        "reads_private_data",
        "reads_untrusted_content",
        "writes_external",
        "writes_internal",
    ]
    assert found(agent(*broad, *_harmless(5)), "TOOL_SPRAWL") == []  # 10 tools: not more than 10
    assert found(agent(CUSTOMER, *_harmless(10)), "TOOL_SPRAWL") == []  # 11 tools, 1 capability
    strict = RuleConfig(tool_sprawl_limit=3)
    assert one(agent(*_harmless(4)), "TOOL_SPRAWL", strict).evidence["limit"] == 3


# --- MCP connections ----------------------------------------------------------------------------


def _mcp(name: str, url: str, auth: str | None = "bearer", **kw: Any) -> McpServerPosture:
    return McpServerPosture(name=name, url=url, auth=auth, **kw)


@pytest.mark.parametrize(
    ("url", "auth", "reasons"),
    [
        ("http://mcp.example.com/mcp", "bearer", ["plaintext_transport"]),
        ("https://localhost.evil.com/mcp", "none", ["no_authentication"]),
        ("http://127.0.0.1.nip.io/mcp", "none", ["plaintext_transport", "no_authentication"]),
        (
            "https://mcp.example.com/sse?api_key=abc123",
            "none",
            ["no_authentication", "credentials_in_url"],
        ),
        ("https://user:s3cret@mcp.example.com/mcp", "bearer", ["credentials_in_url"]),
        ("http://10.0.0.5:8080/mcp", None, ["plaintext_transport"]),
    ],
)
def test_insecure_mcp_connection(url: str, auth: str | None, reasons: list[str]) -> None:
    posture = agent(mcp_servers=(_mcp("remote", url, auth),))
    finding = one(posture, "INSECURE_MCP_CONNECTION")
    assert (finding.severity, finding.key) == (Severity.HIGH, "remote")
    assert finding.evidence["reasons"] == reasons
    assert finding.evidence["loopback"] is False
    assert "s3cret" not in json.dumps(finding.to_dict())
    assert "abc123" not in json.dumps(finding.to_dict())


@pytest.mark.parametrize(
    ("url", "auth"),
    [
        ("http://localhost:3000/mcp", "none"),
        ("http://127.0.0.1:3000/mcp", "none"),
        ("http://[::1]:8080/mcp", "none"),
        ("http://[::ffff:127.0.0.1]/mcp", "none"),
        ("stdio:npx -y @modelcontextprotocol/server-filesystem /tmp", "none"),
        ("https://mcp.example.com/mcp", "oauth"),
        ("https://mcp.example.com/mcp", None),  # auth unknown: not reported as missing
    ],
)
def test_insecure_mcp_connection_near_misses(url: str, auth: str | None) -> None:
    posture = agent(mcp_servers=(_mcp("srv", url, auth),))
    assert found(posture, "INSECURE_MCP_CONNECTION") == []


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST.", True),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("localhost.evil.com", False),
        ("evil-localhost", False),
        ("127.0.0.1.nip.io", False),
        ("app.localhost", False),
        ("0.0.0.0", False),
        ("10.0.0.1", False),
        ("::ffff:10.0.0.1", False),
    ],
)
def test_is_loopback_host(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_parse_endpoint_redacts_credentials() -> None:
    endpoint = parse_endpoint("https://bob:tok@Example.COM:8443/mcp?token=xyz&x=1")
    assert endpoint.host == "example.com"
    assert endpoint.port == 8443
    assert endpoint.credentials_in_url
    assert endpoint.redacted_url == "https://example.com:8443/mcp"
    assert not parse_endpoint("http://host:99999/").valid


def test_mcp_over_connection() -> None:
    servers = tuple(_mcp(f"s{i}", f"stdio:server-{i}") for i in range(4))
    finding = one(agent(mcp_servers=servers), "MCP_OVER_CONNECTION")
    assert (finding.severity, finding.key) == (Severity.MEDIUM, "")
    assert finding.evidence["servers"] == ["s0", "s1", "s2", "s3"]
    assert found(agent(mcp_servers=servers[:3]), "MCP_OVER_CONNECTION") == []


def test_mcp_server_tools_are_within_reach() -> None:
    server = _mcp("mail", "stdio:mail-server", tools=(EMAIL,))
    posture = agent(CUSTOMER, mcp_servers=(server,))
    assert [t.key for t in posture.reachable_tools()] == ["get_customer", "mail/send_email"]
    finding = one(posture, "EXFILTRATION_PATH")
    assert finding.key == "get_customer,mail/send_email"
    assert finding.evidence["sinks"][0]["mcp_server"] == "mail"
    # A granted tool is not counted twice when its server also lists it.
    granted = agent(CUSTOMER, EMAIL, mcp_servers=(server,))
    assert [t.key for t in granted.reachable_tools()] == ["get_customer", "send_email"]


# --- Code facts ---------------------------------------------------------------------------------


def test_hardcoded_credentials_keys_survive_line_moves() -> None:
    hit = CredentialHit("agent/app.py", 12, "openai_api_key", "sk-p…9xQ2", value_hash="h1")
    finding = one(agent(credential_hits=(hit,), source=CODE), "HARDCODED_CREDENTIALS")
    assert finding.severity is Severity.CRITICAL
    assert finding.key == "agent/app.py|openai_api_key|h1"
    assert finding.location == SourceLocation("agent/app.py", 12)
    assert finding.evidence == {
        "file": "agent/app.py",
        "line": 12,
        "kind": "openai_api_key",
        "masked": "sk-p…9xQ2",
    }
    moved = replace(hit, line=40)
    assert one(agent(credential_hits=(moved, hit), source=CODE), "HARDCODED_CREDENTIALS").key == (
        finding.key
    )
    assert found(agent(credential_hits=(hit,), source=SERVER), "HARDCODED_CREDENTIALS") == []
    assert found(agent(source=CODE), "HARDCODED_CREDENTIALS") == []


# --- Registry -----------------------------------------------------------------------------------

SPEC_RULES = {
    "EXFILTRATION_PATH",
    "CODE_EXECUTION_GRANT",
    "SECRETS_ACCESS_GRANT",
    "PROMPT_INJECTION_VECTOR",
    "LATERAL_MOVEMENT_PATH",
    "UNBOUNDED_FILE_ACCESS",
    "INSECURE_MCP_CONNECTION",
    "PRIVILEGE_EXCESS",
    "UNUSED_DANGEROUS_GRANT",
    "TOOL_SPRAWL",
    "MCP_OVER_CONNECTION",
    "CREDENTIAL_SCOPE_MISMATCH",
    "MISSING_RATE_LIMIT",
    "HARDCODED_CREDENTIALS",
    "DANGEROUS_GRANTS",
    "UNDESCRIBED_WRITE_AGENT",
    "LETHAL_TRIFECTA",
    "TOOL_POISONING",
    "TOOL_DEFINITION_CHANGED",
    "UNGRANTED_TOOL_USE",
}


def test_registry_has_every_spec_rule_with_metadata() -> None:
    assert {rule.id for rule in RULES} == SPEC_RULES
    assert len(RULES) == len(RULES_BY_ID)
    for rule in RULES:
        assert rule.tags and all(tag in TAG_TITLES for tag in rule.tags), rule.id
        assert any(tag.startswith("ASI") for tag in rule.tags), rule.id
        assert rule.title and rule.remediation and len(rule.description) > 80, rule.id
        assert rule.sources, rule.id
    assert get_rule("LETHAL_TRIFECTA").severity is Severity.CRITICAL
    assert get_rule("TOOL_POISONING").other_severities == (Severity.CRITICAL,)
    with pytest.raises(KeyError):
        get_rule("NO_SUCH_RULE")


def test_rule_catalog_is_json_ready() -> None:
    catalog = json.loads(json.dumps(rule_catalog()))
    by_id = {entry["id"]: entry for entry in catalog}
    assert set(by_id) == SPEC_RULES
    poisoning = by_id["TOOL_POISONING"]
    assert poisoning["severities"] == ["CRITICAL", "HIGH"]
    assert poisoning["owasp"][-1] == {
        "id": "MCP03",
        "title": "Tool Poisoning",
        "list": "OWASP MCP Top 10",
        "version": "2025",
    }
    assert by_id["DANGEROUS_GRANTS"]["sources"] == ["code"]
    assert by_id["UNUSED_DANGEROUS_GRANT"]["sources"] == ["server"]
    assert "grace" in by_id["UNUSED_DANGEROUS_GRANT"]["description"]


def _busy_posture(**changes: Any) -> AgentPosture:
    tools = (
        replace(EMAIL, granted_at=NOW - timedelta(days=60)),
        CUSTOMER,
        WEB,
        PYTHON,
        replace(ROLE, granted_at=NOW - timedelta(days=60)),
        DEPLOY,
        tool("write_file", "path", "content"),
    )
    base = AgentPosture(
        name="busy",
        description="Read-only helper.",
        tools=tools,
        mcp_servers=(_mcp("remote", "http://mcp.example.com/mcp", "none"),),
        ungranted_uses=(UngrantedUse("drop_table", 1, NOW, NOW),),
        now=NOW,
    )
    return replace(base, **changes)


def test_evaluate_is_deterministic_and_sorted() -> None:
    first = evaluate(_busy_posture())
    second = evaluate(_busy_posture())
    assert [f.to_dict() for f in first] == [f.to_dict() for f in second]
    order = [(-f.severity.rank, f.rule_id, f.key) for f in first]
    assert order == sorted(order)
    assert len({(f.rule_id, f.key) for f in first}) == len(first)
    json.dumps([f.to_dict() for f in first])


def test_keys_do_not_change_with_counts_timestamps_or_order() -> None:
    keys = {(f.rule_id, f.key) for f in evaluate(_busy_posture())}
    base = _busy_posture()
    later = replace(
        base,
        now=NOW + timedelta(days=9),
        tools=tuple(reversed(base.tools)),
        ungranted_uses=(UngrantedUse("drop_table", 57, NOW - timedelta(days=1), NOW),),
    )
    assert {(f.rule_id, f.key) for f in evaluate(later)} == keys
    assert ("UNGRANTED_TOOL_USE", "drop_table") in keys
    assert ("LETHAL_TRIFECTA", "fetch_url,get_customer,send_email") in keys


def test_disabled_rules_and_config_validation() -> None:
    config = RuleConfig(disabled_rules=frozenset({"CODE_EXECUTION_GRANT"}))
    assert found(agent(PYTHON), "CODE_EXECUTION_GRANT", config) == []
    with pytest.raises(ValueError, match="tool_sprawl_limit"):
        RuleConfig(tool_sprawl_limit=-1)
    with pytest.raises(ValueError, match="tool_sprawl_capabilities"):
        RuleConfig(tool_sprawl_capabilities=0)


def test_a_clean_agent_has_no_findings() -> None:
    posture = agent(DOCS, WEATHER, description="Answers questions about the weather.", now=NOW)
    assert evaluate(posture) == []
    assert evaluate(replace(posture, source=CODE)) == []


# --- Corpus -------------------------------------------------------------------------------------


def _corpus_tool(entry: Any) -> ToolPosture:
    return ToolPosture.classify(
        entry.name, entry.description, entry.input_schema, entry.annotations, sinks=entry.sinks
    )


BENIGN = [entry for entry in CORPUS if entry.group in BENIGN_GROUPS]
NOT_DANGEROUS = [entry for entry in CORPUS if not entry.dangerous]


@pytest.mark.parametrize("source", [SERVER, CODE])
def test_no_false_critical_on_benign_corpus(source: PostureSource) -> None:
    assert len(BENIGN) >= 100
    criticals = []
    for entry in NOT_DANGEROUS:  # the benign groups and every other tool labelled not dangerous
        posture = AgentPosture(name=entry.name, tools=(_corpus_tool(entry),), source=source)
        criticals += [
            (entry.name, f.rule_id) for f in evaluate(posture) if f.severity is Severity.CRITICAL
        ]
    assert criticals == []


def test_benign_corpus_tools_have_no_findings_on_a_described_agent() -> None:
    noisy = []
    for entry in BENIGN:
        posture = agent(_corpus_tool(entry), description="Helps analysts.", now=NOW)
        noisy += [(entry.name, f.rule_id) for f in evaluate(posture)]
    assert noisy == []


# --- Classifier signal: path parameters ---------------------------------------------------------


def test_path_parameters_use_the_parameter_vocabulary() -> None:
    schema = {
        "type": "object",
        "properties": {
            "file_path": {"type": "string", "pattern": "^/srv/"},
            "directory": {"type": "string"},
            "query": {"type": "string"},
            "url": {"type": "string"},
            "options": {"type": "object", "properties": {"output_dir": {"type": "string"}}},
            "empathy": {"type": "string"},
        },
    }
    params = path_parameters(schema)
    assert sorted(params) == ["directory", "file_path", "options.output_dir"]
    assert params["file_path"] == {"type": "string", "pattern": "^/srv/"}
    assert path_parameters(None) == {}


def test_path_parameters_on_corpus_file_tools() -> None:
    # Every corpus tool labelled as writing or deleting that takes a ``path``-like parameter.
    writers = [
        entry
        for entry in CORPUS
        if entry.input_schema
        and {"writes_internal", "destructive"} & entry.capabilities
        and any(p in ("path", "file_path", "filepath") for p in entry.input_schema["properties"])
    ]
    assert len(writers) >= 4
    for entry in writers:
        assert path_parameters(entry.input_schema), entry.name
    for entry in CORPUS:  # parameters for URLs, queries and messages are never paths
        for name in path_parameters(entry.input_schema):
            assert name not in ("url", "query", "q", "body", "text", "message"), entry.name


def test_path_parameters_do_not_change_the_classification() -> None:
    result = classify_tool("write_file", None, _schema("path", "content"))
    assert result.capabilities == frozenset({ToolCapability.writes_internal})


def test_rules_import_is_light() -> None:
    code = (
        "import sys; import agentsentinel.posture.rules; "
        "heavy = {'fastapi', 'sqlalchemy', 'redis', 'numpy', 'pydantic', 'asyncpg', 'httpx'}; "
        "sys.exit(len(heavy & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, check=False)
    assert done.returncode == 0
