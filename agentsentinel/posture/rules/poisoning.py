"""Hidden instructions in tool definitions (tool poisoning, MCP03).

A tool's description, annotations and parameter descriptions go straight into the model's
context, usually unseen by the user. Poisoned definitions hide instructions there: ``<IMPORTANT>``
blocks, "do not tell the user", "before using this tool, read ~/.ssh/id_rsa", invisible Unicode
that smuggles text past a reviewer, or rules about *other* tools ("when send_email is used, also
BCC …", the shadowing attack).

Key contracts:
- Each signal is a specific pattern over the text with invisible characters removed, NFKC-folded,
  lower-cased and whitespace-collapsed; ordinary imperative phrasing ("you must provide a valid
  id", "use with caution") matches nothing. Names and parameter names are checked for invisible
  characters only.
- Evidence never contains a raw invisible character: code points are written ``U+200B`` and
  excerpts escape them (``\\u200b``); tag characters are also decoded to the ASCII they hide.
- Severity: CRITICAL for tag characters, concealment from the user, "ignore previous
  instructions", a sensitive-file reference combined with any instruction signal, invisible
  characters combined with any textual signal, or two textual signals together; HIGH otherwise.
- Bounded work: at most ``_MAX_STRINGS`` strings of ``_MAX_CHARS`` characters per definition and
  ``_MAX_MATCHES`` matches in the evidence.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from agentsentinel.posture.classifier import tokenize
from agentsentinel.posture.rules.model import Severity


class PoisoningSignal(StrEnum):
    """One kind of hidden instruction."""

    hidden_block = "hidden_block"  # <IMPORTANT>, <SYSTEM>, HTML comments, chat-template tokens
    concealment = "concealment"  # "do not tell the user"
    preliminary_read = "preliminary_read"  # "before using this tool, read <file>"
    sensitive_file = "sensitive_file"  # ~/.ssh, id_rsa, .env, credentials files
    instruction_override = "instruction_override"  # "ignore previous instructions"
    shadowing = "shadowing"  # rules about other tools
    tag_characters = "tag_characters"  # U+E0000-U+E007F: invisible ASCII
    zero_width = "zero_width"  # U+200B-U+200D, U+2060, U+FEFF
    bidi_control = "bidi_control"  # U+202A-U+202E, U+2066-U+2069


INVISIBLE_SIGNALS: Final = frozenset(
    {PoisoningSignal.tag_characters, PoisoningSignal.zero_width, PoisoningSignal.bidi_control}
)
_INSTRUCTION_SIGNALS: Final = frozenset(
    {
        PoisoningSignal.hidden_block,
        PoisoningSignal.concealment,
        PoisoningSignal.preliminary_read,
        PoisoningSignal.instruction_override,
        PoisoningSignal.shadowing,
    }
)
_ALWAYS_CRITICAL: Final = frozenset(
    {
        PoisoningSignal.tag_characters,
        PoisoningSignal.concealment,
        PoisoningSignal.instruction_override,
    }
)

_MAX_CHARS: Final = 10_000
_MAX_STRINGS: Final = 256
_MAX_DEPTH: Final = 8
_MAX_MATCHES: Final = 20
_EXCERPT: Final = 60


def _invisible_class(code: int) -> PoisoningSignal | None:
    if 0xE0000 <= code <= 0xE007F:
        return PoisoningSignal.tag_characters
    if 0x200B <= code <= 0x200D or code in (0x2060, 0xFEFF):
        return PoisoningSignal.zero_width
    if 0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069:
        return PoisoningSignal.bidi_control
    return None


def code_point(char: str) -> str:
    """``U+200B`` notation."""
    return f"U+{ord(char):04X}"


def escape_invisible(text: str) -> str:
    """``text`` with invisible and control characters written as ``\\uXXXX`` / ``\\UXXXXXXXX``."""
    out: list[str] = []
    for char in text:
        code = ord(char)
        if _invisible_class(code) is not None or unicodedata.category(char) in ("Cf", "Cc"):
            if char in "\n\t":
                out.append(" ")
            else:
                out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(char)
    return "".join(out)


# --- Patterns (over normalised text) -------------------------------------------------------------

_USER = r"(?:the\s+)?(?:user|users|human|person|operator|requester|customer)\b"
_TEXT_PATTERNS: Final[tuple[tuple[PoisoningSignal, re.Pattern[str]], ...]] = (
    (
        PoisoningSignal.hidden_block,
        re.compile(
            r"<\s*/?\s*(?:important|system|system[_-]?prompt|instructions?|secret|hidden|admin|"
            r"critical|ai[_-]?instructions?|assistant[_-]?instructions?)\b[^<>]{0,40}>"
        ),
    ),
    (PoisoningSignal.hidden_block, re.compile(r"<!--.{1,2000}?-->", re.DOTALL)),
    (
        PoisoningSignal.hidden_block,
        re.compile(r"\[/?inst\]|<</?sys>>|<\|(?:im_start|im_end|system|endoftext)\|>"),
    ),
    (
        PoisoningSignal.concealment,
        re.compile(
            r"\b(?:do\s+not|don'?t|never|must\s+not|mustn'?t|should\s+not|shouldn'?t|without)\s+"
            r"(?:ever\s+)?(?:tell(?:ing)?|mention(?:ing)?|inform(?:ing)?|reveal(?:ing)?|"
            r"disclos(?:e|ing)|notify(?:ing)?|alert(?:ing)?|let(?:ting)?)\b"
            r"(?:\s+(?!user\b|users\b|human\b)[\w'-]+){0,4}?\s+" + _USER
        ),
    ),
    (
        PoisoningSignal.concealment,
        re.compile(
            r"\b(?:do\s+not|don'?t|never)\s+(?:ever\s+)?(?:tell|mention|reveal|disclose)\s+"
            r"(?:that|this|it|anything\s+about)\b"
        ),
    ),
    (
        PoisoningSignal.concealment,
        re.compile(r"\b(?:hide|conceal|keep)\b(?:\s+[\w'-]+){0,4}?\s+from\s+" + _USER),
    ),
    (
        PoisoningSignal.concealment,
        re.compile(
            _USER + r"\s+(?:must|should|will|need)\s*(?:not|never|n'?t)\s+"
            r"(?:know|see|notice|be\s+told|be\s+informed|find\s+out)\b"
        ),
    ),
    (
        PoisoningSignal.instruction_override,
        re.compile(
            r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+)?(?:of\s+)?"
            r"(?:the\s+|your\s+)?(?:previous|prior|above|earlier|preceding|system|original|other)"
            r"\s+(?:instructions|prompts?|rules|guidelines|directives)\b"
        ),
    ),
)

_SENSITIVE_FILE: Final = re.compile(
    r"~/\.ssh\b|(?<![\w-])\.ssh/|\bid_(?:rsa|dsa|ecdsa|ed25519)\b|\bauthorized_keys\b"
    r"|(?<![\w.])\.env\b(?!-)|\.aws/(?:credentials|config)\b|(?<![\w.])\.netrc\b"
    r"|(?<![\w.])\.npmrc\b|(?<![\w.])\.pypirc\b|(?<![\w.])\.pgpass\b|\.git-credentials\b"
    r"|\.docker/config\.json\b|\.kube/config\b|/etc/(?:passwd|shadow|sudoers)\b"
    r"|\bcredentials\.json\b|\bsecrets?\.(?:json|ya?ml|toml)\b|\bmcp\.json\b"
    r"|\bclaude_desktop_config\.json\b|(?<![\w.])\.gnupg\b|\bwallet\.dat\b"
    r"|\bapplication_default_credentials\.json\b|\.(?:bash|zsh)_history\b"
)

# "before using this tool, read <something file-like> ..."
_BEFORE_TOOL: Final = re.compile(
    r"\bbefore\s+(?:you\s+)?(?:using|use|calling|call|invoking|invoke|running|run|executing)\s+"
    r"(?:this|the|any|each|every)\s+(?:tool|function)\b"
)
_READ_VERB: Final = re.compile(
    r"\b(?:read|open|cat|load|pass|send|include|upload|attach|append|copy|forward|paste)\b"
)
_FILE_LIKE: Final = re.compile(
    r"[~/\\][\w.-]|\b[\w-]+\.(?:json|ya?ml|toml|txt|env|pem|key|ini|cfg|conf|db|sqlite)\b"
    r"|\b(?:file|files|contents?|config|configuration|credentials?|keys?|tokens?|passwords?|"
    r"history|conversation|previous\s+messages|chat\s+log|environment\s+variables)\b"
)

# "when/whenever/if <other> tool is used ..., also/always/must ..."
_TOOL_CONDITION: Final = re.compile(
    r"\b(?:when|whenever|if|before|after|each\s+time|every\s+time)\s+(?:you\s+(?:use|call|invoke|"
    r"run)\s+)?(?P<subject>(?:(?:the|any|another|every|each|all|other)\s+)?(?:[`'\"]?[\w.-]{1,64}"
    r"[`'\"]?\s+)?)(?:tool|tools|function|functions)\b"
)
# "the send_email tool must ...": a directive addressed to a named tool.
_TOOL_DIRECTIVE: Final = re.compile(
    r"(?P<subject>\b(?:the\s+|any\s+|every\s+|all\s+|other\s+)?[`'\"]?[\w.-]{1,64}[`'\"]?)\s+"
    r"(?:tool|tools|function)\s+(?:must|should|shall|has\s+to|have\s+to|needs?\s+to|is\s+to)\s+"
    r"(?:(?:always|also|now|only|instead)\s+)?(?:send|forward|include|add|use|call|bcc|cc|copy|"
    r"route|redirect|post|upload|append|attach|go)\b"
)
_SELF_SUBJECTS: Final = frozenset({"", "this", "the", "a", "an", "that", "your", "our", "my"})
_SHADOW_DIRECTIVE: Final = re.compile(
    r"\b(?:also|always|must|instead|additionally|ensure|make\s+sure|remember|redirect|bcc|cc)\b"
)
# A sentence naming another tool is shadowing only with an override directive in it.
_OVERRIDE_DIRECTIVE: Final = re.compile(
    r"\b(?:instead|never\s+use|do\s+not\s+use|don'?t\s+use|ignore|override|overrides|replace|"
    r"redirect|bcc|also\s+(?:send|add|include|forward|copy|cc|bcc|attach|post|upload|call))\b"
)
# Sentences end at . ! ? ; before whitespace, or at a line break ("~/.ssh" is one word).
_SENTENCE_END: Final = re.compile(r"(?<=[.!?;])\s+|\n+")
_QUOTES: Final = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


# Every match of a pattern above contains one of these literals (most texts contain none, and
# skip the patterns): the textual signals, the sensitive files, the sentence patterns; and, when
# other tools can be shadowed by name, ``_OVERRIDE_DIRECTIVE``.
_TRIGGERS: Final = (
    *("<", "[", "not", "don", "never", "must", "should", "without", "hide", "conceal", "keep"),
    *("will", "need", "ignore", "disregard", "forget", "override"),
    *("ssh", "id_", "authorized_keys", ".env", ".aws/", ".netrc", ".npmrc", ".pypirc", ".pgpass"),
    *(".docker/", ".kube/", "/etc/", "credentials", "secret", "mcp.json", "claude_desktop_config"),
    *(".gnupg", "wallet.dat", "_history"),
    *("before", "tool", "function"),
)
_OVERRIDE_TRIGGERS: Final = ("instead", "replace", "redirect", "bcc", "also")
_TRIGGER: Final = re.compile("|".join(map(re.escape, _TRIGGERS)))
_OVERRIDE_TRIGGER: Final = re.compile("|".join(map(re.escape, _OVERRIDE_TRIGGERS)))


def _normalise(text: str) -> str:
    # Every invisible class is outside ASCII: plain-ASCII text (most definitions) skips the scan.
    visible = (
        text if text.isascii() else "".join(ch for ch in text if _invisible_class(ord(ch)) is None)
    )
    folded = unicodedata.normalize("NFKC", visible).translate(_QUOTES).lower()
    return re.sub(r"[ \t\r\f\v]+", " ", folded)


def _sentences(text: str) -> Iterator[tuple[int, str]]:
    """(offset, sentence) pairs of ``text``; empty sentences are skipped."""
    start = 0
    for end in _SENTENCE_END.finditer(text):
        if end.start() > start:
            yield start, text[start : end.start()]
        start = end.end()
    if start < len(text):
        yield start, text[start:]


def _excerpt(text: str, start: int, end: int) -> str:
    begin = max(0, start - 10)
    snippet = text[begin : min(len(text), max(end, start + 1) + 10)]
    if len(snippet) > _EXCERPT + 20:
        snippet = snippet[: _EXCERPT + 20] + "…"
    return escape_invisible(snippet.strip())


@dataclass(frozen=True, slots=True)
class PoisoningMatch:
    """One signal found in one field of a tool definition."""

    signal: PoisoningSignal
    field: str  # "name", "description", "input_schema.properties.path.description", ...
    excerpt: str  # escaped: never contains a raw invisible character
    code_points: tuple[str, ...] = ()
    decoded: str | None = None  # the ASCII hidden in tag characters

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form; empty optional parts are left out."""
        out: dict[str, Any] = {
            "signal": self.signal.value,
            "field": self.field,
            "excerpt": self.excerpt,
        }
        if self.code_points:
            out["code_points"] = list(self.code_points)
        if self.decoded is not None:
            out["decoded"] = self.decoded
        return out


