"""Hard-coded credential detection for ``sentinel scan`` and ``sentinel discover``.

Key contracts:
- A value is never returned in clear: every ``CredentialHit`` carries ``mask(value)`` and a
  truncated SHA-256 of the value (``value_hash``, which keeps finding fingerprints stable when two
  secrets mask alike and cannot be reversed for the random tokens it is computed on).
- Three signals, in order: provider patterns (the format proves the kind: ``AKIA…``, ``sk-ant-…``,
  ``ghp_…``), then a secret-like name (``*_API_KEY``, ``password``, ``client_secret``) assigned a
  literal that passes the entropy gate and is not a placeholder. A value found by a provider
  pattern is not reported again by the name heuristic.
- In code, only quoted literals count (``token = get_token()`` is not a secret); in config-like
  files (``.env``, ini, yaml, toml, properties) unquoted values count too.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Final, NamedTuple

from agentsentinel.posture import CredentialHit

__all__ = ["find_credentials", "llm_key_kind", "mask", "value_hash"]


class _Pattern(NamedTuple):
    kind: str
    regex: re.Pattern[str]
    group: int = 0
    # Lower-case literals one of which every match contains (a cheap test of the whole text).
    hints: tuple[str, ...] = ()


# Provider formats. Each is anchored on a prefix the provider documents, so a match is a credential
# (or a documented example of one) whatever the surrounding name says.
_PROVIDER_PATTERNS: Final[tuple[_Pattern, ...]] = (
    _Pattern(
        "private_key",
        re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |)PRIVATE KEY"),
        hints=("private key",),
    ),
    _Pattern(
        "aws_access_key_id",
        re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b"),
        hints=("akia", "asia", "abia", "acca"),
    ),
    _Pattern(
        "aws_secret_access_key",
        re.compile(
            r"(?i)aws_?secret_?(?:access_?)?key[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"
        ),
        1,
        hints=("aws",),
    ),
    _Pattern(
        "anthropic_api_key",
        re.compile(r"\bsk-ant-[A-Za-z0-9]{2,8}-[A-Za-z0-9_-]{20,}"),
        hints=("sk-ant-",),
    ),
    _Pattern(
        "openai_api_key",
        re.compile(r"\bsk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}(?![A-Za-z0-9_-])"),
        hints=("sk-",),
    ),
    _Pattern(
        "github_token",
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_\w{22,})"),
        hints=("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    _Pattern("gitlab_token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"), hints=("glpat-",)),
    _Pattern("slack_token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), hints=("xox",)),
    _Pattern(
        "slack_webhook",
        re.compile(r"https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{16,}"),
        hints=("hooks.slack.com/services/",),
    ),
    _Pattern("google_api_key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}"), hints=("aiza",)),
    _Pattern("stripe_secret_key", re.compile(r"\b[sr]k_live_[0-9A-Za-z]{20,}"), hints=("k_live_",)),
    _Pattern("huggingface_token", re.compile(r"\bhf_[A-Za-z0-9]{30,}"), hints=("hf_",)),
    _Pattern("groq_api_key", re.compile(r"\bgsk_[A-Za-z0-9]{40,}"), hints=("gsk_",)),
    _Pattern("xai_api_key", re.compile(r"\bxai-[A-Za-z0-9]{40,}"), hints=("xai-",)),
    _Pattern(
        "sendgrid_api_key",
        re.compile(r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}"),
        hints=("sg.",),
    ),
    _Pattern(
        "url_credentials",
        re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@\"'`]+:([^\s:/@\"'`$<{]{4,})@[^\s\"'`]+"),
        1,
        hints=("://",),
    ),
)

# Names whose last word says "secret"; ``key`` counts only after a qualifying word (``api_key``,
# ``secret_key``), never alone (``key``, ``sort_key``), and plurals such as ``max_tokens`` don't.
_SECRET_LAST_WORDS: Final = frozenset(
    {"password", "passwd", "pwd", "passphrase", "secret", "token", "apikey", "credential", "pat"}
)
_KEY_QUALIFIERS: Final = frozenset(
    {"api", "access", "secret", "private", "auth", "signing", "encryption", "master", "client"}
)
_PASSWORD_WORDS: Final = frozenset({"password", "passwd", "pwd", "passphrase"})
_PLACEHOLDER_WORDS: Final = (
    "example",
    "changeme",
    "change_me",
    "placeholder",
    "your",
    "xxxx",
    "****",
    "redacted",
    "dummy",
    "fake",
    "sample",
    "insert",
    "replace",
    "todo",
    "here",
    "none",
    "null",
    "undefined",
    "secret",
    "password",
    "token",
)
_CONFIG_SUFFIXES: Final = frozenset(
    {".env", ".ini", ".cfg", ".conf", ".toml", ".yaml", ".yml", ".properties", ".txt"}
)
_CODE_ASSIGN: Final = re.compile(
    r"(?P<name>[A-Za-z_$][\w$.-]*)[\"']?\s*(?::\s*[\w\[\]., |]+?\s*)?(?:=|:=|:|=>)\s*"
    r"(?P<q>[\"'`])(?P<value>[^\"'`\s]{6,200})(?P=q)"
)
_CONFIG_ASSIGN: Final = re.compile(
    r"^\s*(?:export\s+)?[\"']?(?P<name>[A-Za-z_][\w.-]*)[\"']?\s*(?:=|:)\s*"
    r"(?P<q>[\"']?)(?P<value>[^\"'\s#;,]{6,200})(?P=q)\s*(?:[#;].*)?,?$"
)
_WORD_SPLIT: Final = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
# Every name ``_secret_name`` accepts contains one of these (its last word, lower-cased).
_SECRET_NAME_HINTS: Final = ("key", "token", "pass", "secret", "pwd", "credential", "pat")
_MAX_LINE: Final = 4000
_MIN_ENTROPY: Final = 3.0
_MIN_PASSWORD_ENTROPY: Final = 2.0

# Which provider an LLM API key belongs to, by environment variable name (exact, upper-case).
_LLM_ENV_NAMES: Final[dict[str, str]] = {
    "OPENAI_API_KEY": "openai",
    "AZURE_OPENAI_API_KEY": "azure_openai",
    "AZURE_OPENAI_KEY": "azure_openai",
    "ANTHROPIC_API_KEY": "anthropic",
    "CLAUDE_API_KEY": "anthropic",
    "GOOGLE_API_KEY": "google",
    "GEMINI_API_KEY": "google",
    "GOOGLE_GENERATIVE_AI_API_KEY": "google",
    "MISTRAL_API_KEY": "mistral",
    "GROQ_API_KEY": "groq",
    "COHERE_API_KEY": "cohere",
    "CO_API_KEY": "cohere",
    "HF_TOKEN": "huggingface",
    "HUGGINGFACE_API_KEY": "huggingface",
    "HUGGINGFACEHUB_API_TOKEN": "huggingface",
    "HUGGING_FACE_HUB_TOKEN": "huggingface",
    "TOGETHER_API_KEY": "together",
    "TOGETHERAI_API_KEY": "together",
    "DEEPSEEK_API_KEY": "deepseek",
    "XAI_API_KEY": "xai",
    "PERPLEXITY_API_KEY": "perplexity",
    "PPLX_API_KEY": "perplexity",
    "FIREWORKS_API_KEY": "fireworks",
    "OPENROUTER_API_KEY": "openrouter",
    "REPLICATE_API_TOKEN": "replicate",
    "VOYAGE_API_KEY": "voyage",
    "AI21_API_KEY": "ai21",
    "CEREBRAS_API_KEY": "cerebras",
    "LANGSMITH_API_KEY": "langsmith",
    "LANGCHAIN_API_KEY": "langsmith",
}
# Value prefixes that identify the provider whatever the variable is called.
_LLM_VALUE_PREFIXES: Final[tuple[tuple[str, str], ...]] = (
    ("sk-ant-", "anthropic"),
    ("sk-proj-", "openai"),
    ("sk-svcacct-", "openai"),
    ("gsk_", "groq"),
    ("xai-", "xai"),
    ("hf_", "huggingface"),
    ("pplx-", "perplexity"),
    ("sk-or-", "openrouter"),
    ("lsv2_", "langsmith"),
)


def mask(value: str) -> str:
    """The value as it may be shown: at most 4 leading and 4 trailing characters, none if short."""
    n = len(value)
    if n < 12:
        return "…"
    shown = 2 if n < 20 else 4
    return f"{value[:shown]}…{value[-shown:]}"


def value_hash(value: str) -> str:
    """A short one-way id of a credential value, for fingerprints and de-duplication."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _entropy(value: str) -> float:
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _name_words(name: str) -> list[str]:
    return [w.lower() for w in _WORD_SPLIT.split(name) if w]


