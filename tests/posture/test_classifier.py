"""The tool classifier: tokenizer, each signal, overrides, determinism, and the labelled corpus."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agentsentinel.posture import (
    DANGEROUS_CAPABILITIES,
    ToolCapability,
    ToolClassification,
    ToolOverride,
    ToolScope,
    classify_tool,
    description_words,
    scope_for,
    sink_rule,
    tokenize,
)
from tests.posture.corpus import BENIGN_GROUPS, CORPUS, LabelledTool, capability_counts, counts

C = ToolCapability
REPO = Path(__file__).resolve().parents[2]


def caps(result: ToolClassification) -> set[str]:
    return {cap.value for cap in result.capabilities}


def sources(result: ToolClassification, capability: ToolCapability) -> set[str]:
    return {item.source for item in result.evidence if item.supports is capability}


def schema(*names: str) -> dict[str, object]:
    return {"type": "object", "properties": {name: {"type": "string"} for name in names}}


# --- Tokenizer ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("identifier", "tokens"),
    [
        ("getHTTPResponse2", ("get", "http", "response", "2")),
        ("send_email", ("send", "email")),
        ("sendEmail", ("send", "email")),
        ("SendEmail", ("send", "email")),
        ("send-email", ("send", "email")),
        ("functions.send_email", ("functions", "send", "email")),
        ("mcp__github__create_issue", ("mcp", "github", "create", "issue")),
        ("parseURLsFrom2Files", ("parse", "urls", "from", "2", "files")),
        ("  Search Web  ", ("search", "web")),
        ("ALLCAPS", ("allcaps",)),
        ("", ()),
        ("__", ()),
    ],
)
def test_tokenize_splits_identifiers(identifier: str, tokens: tuple[str, ...]) -> None:
    assert tokenize(identifier) == tokens


def test_description_words_lemmatise_and_merge_phrases() -> None:
    words = description_words("Deletes files. Read-only: it CANNOT be undone, e-mail isn't sent.")
    assert words[:2] == ("delete", "file")
    assert "readonly" in words
    assert "irreversible" in words
    assert "email" in words
    assert "send" in words


# --- Whole tokens, never substrings ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "not_expected"),
    [
        ("executive_summary", C.code_execution),
        ("retrieval_search", C.code_execution),
        ("get_skills", C.destructive),
        ("credit_check", C.writes_internal),
        ("dropbox_list", C.destructive),
        ("preset_lookup", C.destructive),
        ("runtime_info", C.code_execution),
        ("sender_lookup", C.writes_external),
        ("count_tokens", C.secrets_access),
        ("get_profile", C.writes_internal),
    ],
)
def test_scary_substrings_do_not_match(name: str, not_expected: ToolCapability) -> None:
    result = classify_tool(name)
    assert not_expected not in result.capabilities
    assert result.scope is ToolScope.read
    assert not result.is_dangerous


# --- Name: verb/object roles ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected", "scope"),
    [
        ("send_email", {C.writes_external}, ToolScope.write),
        ("delete_user", {C.destructive}, ToolScope.admin),
        ("run_python", {C.code_execution}, ToolScope.write),
        ("exec_sql", {C.code_execution, C.reads_private_data}, ToolScope.write),
        ("bash", {C.code_execution}, ToolScope.write),
        ("shell", {C.code_execution}, ToolScope.write),
        ("rm", {C.destructive}, ToolScope.write),
        ("purge_rows", {C.destructive}, ToolScope.write),
        ("drop_table", {C.destructive}, ToolScope.write),
        ("transfer_funds", {C.financial}, ToolScope.write),
        ("refund", {C.financial}, ToolScope.write),
        ("charge_card", {C.financial}, ToolScope.write),
        ("pay_invoice", {C.financial}, ToolScope.write),
        ("grant_role", {C.privilege_admin}, ToolScope.admin),
        ("add_admin", {C.privilege_admin}, ToolScope.admin),
        ("set_permissions", {C.privilege_admin}, ToolScope.admin),
        ("dispatch_message", {C.writes_external}, ToolScope.write),
        ("post_to_slack", {C.writes_external}, ToolScope.write),
        ("notify_webhook", {C.writes_external}, ToolScope.write),
        ("upload_file", {C.writes_external}, ToolScope.write),
        ("apply_migration", {C.infrastructure}, ToolScope.admin),
        ("deploy_service", {C.infrastructure}, ToolScope.admin),
        ("scale_cluster", {C.infrastructure}, ToolScope.admin),
        ("terraform_apply", {C.infrastructure}, ToolScope.admin),
        ("read_secret", {C.secrets_access}, ToolScope.read),
        ("get_api_key", {C.secrets_access}, ToolScope.read),
        ("vault_read", {C.secrets_access}, ToolScope.read),
        ("fetch_url", {C.reads_untrusted_content}, ToolScope.read),
        ("browse_web", {C.reads_untrusted_content}, ToolScope.read),
        ("read_email", {C.reads_untrusted_content, C.reads_private_data}, ToolScope.read),
        ("search_web", {C.reads_untrusted_content}, ToolScope.read),
        ("query_customers", {C.reads_private_data}, ToolScope.read),
        ("read_database", {C.reads_private_data}, ToolScope.read),
        ("get_medical_record", {C.reads_private_data}, ToolScope.read),
        ("write_file", {C.writes_internal}, ToolScope.write),
        ("update_record", {C.writes_internal}, ToolScope.write),
        ("insert_row", {C.writes_internal}, ToolScope.write),
    ],
)
def test_name_roles(name: str, expected: set[ToolCapability], scope: ToolScope) -> None:
    result = classify_tool(name)
    assert result.capabilities == expected
    assert result.scope is scope
    assert result.is_dangerous is not DANGEROUS_CAPABILITIES.isdisjoint(expected)
    for cap in expected:
        assert sources(result, cap) == {"name"}


def test_verb_position_and_inflection() -> None:
    assert caps(classify_tool("user_delete")) == {"destructive"}
    assert caps(classify_tool("python_exec")) == {"code_execution"}
    # an inflected verb in a name is an adjective: listing deleted items deletes nothing
    assert caps(classify_tool("get_deleted_items")) == set()
    # a noun-like verb followed by a report noun is a noun
    assert caps(classify_tool("run_history")) == set()
    assert caps(classify_tool("transfer_status")) == set()
    # a predicate only checks
    assert caps(classify_tool("can_delete_user")) == set()


def test_unicode_look_alikes_are_folded() -> None:
    assert classify_tool("\uff44\uff45\uff4c\uff45\uff54\uff45_file").capabilities == {
        C.destructive
    }
    result = classify_tool(
        "helper", "\uff25\uff58\uff45\uff43\uff55\uff54\uff45\uff53 the given shell command."
    )
    assert result.capabilities == {C.code_execution}


def test_malformed_inputs_from_untrusted_servers_are_ignored() -> None:
    odd: object = ["not", "a", "mapping"]
    result = classify_tool(
        "get_weather" * 100,
        description=42,  # type: ignore[arg-type]
        input_schema=odd,  # type: ignore[arg-type]
        annotations=odd,  # type: ignore[arg-type]
    )
    assert result.capabilities == frozenset()


def test_bare_unknown_name_is_a_low_confidence_read() -> None:
    result = classify_tool("frobnicate_widget")
    assert result.scope is ToolScope.read
    assert result.capabilities == frozenset()
    assert not result.is_dangerous
    assert result.confidence <= 0.2
    assert classify_tool("delete_user").confidence > 0.8


# --- Description ----------------------------------------------------------------------------------


def test_description_decides_for_an_unknown_name() -> None:
    result = classify_tool("helper", "Executes the given shell command and returns its output.")
    assert result.capabilities == {C.code_execution}
    assert sources(result, C.code_execution) == {"description"}


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("Sends an email to the given recipient.", {C.writes_external}),
        ("Deletes the specified file from disk.", {C.destructive}),
        ("Executes arbitrary shell commands.", {C.code_execution}),
        ("Searches the web and returns the top results.", {C.reads_untrusted_content}),
        ("Transfers money between two bank accounts.", {C.financial}),
        ("Grants a role to a user.", {C.privilege_admin}),
        ("Use this tool to post a message to Slack.", {C.writes_external}),
        ("Returns the weather for a city.", set()),
        ("Answers questions about the product documentation.", set()),
    ],
)
def test_description_phrases(description: str, expected: set[ToolCapability]) -> None:
    assert classify_tool("helper", description).capabilities == expected


def test_description_weighs_less_than_the_name() -> None:
    by_name = classify_tool("delete_file")
    by_description = classify_tool("helper", "Deletes the given file.")
    assert by_name.capabilities == by_description.capabilities == {C.destructive}
    assert by_description.confidence < by_name.confidence


@pytest.mark.parametrize(
    "description",
    [
        "Lists temporary files. It does not delete anything.",
        "Lists temporary files; never deletes them.",
        "Lists temporary files without deleting them.",
        "Lists temporary files. Files are not removed.",
    ],
)
def test_negation_does_not_add_the_capability(description: str) -> None:
    result = classify_tool("temp_files", description)
    assert C.destructive not in result.capabilities
    assert C.reads_private_data in result.capabilities


def test_negation_lowers_weak_name_evidence() -> None:
    assert C.destructive in classify_tool("cleanup_helper").capabilities
    result = classify_tool("cleanup_helper", "Lists temporary files. It does not delete anything.")
    assert C.destructive not in result.capabilities


def test_read_only_description_lowers_write_evidence() -> None:
    assert C.writes_internal in classify_tool("sync_records").capabilities
    result = classify_tool("sync_records", "Read-only preview of the records a sync would change.")
    assert C.writes_internal not in result.capabilities
    assert result.scope is ToolScope.read
    assert any(item.token == "read-only" for item in result.evidence)


def test_read_only_sql_is_not_code_execution() -> None:
    result = classify_tool("query", "Run a read-only SQL query", schema("sql"))
    assert result.capabilities == {C.reads_private_data}
    assert result.scope is ToolScope.read


# --- Parameters and schema ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "params", "expected"),
    [
        ("fetch", ("url",), {C.reads_untrusted_content}),
        ("send", ("url", "body"), {C.writes_external}),
        ("outbound", ("recipient", "subject", "body"), {C.writes_external}),
        ("run", ("command",), {C.code_execution}),
        ("act", ("command",), {C.code_execution}),
        ("search_docs", ("query",), set()),
        ("search", ("query",), set()),
        ("run", ("sql",), {C.code_execution, C.reads_private_data}),
        ("explain_sql", ("sql",), set()),
        ("payout_to", ("amount", "iban"), {C.financial}),
        ("convert_currency", ("amount", "from_currency", "to_currency"), set()),
        ("remove", ("path",), {C.destructive}),
        ("save", ("path", "content"), {C.writes_internal}),
        ("count_tokens", ("token", "text"), set()),
        ("login", ("username", "password"), set()),
        ("list_meetings", ("from", "to"), {C.reads_private_data}),
        ("lookup_customer", ("email",), {C.reads_private_data}),
        ("post_code_lookup", ("code",), set()),
        ("update_user_role", ("user_id", "role"), {C.privilege_admin}),
    ],
)
def test_parameters(name: str, params: tuple[str, ...], expected: set[ToolCapability]) -> None:
    assert classify_tool(name, input_schema=schema(*params)).capabilities == expected


def test_schema_formats_and_nesting() -> None:
    nested = {
        "type": "object",
        "properties": {
            "target": {"type": "string", "format": "uri"},
            "payload": {"type": "object", "properties": {"text": {"type": "string"}}},
        },
    }
    result = classify_tool("target_info", input_schema=nested)
    assert result.capabilities == {C.reads_untrusted_content}
    assert sources(result, C.reads_untrusted_content) == {"schema"}
    result = classify_tool("send_it", input_schema=nested)
    assert result.capabilities == {C.writes_external}


def test_malformed_schema_is_ignored() -> None:
    odd: dict[str, object] = {"type": "object", "properties": {"x": 1, 2: {}}, "items": []}
    assert classify_tool("get_weather", input_schema=odd).capabilities == frozenset()


# --- MCP annotations ------------------------------------------------------------------------------


def test_read_only_hint_sets_read_scope_and_suppresses_writes() -> None:
    result = classify_tool("sync_records", annotations={"readOnlyHint": True})
    assert result.scope is ToolScope.read
    assert C.writes_internal not in result.capabilities
    assert ("annotation", "readOnlyHint=true") in {(e.source, e.token) for e in result.evidence}


def test_read_only_hint_does_not_erase_a_sink_or_an_explicit_name() -> None:
    result = classify_tool("sync_records", annotations={"readOnlyHint": True}, sinks=["os.remove"])
    assert C.destructive in result.capabilities
    # annotations are hints from a server that may not be trusted
    assert (
        C.destructive
        in classify_tool("delete_file", annotations={"readOnlyHint": True}).capabilities
    )


def test_destructive_hint() -> None:
    result = classify_tool("apply_changes", annotations={"destructiveHint": True})
    assert C.destructive in result.capabilities
    assert sources(result, C.destructive) == {"annotation"}
    # meaningless on a read-only tool (MCP spec), so it is not applied
    result = classify_tool(
        "list_things", annotations={"readOnlyHint": True, "destructiveHint": True}
    )
    assert C.destructive not in result.capabilities
    assert ("annotation", "destructiveHint=true", None) in {
        (e.source, e.token, e.supports) for e in result.evidence
    }


def test_missing_annotations_are_not_destructive() -> None:
    # the MCP default of destructiveHint is true, but only explicit hints count
    for hints in (None, {}, {"title": "Update"}, {"readOnlyHint": False}):
        assert C.destructive not in classify_tool("update_item", annotations=hints).capabilities


def test_open_world_hint() -> None:
    read = classify_tool("lookup_term", annotations={"readOnlyHint": True, "openWorldHint": True})
    assert read.capabilities == {C.reads_untrusted_content}
    write = classify_tool("create_record", annotations={"openWorldHint": True})
    assert write.capabilities == {C.writes_external}
    closed = classify_tool("fetch_page", annotations={"openWorldHint": False})
    assert C.reads_untrusted_content in closed.capabilities  # explicit name evidence stays


def test_idempotent_hint_is_recorded_only() -> None:
    plain = classify_tool("create_directory")
    hinted = classify_tool("create_directory", annotations={"idempotentHint": True})
    assert hinted.capabilities == plain.capabilities
    assert ("annotation", "idempotentHint=true") in {(e.source, e.token) for e in hinted.evidence}


def test_non_boolean_hints_are_ignored() -> None:
    result = classify_tool("update_item", annotations={"destructiveHint": "yes"})
    assert C.destructive not in result.capabilities


# --- Sinks ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sink", "expected"),
    [
        ("subprocess.run", C.code_execution),
        ("os.system", C.code_execution),
        ("eval", C.code_execution),
        ("exec", C.code_execution),
        ("open:w", C.writes_internal),
        ("open:ab", C.writes_internal),
        ("open:r+", C.writes_internal),
        ("open", C.reads_private_data),
        ("open:rb", C.reads_private_data),
        ("shutil.rmtree", C.destructive),
        ("os.remove", C.destructive),
        ("requests.post", C.writes_external),
        ("httpx.AsyncClient.post", C.writes_external),
        ("httpx.get", C.reads_untrusted_content),
        ("smtplib.SMTP", C.writes_external),
        ("slack_sdk.WebClient.chat_postMessage", C.writes_external),
        ("self.client.chat_postMessage", C.writes_external),
        ("cursor.execute", C.reads_private_data),
        ("self.db.cursor.execute", C.reads_private_data),
        ("boto3.client", C.infrastructure),
        ("boto3.client:secretsmanager", C.secrets_access),
        ("stripe.Refund.create", C.financial),
        ("  SUBPROCESS.POPEN  ", C.code_execution),
    ],
)
def test_sink_table(sink: str, expected: ToolCapability) -> None:
    rule = sink_rule(sink)
    assert rule is not None and expected in rule.capabilities
    result = classify_tool("helper", sinks=[sink])
    assert expected in result.capabilities
    assert sources(result, expected) == {"sink"}


@pytest.mark.parametrize("sink", ["", "print", "json.loads", "platform.system", "list.remove"])
def test_unknown_sinks_prove_nothing(sink: str) -> None:
    assert sink_rule(sink) is None
    assert classify_tool("helper", sinks=[sink]).capabilities == frozenset()


def test_sink_confidence_beats_name_guess() -> None:
    assert classify_tool("calc", sinks=["eval"]).confidence >= 0.95


def test_external_sink_makes_a_generic_write_external() -> None:
    result = classify_tool("post_update", sinks=["requests.post"])
    assert result.capabilities == {C.writes_external}


# --- Overrides ------------------------------------------------------------------------------------


def test_override_replaces_capabilities_and_derives_scope() -> None:
    override = ToolOverride(capabilities=frozenset({C.reads_private_data}))
    result = classify_tool("delete_user", override=override)
    assert result.capabilities == {C.reads_private_data}
    assert result.scope is ToolScope.read
    assert not result.is_dangerous
    assert result.confidence == 1.0
    assert sources(result, C.reads_private_data) == {"override"}
    # the derived evidence is kept for the record
    assert any(item.source == "name" for item in result.evidence)


def test_override_scope_and_danger() -> None:
    result = classify_tool(
        "get_weather", override=ToolOverride(scope=ToolScope.admin, is_dangerous=True)
    )
    assert result.capabilities == frozenset()
    assert result.scope is ToolScope.admin
    assert result.is_dangerous
    tokens = {item.token for item in result.evidence if item.source == "override"}
    assert tokens == {"scope=admin", "is_dangerous=true"}


def test_override_from_dict() -> None:
    override = ToolOverride.from_dict({"capabilities": ["financial"], "is_dangerous": False})
    assert override.capabilities == frozenset({C.financial})
    assert override.to_dict() == {"capabilities": ["financial"], "is_dangerous": False}
    result = classify_tool("get_weather", override=override)
    assert result.capabilities == {C.financial}
    assert result.scope is ToolScope.write
    assert not result.is_dangerous
    assert ToolOverride.from_dict({}).to_dict() == {}


@pytest.mark.parametrize(
    "data",
    [
        {"capabilities": ["teleport"]},
        {"capabilities": "financial"},
        {"scope": "root"},
        {"is_dangerous": "yes"},
        {"danger": True},
    ],
)
def test_override_from_dict_rejects_bad_values(data: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ToolOverride.from_dict(data)


def test_override_accepts_plain_strings() -> None:
    override = ToolOverride(scope="read", capabilities=frozenset({"financial"}))  # type: ignore[arg-type]
    assert override.scope is ToolScope.read
    assert override.capabilities == frozenset({C.financial})


# --- Output contract ------------------------------------------------------------------------------


def test_deterministic_and_json_serialisable() -> None:
    args = {
        "name": "mcp__github__create_issue",
        "description": "Create a new issue in a GitHub repository.",
        "input_schema": schema("owner", "repo", "title", "body"),
        "annotations": {"readOnlyHint": False, "openWorldHint": True, "idempotentHint": False},
        "sinks": ["requests.post", "open:w"],
    }
    first = classify_tool(**args)  # type: ignore[arg-type]
    second = classify_tool(**args)  # type: ignore[arg-type]
    assert first == second
    assert json.dumps(first.to_dict()) == json.dumps(second.to_dict())
    data = first.to_dict()
    assert data["capabilities"] == sorted(data["capabilities"])
    assert 0.0 <= data["confidence"] <= 1.0
    assert {item["source"] for item in data["evidence"]} <= {
        "name",
        "description",
        "parameter",
        "schema",
        "annotation",
        "sink",
        "override",
    }
    json.dumps(data)


def test_parameter_order_does_not_change_the_result() -> None:
    forward = classify_tool("outbound", input_schema=schema("recipient", "subject", "body"))
    backward = classify_tool("outbound", input_schema=schema("body", "subject", "recipient"))
    assert forward.capabilities == backward.capabilities == {C.writes_external}
    assert forward.scope is backward.scope


def test_import_is_light() -> None:
    code = (
        "import sys; import agentsentinel.posture; "
        "heavy = {'fastapi', 'sqlalchemy', 'redis', 'numpy', 'pydantic', 'asyncpg', 'httpx'}; "
        "sys.exit(len(heavy & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, check=False)
    assert done.returncode == 0


# --- Corpus ---------------------------------------------------------------------------------------


def _classify(entry: LabelledTool) -> ToolClassification:
    return classify_tool(
        entry.name, entry.description, entry.input_schema, entry.annotations, entry.sinks
    )


RESULTS = [_classify(entry) for entry in CORPUS]


def test_corpus_is_large_and_consistently_labelled() -> None:
    assert len(CORPUS) >= 200
    dangerous = {cap.value for cap in DANGEROUS_CAPABILITIES}
    for entry in CORPUS:
        assert entry.dangerous == bool(entry.capabilities & dangerous), entry.name
        expected_scope = scope_for(
            {ToolCapability(cap) for cap in entry.capabilities},
            admin_target=entry.scope == "admin",
        )
        assert entry.scope == expected_scope.value, entry.name
        if entry.group in BENIGN_GROUPS:
            assert not entry.dangerous, entry.name


def test_corpus_precision_and_recall_per_capability() -> None:
    per_cap = capability_counts(CORPUS, [frozenset(caps(r)) for r in RESULTS])
    low = {
        cap: (round(c.precision, 3), round(c.recall, 3))
        for cap, c in per_cap.items()
        if c.precision < 0.95 or c.recall < 0.95
    }
    assert not low
    assert all(c.support >= 10 for c in per_cap.values())


def test_corpus_precision_and_recall_for_dangerous() -> None:
    result = counts([e.dangerous for e in CORPUS], [r.is_dangerous for r in RESULTS])
    assert result.precision >= 0.95
    assert result.recall >= 0.95


def test_corpus_scope_accuracy() -> None:
    right = sum(1 for e, r in zip(CORPUS, RESULTS, strict=True) if e.scope == r.scope.value)
    assert right / len(CORPUS) >= 0.95


def test_no_false_critical_on_the_benign_set() -> None:
    critical = {C.code_execution, C.privilege_admin, C.destructive}
    flagged = [
        e.name
        for e, r in zip(CORPUS, RESULTS, strict=True)
        if e.group in BENIGN_GROUPS and r.is_dangerous and r.capabilities & critical
    ]
    assert flagged == []