def _invisible_matches(text: str, field: str) -> list[PoisoningMatch]:
    if text.isascii():  # every invisible class is outside ASCII
        return []
    found: dict[PoisoningSignal, list[tuple[int, str]]] = {}
    for index, char in enumerate(text):
        signal = _invisible_class(ord(char))
        if signal is not None:
            found.setdefault(signal, []).append((index, char))
    out: list[PoisoningMatch] = []
    for signal in sorted(found):
        hits = found[signal]
        points = tuple(sorted({code_point(char) for _, char in hits}))
        decoded = None
        if signal is PoisoningSignal.tag_characters:
            decoded = "".join(
                chr(ord(char) - 0xE0000) for _, char in hits if 0x20 <= ord(char) - 0xE0000 < 0x7F
            )
        first = hits[0][0]
        out.append(
            PoisoningMatch(signal, field, _excerpt(text, first, first + 1), points, decoded or None)
        )
    return out


def _is_other_tool_subject(subject: str, own: frozenset[str]) -> bool:
    """Whether "<subject> tool" names a tool other than the one being described."""
    words = [word.strip("`'\"") for word in subject.split()]
    cleaned = " ".join(words)
    if cleaned in _SELF_SUBJECTS or (words and words[-1] in ("this", "that")):
        return False
    return not (words and words[-1] in own)