def _secret_name(name: str) -> bool:
    words = _name_words(name)
    if not words:
        return False
    last = words[-1]
    if last in _SECRET_LAST_WORDS:
        return True
    joined = "".join(words[-2:])
    if joined in {"apikey", "secretkey", "accesskey", "privatekey", "authkey", "clientsecret"}:
        return True
    return last == "key" and len(words) >= 2 and words[-2] in _KEY_QUALIFIERS


def _placeholder(value: str) -> bool:
    lowered = value.lower()
    if value[0] in "$<{%[(" or value.startswith(("http://", "https://", "/", "./", "~")):
        return True
    if len(set(value)) <= 2:
        return True
    return any(word in lowered for word in _PLACEHOLDER_WORDS)


def _plausible_secret(name: str, value: str) -> bool:
    if _placeholder(value):
        return False
    # Dotted identifiers and module paths (``settings.api_key``, ``app.config``) are references.
    if re.fullmatch(r"[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)+", value):
        return False
    words = _name_words(name)
    if words and words[-1] in _PASSWORD_WORDS:
        return _entropy(value) >= _MIN_PASSWORD_ENTROPY
    classes = sum(
        bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]")
    )
    return len(value) >= 12 and classes >= 2 and _entropy(value) >= _MIN_ENTROPY


