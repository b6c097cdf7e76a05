"""Webhook signatures and destination URL validation (settings refuse bad URLs at load)."""

from __future__ import annotations

import pydantic
import pytest

from agentsentinel.alerts.signing import sign, verify_signature
from agentsentinel.alerts.urls import destination_id
from agentsentinel.settings import Settings

SECRET = "s" * 40
BODY = b'{"event":"critical_finding"}'
T = 1_800_000_000


def test_signature_verifies_with_the_shared_secret() -> None:
    header = sign(SECRET, BODY, T)
    assert header.startswith(f"t={T},v1=")
    assert verify_signature(SECRET, BODY, header, now=T + 10)


@pytest.mark.parametrize(
    ("secret", "body", "now"),
    [
        ("w" * 40, BODY, T),  # wrong secret
        (SECRET, BODY.replace(b"critical", b"harmless"), T),  # tampered body
        (SECRET, BODY, T + 301),  # stale
        (SECRET, BODY, T - 301),  # from the future
    ],
)
def test_signature_fails_otherwise(secret: str, body: bytes, now: int) -> None:
    assert not verify_signature(secret, body, sign(SECRET, BODY, T), now=now)


@pytest.mark.parametrize(
    "header", [None, "", "v1=abc", f"t={T}", f"t=x,v1={'0' * 64}", f"t={T},v1={'0' * 64}"]
)
def test_malformed_or_forged_headers_fail(header: str | None) -> None:
    assert not verify_signature(SECRET, BODY, header, now=T)


def test_a_changed_timestamp_breaks_the_signature() -> None:
    mac = sign(SECRET, BODY, T).split("v1=")[1]
    assert not verify_signature(SECRET, BODY, f"t={T + 5},v1={mac}", now=T + 5)


@pytest.mark.parametrize(
    "url",
    ["https://hooks.slack.com/services/T/B/x", "https://hooks.slack.com:443/services/T/B/x"],
)
def test_slack_url_accepted(url: str) -> None:
    s = Settings(alert_slack_webhook_url=url)
    assert s.alert_slack_webhook_url is not None
    assert s.alert_slack_webhook_url.get_secret_value() == url


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.slack.com/services/T/B/x",
        "https://hooks.slack.com.evil.com/services/T/B/x",
        "https://evil.com/hooks.slack.com/services/T/B/x",
        "https://hooks.slack.com@evil.com/services/T/B/x",
        "https://evil.com@hooks.slack.com/services/T/B/x",
        "https://user:pw@hooks.slack.com/services/T/B/x",
        "https://hooks.slack.com:8443/services/T/B/x",
        "https://34.200.1.1/services/T/B/x",
        "https://HOOKS.slack.com.evil.com/services/T/B/x",
        "https://hooks.slack.com/api/other",
        "ftp://hooks.slack.com/services/T/B/x",
    ],
)
def test_slack_url_refused_at_load_without_echoing_it(url: str) -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        Settings(alert_slack_webhook_url=url)
    assert "Slack webhook URL" in str(info.value)
    assert url not in str(info.value)


def test_legacy_environment_names_still_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTSENTINEL_SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/a")
    monkeypatch.setenv("AGENTSENTINEL_WEBHOOK_URLS", "https://a.example/h, https://b.example/h")
    monkeypatch.setenv("AGENTSENTINEL_ALERT_WEBHOOK_SECRET", "k" * 32)
    s = Settings()
    assert s.alert_slack_webhook_url is not None
    assert s.alert_webhook_urls == ["https://a.example/h", "https://b.example/h"]


@pytest.mark.parametrize("secret", [None, "", "short"])
def test_webhook_without_a_strong_secret_fails_closed(secret: str | None) -> None:
    with pytest.raises(pydantic.ValidationError, match="ALERT_WEBHOOK_SECRET"):
        Settings(alert_webhook_urls=["https://hooks.example/a"], alert_webhook_secret=secret)


@pytest.mark.parametrize(
    "url",
    ["http://hooks.example/a", "https://u:p@hooks.example/a", "file:///etc/passwd", "https:///x"],
)
def test_webhook_url_refused(url: str) -> None:
    with pytest.raises(pydantic.ValidationError):
        Settings(alert_webhook_urls=[url], alert_webhook_secret="k" * 32)


def test_plain_http_only_to_loopback() -> None:
    s = Settings(alert_webhook_urls=["http://127.0.0.1:8080/h"], alert_webhook_secret="k" * 32)
    assert s.alert_webhook_urls == ["http://127.0.0.1:8080/h"]


def test_destination_id_does_not_contain_the_url_secret() -> None:
    ident = destination_id("https://hooks.slack.com/services/T000/B000/XXXXSECRET")
    assert ident.startswith("hooks.slack.com#") and "SECRET" not in ident