def _mentioned_tools(sentence: str, others: Iterable[str]) -> list[str]:
    found = []
    for name in others:
        if re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", sentence):
            found.append(name)
    return found


def _distinctive(name: str) -> bool:
    """Whether a tool name is unlikely to be an ordinary word (``send_email``, ``getUser``)."""
    if len(name) < 4:
        return False
    return any(sep in name for sep in "_-.") or (name != name.lower() and name != name.upper())


class ShadowNames:
    """The distinctive names of an agent's tools, lower-cased, for shadowing by name: built once
    per agent; ``without(tool)`` (the names of the *other* tools) is computed only when a text
    needs it, so checking every tool of an agent is linear in its tools, not quadratic."""

    __slots__ = ("_exact",)

    def __init__(self, names: Iterable[str]) -> None:
        self._exact: dict[str, set[str]] = {}  # lower-cased -> the names as written
        for name in names:
            if _distinctive(name):
                self._exact.setdefault(name.lower(), set()).add(name)

    def any_besides(self, tool_name: str) -> bool:
        """Whether ``without(tool_name)`` is not empty."""
        if len(self._exact) != 1:
            return bool(self._exact)
        (exact,) = self._exact.values()
        return bool(exact - {tool_name})

    def without(self, tool_name: str) -> tuple[str, ...]:
        """The lower-cased distinctive names of the tools other than ``tool_name``, sorted."""
        return tuple(sorted(low for low, exact in self._exact.items() if exact - {tool_name}))