def _secret_name_hint(lowered: str) -> bool:
    return any(hint in lowered for hint in _SECRET_NAME_HINTS)


def _is_config(path: str) -> bool:
    pure = PurePosixPath(path)
    name = pure.name.lower()
    return name.startswith(".env") or pure.suffix.lower() in _CONFIG_SUFFIXES


def _assignments(line: str, config: bool) -> Iterator[tuple[str, str, int]]:
    for match in _CODE_ASSIGN.finditer(line):
        yield match["name"], match["value"], match.start("value")
    if config:
        bare = _CONFIG_ASSIGN.match(line)
        if bare and not bare["q"]:
            yield bare["name"], bare["value"], bare.start("value")


def find_credentials(text: str, path: str) -> list[CredentialHit]:
    """Credentials written in ``text`` (the content of ``path``), masked, one per value and line."""
    hits: list[CredentialHit] = []
    config = _is_config(path)
    lines = text.splitlines()
    # Prefilters over the whole text, which find a superset of what the line-by-line scan finds:
    # the provider patterns with a match anywhere, and whether any name could be secret-like.
    # A cut line (below) could match where the whole line does not: no prefilter then.
    lowered = text.lower()
    # Non-ASCII text may match a case-insensitive pattern without its ASCII hint (U+017F, U+212A).
    hinted_text = text.isascii()
    if any(len(line) > _MAX_LINE for line in lines):
        patterns = _PROVIDER_PATTERNS
    else:
        patterns = tuple(
            p
            for p in _PROVIDER_PATTERNS
            if (not hinted_text or any(h in lowered for h in p.hints))
            and p.regex.search(text) is not None
        )
        if not patterns and not _secret_name_hint(lowered):
            return hits
    for lineno, line in enumerate(lines, start=1):
        if len(line) > _MAX_LINE:  # minified bundles and data blobs: provider patterns only
            line = line[:_MAX_LINE]
        claimed: list[tuple[int, int]] = []
        seen: set[str] = set()
        hinted = _secret_name_hint(line.lower())
        if not patterns and not hinted:
            continue
        for pattern in patterns:
            for match in pattern.regex.finditer(line):
                value = match.group(pattern.group)
                span = match.span(pattern.group)
                if any(s <= span[0] < e or s < span[1] <= e for s, e in claimed):
                    continue
                if pattern.kind == "url_credentials" and _placeholder(value):
                    continue
                claimed.append(span)
                if value in seen:
                    continue
                seen.add(value)
                hits.append(
                    CredentialHit(path, lineno, pattern.kind, mask(value), value_hash(value))
                )
        if not hinted:
            continue
        for name, value, start in _assignments(line, config):
            if value in seen or any(s <= start < e for s, e in claimed):
                continue
            if not _secret_name(name) or not _plausible_secret(name, value):
                continue
            seen.add(value)
            words = _name_words(name)
            kind = "password" if words and words[-1] in _PASSWORD_WORDS else "secret"
            hits.append(CredentialHit(path, lineno, kind, mask(value), value_hash(value)))
    return hits


def llm_key_kind(name: str, value: str) -> str | None:
    """The LLM provider whose API key an environment variable holds, else None."""
    value = value.strip().strip("\"'")
    if len(value) < 8 or _placeholder(value):
        return None
    for prefix, provider in _LLM_VALUE_PREFIXES:
        if value.startswith(prefix):
            return provider
    by_name = _LLM_ENV_NAMES.get(name.strip().upper())
    if by_name is not None:
        return by_name
    if value.startswith("sk-") and _secret_name(name):
        return "openai"
    return None
