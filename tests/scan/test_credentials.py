"""Credential patterns, the name heuristic with its entropy gate, masking, LLM key kinds."""

from __future__ import annotations

import pytest
from agentsentinel_cli.credentials import find_credentials, llm_key_kind, mask

# Fake values assembled from parts (see tests/scan/corpus_fixture.py for why).
OPENAI = "sk-" + "proj-" + "Qw3Er5Ty7Ui9Op1As2Df4Gh6"
ANTHROPIC = "sk-" + "ant-api03-" + "Zq8xW3vR7tY2uI9oP0aS1dF4"
GITHUB = "ghp" + "_" + "Zx9" * 12
SLACK = "xox" + "b-" + "1234567890-abcdefghij"
AWS = "AKIA" + "IOSFODNN7EXAMPLE"


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        (f'client = OpenAI(api_key="{OPENAI}")', "openai_api_key"),
        (f"key = '{ANTHROPIC}'", "anthropic_api_key"),
        (f"token: {GITHUB}", "github_token"),
        (f"SLACK={SLACK}", "slack_token"),
        (f"id = {AWS}", "aws_access_key_id"),
        ("-----BEGIN RSA PRIVATE KEY-----", "private_key"),
        ('dsn = "postgresql://app:Sup3rS3cr3t@db/app"', "url_credentials"),
        ('DB_PASSWORD = "hunter22"', "password"),
        ('client_secret = "q8Zr2LmX9vTn4Kp7"', "secret"),
    ],
)
def test_detects(line: str, kind: str) -> None:
    (hit,) = find_credentials(line, "app.py")
    assert hit.kind == kind
    assert hit.line == 1
    assert hit.value_hash and len(hit.value_hash) == 16


@pytest.mark.parametrize(
    "line",
    [
        "max_tokens = 4096",
        "token = get_token()",
        'api_key = os.environ["OPENAI_API_KEY"]',
        'password = "changeme"',
        'api_key = "your-api-key-here"',
        'secret_key = "${SECRET_KEY}"',
        'dsn = "postgresql://user:${PW}@db/app"',
        'api_key = "aaaaaaaaaaaaaaaa"',
        'sort_key = "Zq8xW3vR7tY2uI9o"',
        "api_key: str = settings.api_key",
    ],
)
def test_ignores(line: str) -> None:
    assert find_credentials(line, "app.py") == []


def test_unquoted_values_only_in_config_files() -> None:
    line = "API_TOKEN = Zq8xW3vR7tY2uI9o"
    assert find_credentials(line, "app.py") == []
    assert [h.kind for h in find_credentials(line, ".env.production")] == ["secret"]


def test_a_provider_match_is_not_reported_twice() -> None:
    hits = find_credentials(f'OPENAI_API_KEY = "{OPENAI}"', "app.py")
    assert [h.kind for h in hits] == ["openai_api_key"]


def test_masked_value_never_holds_the_secret() -> None:
    for value in (OPENAI, ANTHROPIC, GITHUB, AWS):
        (hit,) = find_credentials(f'x_token = "{value}"', "a.py")
        assert value not in repr(hit)
        assert value[4:-4] not in repr(hit)


def test_mask() -> None:
    assert mask("sk-abcdefghijklmnop9xQ2") == "sk-a…9xQ2"
    assert mask("abcdefghijklmn") == "ab…mn"
    assert mask("short") == "…"
    assert mask("") == "…"


def test_llm_key_kind() -> None:
    assert llm_key_kind("OPENAI_API_KEY", OPENAI) == "openai"
    assert llm_key_kind("MY_KEY", ANTHROPIC) == "anthropic"
    assert llm_key_kind("ANTHROPIC_API_KEY", "abcdefgh12345678") == "anthropic"
    assert llm_key_kind("OPENAI_API_KEY", "") is None
    assert llm_key_kind("OPENAI_API_KEY", "your-key-here") is None
    assert llm_key_kind("HOME", "/home/user") is None