def _text_matches(text: str, field: str, names: ShadowNames, own_name: str) -> list[PoisoningMatch]:
    """Textual signals; ``names`` are the agent's tools (``own_name`` left out for shadowing)."""
    norm = _normalise(text[:_MAX_CHARS])
    shadows = names.any_besides(own_name)
    if _TRIGGER.search(norm) is None and not (shadows and _OVERRIDE_TRIGGER.search(norm)):
        return []
    others = names.without(own_name) if shadows else ()
    own = frozenset({own_name.lower(), *tokenize(own_name)}) if own_name else frozenset()
    out: list[PoisoningMatch] = []
    seen: set[tuple[PoisoningSignal, int]] = set()

    def add(signal: PoisoningSignal, start: int, end: int, offset: int = 0) -> None:
        if (signal, offset + start) not in seen:
            seen.add((signal, offset + start))
            out.append(PoisoningMatch(signal, field, _excerpt(norm, offset + start, offset + end)))

    for signal, pattern in _TEXT_PATTERNS:
        for match in pattern.finditer(norm):
            add(signal, match.start(), match.end())
    for match in _SENSITIVE_FILE.finditer(norm):
        add(PoisoningSignal.sensitive_file, match.start(), match.end())
    for offset, sentence in _sentences(norm):
        before = _BEFORE_TOOL.search(sentence)
        if before is not None:
            rest = sentence[before.end() :]
            if _READ_VERB.search(rest) and _FILE_LIKE.search(rest):
                add(PoisoningSignal.preliminary_read, before.start(), len(sentence), offset)
        for condition in _TOOL_CONDITION.finditer(sentence):
            if _is_other_tool_subject(condition.group("subject"), own) and _SHADOW_DIRECTIVE.search(
                sentence, condition.end()
            ):
                add(PoisoningSignal.shadowing, condition.start(), len(sentence), offset)
                break
        for directive in _TOOL_DIRECTIVE.finditer(sentence):
            if _is_other_tool_subject(directive.group("subject"), own):
                add(PoisoningSignal.shadowing, directive.start(), len(sentence), offset)
                break
        if others and _OVERRIDE_DIRECTIVE.search(sentence):
            for name in _mentioned_tools(sentence, others):
                start = sentence.find(name)
                add(PoisoningSignal.shadowing, start, start + len(name), offset)
    return out


def _strings(value: Any, path: str, depth: int, out: list[tuple[str, str, bool]]) -> None:
    """Collect (field, text, is_name) from a JSON-like value; mapping keys are names."""
    if len(out) >= _MAX_STRINGS or depth > _MAX_DEPTH:
        return
    if isinstance(value, str):
        out.append((path, value, False))
    elif isinstance(value, Mapping):
        for key, sub in value.items():
            if not isinstance(key, str):
                continue
            out.append((f"{path}.{key}", key, True))
            _strings(sub, f"{path}.{key}", depth + 1, out)
    elif isinstance(value, list | tuple):
        for index, sub in enumerate(value):
            _strings(sub, f"{path}[{index}]", depth + 1, out)


def find_poisoning(
    text: str,
    field: str = "description",
    other_tools: Iterable[str] = (),
    tool_name: str = "",
) -> list[PoisoningMatch]:
    """Every poisoning signal in one piece of text.

    ``other_tools`` (names of the agent's other tools) enables shadowing by name; ``tool_name`` (the
    tool being described) keeps "the <own name> tool must …" from counting as shadowing.
    """
    return _invisible_matches(text[:_MAX_CHARS], field) + _text_matches(
        text, field, _names(other_tools), tool_name
    )


def _names(tools: Iterable[str] | ShadowNames) -> ShadowNames:
    return tools if isinstance(tools, ShadowNames) else ShadowNames(tools)


def scan_tool_definition(
    name: str,
    description: str | None = None,
    input_schema: Mapping[str, Any] | None = None,
    annotations: Mapping[str, Any] | None = None,
    other_tools: Iterable[str] | ShadowNames = (),
) -> tuple[PoisoningMatch, ...]:
    """Poisoning signals anywhere in a tool definition, in field order (``other_tools``: the names
    of the agent's tools, or a ``ShadowNames`` of them shared by every tool of the agent)."""
    others = _names(other_tools)
    items: list[tuple[str, str, bool]] = [("name", name, True)]
    if description:
        items.append(("description", description, False))
    if input_schema:
        _strings(input_schema, "input_schema", 0, items)
    if annotations:
        _strings(annotations, "annotations", 0, items)
    matches: list[PoisoningMatch] = []
    for field, text, is_name in items[: _MAX_STRINGS + 2]:
        if is_name:
            matches += _invisible_matches(text[:_MAX_CHARS], field)
        else:
            matches += _invisible_matches(text[:_MAX_CHARS], field)
            matches += _text_matches(text, field, others, name)
    return tuple(matches)


def poisoning_severity(matches: Iterable[PoisoningMatch]) -> Severity | None:
    """CRITICAL / HIGH by the rules in the module docstring; None when nothing matched."""
    signals = {match.signal for match in matches}
    if not signals:
        return None
    textual = signals - INVISIBLE_SIGNALS
    instructions = signals & _INSTRUCTION_SIGNALS
    if (
        signals & _ALWAYS_CRITICAL
        or (PoisoningSignal.sensitive_file in signals and instructions)
        or (signals & INVISIBLE_SIGNALS and textual)
        or len(textual) >= 2
    ):
        return Severity.CRITICAL
    return Severity.HIGH


def limit_matches(matches: tuple[PoisoningMatch, ...]) -> tuple[list[dict[str, Any]], bool]:
    """The first ``_MAX_MATCHES`` matches as dicts, and whether any were left out."""
    return [match.to_dict() for match in matches[:_MAX_MATCHES]], len(matches) > _MAX_MATCHES
