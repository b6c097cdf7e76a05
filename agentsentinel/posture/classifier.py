"""The tool classifier: from a tool's name, description, schema, annotations and sinks to its risk.

Key contracts:
- ``classify_tool`` is pure and deterministic: the same inputs give the same ``ToolClassification``
  (and the same ``to_dict()``), with no I/O and no global state beyond the precompiled tables.
- Words are matched as whole lemmatised tokens with verb/object roles, never as substrings.
- Each signal adds weighted evidence for a capability; a capability is reported when its combined
  weight ``1 - prod(1 - w)`` reaches ``vocabulary.THRESHOLD``. The evidence that decided the result
  is returned with it.
- Read-only declarations (``readOnlyHint: true``, "read-only" in the description) and explicit
  negations ("does not delete") dampen evidence, except sinks and explicit name evidence such as
  ``delete_file`` (for any capability but ``writes_internal``): MCP annotations are hints from a
  server that may not be trusted, so they can lower but not erase a risk the name states outright.
- A ``ToolOverride`` replaces the derived scope / capabilities / danger and is recorded as evidence.
- Cost is O(tokens): one regex pass over the name and the description, dict lookups per token.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, NamedTuple

from agentsentinel.posture import vocabulary as v
from agentsentinel.posture.capabilities import (
    WRITE_CAPABILITIES,
    ToolCapability,
    ToolScope,
    is_dangerous,
    scope_for,
)
from agentsentinel.posture.sinks import sink_rule
from agentsentinel.posture.vocabulary import Action, ParamRole, Tag

EvidenceSource = Literal[
    "name", "description", "parameter", "schema", "annotation", "sink", "override"
]

_SOURCE_ORDER: Final[dict[str, int]] = {
    "override": 0,
    "sink": 1,
    "name": 2,
    "annotation": 3,
    "description": 4,
    "parameter": 5,
    "schema": 6,
}

_C = ToolCapability
_PRIV = _C.reads_private_data
_UNTR = _C.reads_untrusted_content
_WEXT = _C.writes_external
_WINT = _C.writes_internal
_DEST = _C.destructive
_CODE = _C.code_execution
_SECR = _C.secrets_access
_ADMIN = _C.privilege_admin
_INFRA = _C.infrastructure
_FIN = _C.financial

_IDENTIFIER_RE: Final = re.compile(
    r"[A-Z]{2,}s(?![a-z])|[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+"
)
_DESCRIPTION_RE: Final = re.compile(r"[a-z]+|\d+|[.!?;](?=\s|$)|[,:()\[\]\n]")
_SENTENCE_END: Final = "."
_CLAUSE_END: Final = ","
_MAX_DESCRIPTION_CHARS: Final = 4000
_MAX_NAME_CHARS: Final = 256
# Lemmas plus punctuation folded into the two boundary markers, so a description is mapped with
# one dict lookup per token.
_DESCRIPTION_TOKENS: Final[dict[str, str]] = {
    **v.LEMMAS,
    **dict.fromkeys(".!?;\n", _SENTENCE_END),
    **dict.fromkeys(",:()[]", _CLAUSE_END),
}
_PHRASE_STARTS: Final = frozenset(v.PHRASES_BY_FIRST)
_PAIR_VERBS: Final = frozenset(verb for verb, _ in v.PAIR_ACTIONS)
_MAX_PARAMS: Final = 64
_MAX_SCHEMA_DEPTH: Final = 3
_NEGATION_SPAN: Final = 4
_MAX_OBJECT_WORDS: Final = 6

_STRONG_ACTIONS: Final = frozenset(
    {Action.delete, Action.send, Action.pay, Action.grant, Action.operate}
)
_READ_ACTIONS: Final = frozenset({Action.read, Action.fetch})
_NOT_A_TARGET: Final = frozenset({Tag.meta, Tag.passthrough})
# Object kinds that make a read return private data.
_PRIVATE_KINDS: Final = frozenset({Tag.private, Tag.file, Tag.money, Tag.identity, Tag.sql})
_SECRET_KINDS: Final = frozenset({Tag.secret, Tag.weak_secret})
# A fetch of these returns them, not untrusted content (``fetch_token``, ``fetch_user``).
_FETCHED_RECORD_KINDS: Final = frozenset(
    {Tag.private, Tag.secret, Tag.weak_secret, Tag.identity, Tag.money}
)


# --- Public data types -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Evidence:
    """One observation behind a classification: where it came from and what it supports."""

    source: EvidenceSource
    token: str
    supports: ToolCapability | ToolScope | None
    weight: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form."""
        return {
            "source": self.source,
            "token": self.token,
            "supports": None if self.supports is None else self.supports.value,
            "weight": self.weight,
        }


@dataclass(frozen=True, slots=True)
class ToolOverride:
    """A user's decision for one tool; any field that is set replaces the derived value."""

    scope: ToolScope | None = None
    capabilities: frozenset[ToolCapability] | None = None
    is_dangerous: bool | None = None

    def __post_init__(self) -> None:
        if self.scope is not None:
            object.__setattr__(self, "scope", ToolScope(self.scope))
        if self.capabilities is not None:
            caps = frozenset(ToolCapability(cap) for cap in self.capabilities)
            object.__setattr__(self, "capabilities", caps)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ToolOverride:
        """Build from a config-file / API mapping; raises ValueError on unknown values."""
        unknown = set(data) - {"scope", "capabilities", "is_dangerous"}
        if unknown:
            raise ValueError(f"unknown override fields: {', '.join(sorted(unknown))}")
        scope = data.get("scope")
        caps = data.get("capabilities")
        danger = data.get("is_dangerous")
        if caps is not None and (isinstance(caps, str) or not isinstance(caps, Iterable)):
            raise ValueError("capabilities must be a list of capability names")
        if danger is not None and not isinstance(danger, bool):
            raise ValueError("is_dangerous must be a boolean")
        return cls(
            scope=None if scope is None else ToolScope(scope),
            capabilities=None if caps is None else frozenset(ToolCapability(c) for c in caps),
            is_dangerous=danger,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form with only the fields that are set."""
        out: dict[str, Any] = {}
        if self.scope is not None:
            out["scope"] = self.scope.value
        if self.capabilities is not None:
            out["capabilities"] = sorted(cap.value for cap in self.capabilities)
        if self.is_dangerous is not None:
            out["is_dangerous"] = self.is_dangerous
        return out


@dataclass(frozen=True, slots=True)
class ToolClassification:
    """What a tool can do, how sure we are, and why."""

    scope: ToolScope
    capabilities: frozenset[ToolCapability]
    is_dangerous: bool
    confidence: float
    evidence: tuple[Evidence, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form; lists are sorted so equal classifications serialise equally."""
        return {
            "scope": self.scope.value,
            "capabilities": sorted(cap.value for cap in self.capabilities),
            "is_dangerous": self.is_dangerous,
            "confidence": self.confidence,
            "evidence": [item.to_dict() for item in self.evidence],
        }


# --- Tokenising --------------------------------------------------------------------------------


def _ascii_folded(text: str) -> str:
    """NFKC-normalised text, so compatibility forms (fullwidth letters) match their words."""
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def tokenize(identifier: str) -> tuple[str, ...]:
    """Split on case, separators and digits: ``getHTTPResponse2`` -> get, http, response, 2."""
    text = _ascii_folded(identifier[:_MAX_NAME_CHARS])
    return tuple([token.lower() for token in _IDENTIFIER_RE.findall(text)])


def _lemma(token: str) -> str:
    return v.LEMMAS.get(token, token)


def _merge_spans(lemmas: Sequence[str]) -> list[tuple[str, int, int]]:
    """Known phrases merged into one lemma, as (lemma, start, size) spans of the input."""
    merged: list[tuple[str, int, int]] = []
    i, n = 0, len(lemmas)
    while i < n:
        for key, value in v.PHRASES_BY_FIRST.get(lemmas[i], ()):
            size = len(key)
            if tuple(lemmas[i : i + size]) == key:
                merged.append((value, i, size))
                i += size
                break
        else:
            merged.append((lemmas[i], i, 1))
            i += 1
    return merged


def _merge_phrases(lemmas: list[str]) -> list[str]:
    if _PHRASE_STARTS.isdisjoint(lemmas):
        return lemmas  # the common case: nothing to merge
    return [lemma for lemma, _, _ in _merge_spans(lemmas)]


def description_words(text: str) -> tuple[str, ...]:
    """Lemmatised words of a description with known phrases merged (``read-only`` -> readonly)."""
    return tuple(
        word for word in _description_words(text) if word not in (_SENTENCE_END, _CLAUSE_END)
    )


# --- Effects of an action on its objects --------------------------------------------------------


class _Effect(NamedTuple):
    capability: ToolCapability
    kind: Literal["tagged", "object", "alone"]
    convertible: bool = False


class _Outcome(NamedTuple):
    effects: tuple[_Effect, ...]
    action: Action
    admin_target: bool
    external_target: bool


def _object_tags(objects: Sequence[str]) -> list[frozenset[Tag]]:
    return [v.OBJECT_TAGS.get(obj, frozenset()) for obj in objects]


def _pair_action(
    verb: str, objects: Sequence[str], tags: Sequence[frozenset[Tag]]
) -> Action | None:
    if verb not in _PAIR_VERBS:
        return None
    # From the head noun backwards: in ``reset_user_password`` the password is what gets reset.
    for obj, obj_tags in zip(reversed(objects), reversed(tags), strict=True):
        action = v.PAIR_ACTIONS.get((verb, obj))
        if action is not None:
            return action
        for tag in obj_tags:  # a Tag hashes and compares like its string value
            action = v.PAIR_ACTIONS.get((verb, tag))
            if action is not None:
                return action
    return None


def _effects(action: Action, verb: str, objects: Sequence[str], *, head_meta: bool) -> _Outcome:
    """Capabilities of ``verb objects`` and whether they target identities or external services."""
    per_object = _object_tags(objects)
    action = _pair_action(verb, objects, per_object) or action
    tags: frozenset[Tag] = frozenset().union(*per_object) if per_object else frozenset()
    informative = tags - _NOT_A_TARGET
    text_only = bool(informative) and informative <= {Tag.text, Tag.file_format}
    base: Literal["tagged", "object", "alone"] = (
        "tagged" if informative else ("object" if objects else "alone")
    )
    external = Tag.external in tags
    out: list[_Effect] = []
    admin_target = False

    if action in _READ_ACTIONS:
        if head_meta and action is Action.read:
            return _Outcome((), action, False, False)
        if not _PRIVATE_KINDS.isdisjoint(tags) and not (
            action is Action.fetch and tags & _PRIVATE_KINDS == {Tag.file}
        ):
            out.append(_Effect(_PRIV, "tagged"))
        if not _SECRET_KINDS.isdisjoint(tags):
            out.append(_Effect(_SECR, "tagged"))
        untrusted = Tag.untrusted in tags or (
            external and tags.isdisjoint({Tag.identity, Tag.privilege})
        )
        if action is Action.fetch and _FETCHED_RECORD_KINDS.isdisjoint(tags):
            untrusted = True
        if untrusted:
            out.append(_Effect(_UNTR, "tagged" if informative else base))
    elif action is Action.write:
        if text_only and Tag.file_format not in informative:
            return _Outcome((), action, False, False)
        specific: list[_Effect] = []
        if external:
            specific.append(_Effect(_WEXT, "tagged"))
        if Tag.money in tags and verb in v.MONEY_CREATING_VERBS:
            specific.append(_Effect(_FIN, "tagged"))
        if Tag.privilege in tags or (Tag.identity in tags and verb in v.IDENTITY_CREATING_VERBS):
            specific.append(_Effect(_ADMIN, "tagged"))
        if Tag.infra in tags:
            specific.append(_Effect(_INFRA, "tagged"))
        if Tag.secret in tags:
            specific += [_Effect(_SECR, "tagged"), _Effect(_WINT, "tagged")]
        out = specific or [_Effect(_WINT, base, convertible=True)]
    elif action is Action.send:
        out.append(_Effect(_FIN if Tag.money in tags else _WEXT, base))
    elif action is Action.delete:
        if text_only:
            return _Outcome((), action, False, False)
        if Tag.privilege in tags:
            out.append(_Effect(_ADMIN, "tagged"))
        else:
            out.append(_Effect(_DEST, base))
            if Tag.infra in tags:
                out.append(_Effect(_INFRA, "tagged"))
            if Tag.secret in tags:
                out.append(_Effect(_SECR, "tagged"))
            admin_target = Tag.identity in tags
    elif action is Action.execute:
        if tags & {Tag.code, Tag.interpreter, Tag.sql, Tag.query}:
            out.append(_Effect(_CODE, "tagged"))
            if tags & {Tag.sql, Tag.query}:
                out.append(_Effect(_PRIV, "tagged"))
        elif verb in v.ALWAYS_CODE_VERBS or (not objects and verb in v.CODE_EXECUTION_VERBS_ALONE):
            out.append(_Effect(_CODE, base if objects else "alone"))
    elif action is Action.pay:
        out.append(_Effect(_FIN, "tagged" if Tag.money in tags else base))
    elif action is Action.grant:
        out.append(_Effect(_ADMIN, base))
    elif action is Action.access:
        if tags & {Tag.identity, Tag.privilege}:
            out.append(_Effect(_ADMIN, "tagged"))
        elif Tag.infra in tags:
            out.append(_Effect(_INFRA, "tagged"))
        else:
            out.append(_Effect(_WINT, base, convertible=True))
    elif action is Action.operate:
        out.append(_Effect(_INFRA, base))
        if verb in v.DESTRUCTIVE_OPERATIONS:
            out.append(_Effect(_DEST, base))
    return _Outcome(tuple(out), action, admin_target, external and action is Action.write)


def _name_weight(effect: _Effect, action: Action) -> float:
    if effect.kind == "tagged":
        return v.NAME_PAIR
    if effect.kind == "object":
        return v.NAME_STRONG_VERB_OBJECT if action in _STRONG_ACTIONS else v.NAME_VERB_OBJECT
    if action in _STRONG_ACTIONS or action in (Action.fetch, Action.execute):
        return v.NAME_VERB_ALONE
    return v.NAME_WEAK_VERB_ALONE


# --- Accumulating signals -----------------------------------------------------------------------


@dataclass(slots=True)
class _Signal:
    capability: ToolCapability
    weight: float
    source: EvidenceSource
    token: str
    strong: bool = False
    convertible: bool = False


class _State:
    """Evidence gathered while classifying one tool."""

    __slots__ = (
        "admin_target",
        "external_target",
        "negated",
        "read_only",
        "scope_evidence",
        "signals",
    )

    def __init__(self) -> None:
        self.signals: list[_Signal] = []
        self.scope_evidence: list[Evidence] = []
        self.negated: set[ToolCapability] = set()
        self.read_only = False
        self.admin_target: Evidence | None = None
        self.external_target = False

    def add(
        self,
        capability: ToolCapability,
        weight: float,
        source: EvidenceSource,
        token: str,
        *,
        strong: bool = False,
        convertible: bool = False,
    ) -> None:
        self.signals.append(_Signal(capability, weight, source, token, strong, convertible))

    def add_outcome(
        self, outcome: _Outcome, source: EvidenceSource, token: str, factor: float
    ) -> None:
        for effect in outcome.effects:
            weight = _name_weight(effect, outcome.action) * factor
            # Explicit name evidence (``delete_file``, ``fetch_page``) survives read-only claims,
            # closed-world hints and negations: a lying hint must not hide a risk. Only an
            # internal write may be argued away; under-reporting it carries no risk.
            strong = source == "name" and weight >= v.STRONG and effect.capability is not _WINT
            self.add(
                effect.capability,
                weight,
                source,
                token,
                strong=strong,
                convertible=effect.convertible,
            )
        if outcome.admin_target and self.admin_target is None:
            self.admin_target = Evidence(
                source, token, ToolScope.admin, round(v.NAME_PAIR * factor, 3)
            )
        if outcome.external_target:
            self.external_target = True


# --- Name ---------------------------------------------------------------------------------------


class _NameParse(NamedTuple):
    action: Action | None
    verb: str
    objects: tuple[str, ...]
    secondary: tuple[tuple[Action, str], ...]
    predicate: bool


def _compatible(verb: str, action: Action, tags: frozenset[Tag]) -> bool:
    """Whether a name-final noun-like verb acts on the tokens before it (``python_exec``)."""
    if action in (Action.read, Action.operate) or verb in v.ALWAYS_CODE_VERBS:
        return True
    wanted = {
        Action.execute: {Tag.code, Tag.interpreter, Tag.sql, Tag.query, Tag.infra},
        Action.send: {Tag.channel, Tag.external},
        Action.pay: {Tag.money},
        Action.grant: {Tag.privilege, Tag.identity},
    }.get(action, set())
    return not tags.isdisjoint(wanted)


def _parse_name(name: str) -> _NameParse:
    raw = tokenize(name)
    if not raw:
        return _NameParse(None, "", (), (), False)
    if raw[0] in v.PREDICATE_PREFIXES and len(raw) > 1:
        return _NameParse(Action.read, raw[0], (), (), True)
    get = v.LEMMAS.get
    lemmas = [get(tok, tok) for tok in raw]
    # Only an uninflected token can be the verb of a name: ``deleted_items`` deletes nothing.
    if _PHRASE_STARTS.isdisjoint(lemmas):
        spans = [
            (lemma, lemma == tok)
            for lemma, tok in zip(lemmas, raw, strict=True)
            if not lemma.isdigit()
        ]
    else:
        spans = [
            (lemma, size > 1 or lemmas[start] == raw[start])
            for lemma, start, size in _merge_spans(lemmas)
            if not lemma.isdigit()
        ]
    meaningful = [span for span in spans if span[0] not in v.GENERIC_NAME_TOKENS]
    spans = meaningful or spans
    tokens = [lemma for lemma, _ in spans]
    is_base = [base for _, base in spans]

    def action_of(i: int) -> Action | None:
        action = v.VERB_ACTIONS.get(tokens[i])
        return None if action is Action.meta or not is_base[i] else action

    verb_index: int | None = None
    verb_action: Action | None = None
    verb = ""
    for i, tok in enumerate(tokens):
        action = action_of(i)
        if action is not None and tok not in v.NOUN_LIKE_VERBS:
            verb_index, verb_action, verb = i, action, tok
            break
    last = len(tokens) - 1
    if verb_index is None and tokens:
        head = tokens[last]
        mapped = v.AGENT_NOUNS.get(head) or v.NOMINALS.get(head)
        if mapped is not None:
            verb_index, verb_action, verb = last, v.VERB_ACTIONS[mapped], mapped
    if verb_index is None and tokens:
        head_tags = v.OBJECT_TAGS.get(tokens[last], frozenset())
        before = frozenset().union(*_object_tags(tokens[:last])) if last else frozenset()
        for i, tok in enumerate(tokens):
            action = action_of(i)
            if action is None:
                continue
            if (
                last == 0
                or (i < last and head_tags.isdisjoint(_NOT_A_TARGET))
                or (i == last and _compatible(tok, action, before))
            ):
                verb_index, verb_action, verb = i, action, tok
                break
    secondary: list[tuple[Action, str]] = []
    objects: list[str] = []
    for i, tok in enumerate(tokens):
        if i == verb_index or tok in v.STOPWORDS:
            continue
        action = action_of(i)
        if (
            action is not None
            and verb_index is not None
            and i > verb_index
            and tokens[i - 1] in ("and", "then", "or")
        ):
            secondary.append((action, tok))
            continue
        objects.append(tok)
    return _NameParse(verb_action, verb, tuple(objects), tuple(secondary), False)


def _analyse_name(parse: _NameParse, state: _State) -> None:
    if parse.predicate:
        state.scope_evidence.append(
            Evidence("name", f"{parse.verb}_", ToolScope.read, v.SCOPE_FROM_VERB)
        )
        return
    objects = parse.objects
    head_meta = bool(objects) and Tag.meta in v.OBJECT_TAGS.get(objects[-1], frozenset())
    if parse.action is None:
        _analyse_verbless_name(objects, state, head_meta=head_meta)
        return
    token = "+".join((parse.verb, *objects)) if objects else parse.verb
    outcome = _effects(parse.action, parse.verb, objects, head_meta=head_meta)
    state.add_outcome(outcome, "name", token, 1.0)
    if outcome.action in (Action.read, Action.fetch, Action.transform) and not outcome.effects:
        state.scope_evidence.append(Evidence("name", parse.verb, ToolScope.read, v.SCOPE_FROM_VERB))
    for action, verb in parse.secondary:
        state.add_outcome(
            _effects(action, verb, objects, head_meta=head_meta), "name", f"{verb}+{token}", 1.0
        )


def _analyse_verbless_name(objects: Sequence[str], state: _State, *, head_meta: bool) -> None:
    if not objects:
        return
    head = objects[-1]
    head_tags = v.OBJECT_TAGS.get(head, frozenset())
    modifier_tags = (
        frozenset().union(*_object_tags(objects[:-1])) if len(objects) > 1 else frozenset()
    )
    token = "+".join(objects)
    if (
        Tag.interpreter in head_tags
        or (Tag.code in head_tags and modifier_tags & {Tag.code, Tag.interpreter})
        or (not head_meta and not v.INTERPRETER_NOUNS.isdisjoint(objects))
    ):
        state.add(_CODE, v.NAME_INTERPRETER, "name", token, strong=False)
    elif Tag.sql in head_tags:
        state.add(_CODE, v.NAME_INTERPRETER, "name", token)
        state.add(_PRIV, v.NAME_INTERPRETER, "name", token)
    elif head in v.SENDING_HEADS:
        state.add(_WEXT, v.NAME_NOUN_ONLY, "name", token)
    elif not head_meta:
        outcome = _effects(Action.read, "", objects, head_meta=False)
        for effect in outcome.effects:
            state.add(effect.capability, v.NAME_NOUN_ONLY, "name", token)


# --- Description --------------------------------------------------------------------------------


class _Phrase(NamedTuple):
    objects: tuple[str, ...]
    head: str
    places: tuple[tuple[str, str], ...]
    end: int


def _starts_clause(words: Sequence[str], start: int) -> bool:
    """Whether the words after "and"/"or" start a new verb phrase rather than another noun."""
    for word in words[start : start + 4]:
        if word in v.STOPWORDS or word.endswith("ly"):
            continue
        action = v.VERB_ACTIONS.get(word)
        return action is not None and word not in v.NOUN_LIKE_VERBS
    return True


def _collect_objects(words: Sequence[str], start: int) -> _Phrase:
    """The noun phrase after a verb and the prepositional phrases that follow it."""
    objects: list[str] = []
    places: list[tuple[str, str]] = []
    head = ""
    head_frozen = False
    preposition = ""
    j, n = start, len(words)
    while j < n and len(objects) + len(places) < _MAX_OBJECT_WORDS:
        word = words[j]
        if word in ("which", "what") and not objects and not places:
            j += 1  # "shows which records ..." - a determiner, not a relative clause
            continue
        if word in ("and", "or") and not _starts_clause(words, j + 1):
            j += 1  # coordination: "a file or directory from a GitHub repository"
            continue
        if word in (_SENTENCE_END, _CLAUSE_END) or word in v.CLAUSE_STARTERS or word in v.NEGATORS:
            break
        if not preposition and word in v.NOUN_PHRASE_CONTINUATIONS:
            head_frozen = head_frozen or word in ("of", "about")
        elif word in v.PREPOSITIONS:
            preposition = word
        elif word in v.STOPWORDS:
            pass
        elif preposition:
            places.append((preposition, word))
        else:
            objects.append(word)
            if not head_frozen:
                head = word
        j += 1
    return _Phrase(tuple(objects), head, tuple(places), j)


def _description_words(text: str) -> list[str]:
    get = _DESCRIPTION_TOKENS.get
    tokens = _DESCRIPTION_RE.findall(_ascii_folded(text[:_MAX_DESCRIPTION_CHARS]).lower())
    return _merge_phrases([get(tok, tok) for tok in tokens])


def _analyse_description(text: str, state: _State) -> Action | None:
    """Add description evidence; returns the action of the description's first effect."""
    words = _description_words(text)
    # Markers count wherever they appear, including inside a noun phrase ("a read-only query").
    if not v.READ_ONLY_MARKERS.isdisjoint(words):
        state.read_only = True
        state.scope_evidence.append(
            Evidence("description", "read-only", ToolScope.read, v.ANNOTATION_READ_ONLY)
        )
    if not v.IRREVERSIBLE_MARKERS.isdisjoint(words):
        state.add(_DEST, v.DESCRIPTION_IRREVERSIBLE, "description", "irreversible")
    main: Action | None = None
    negation = 0
    sentence_start = True
    previous = ""
    verb_action = v.VERB_ACTIONS.get
    determiners, noun_like, introducers = v.DETERMINERS, v.NOUN_LIKE_VERBS, v.VERB_INTRODUCERS
    negators = v.NEGATORS
    i, n = 0, len(words)
    while i < n:
        word = words[i]
        if word in (_SENTENCE_END, _CLAUSE_END):
            negation = 0
            sentence_start = word == _SENTENCE_END or sentence_start
            previous = ""
            i += 1
            continue
        action = verb_action(word)
        if (
            action is not None
            and action is not Action.meta
            and previous not in determiners
            and (word not in noun_like or sentence_start or previous in introducers)
        ):
            phrase = _collect_objects(words, i + 1)
            objects = list(phrase.objects)
            if action in _READ_ACTIONS or action is Action.transform:
                objects += [w for p, w in phrase.places if p in v.SOURCE_PREPOSITIONS]
            head_meta = Tag.meta in v.OBJECT_TAGS.get(phrase.head, frozenset())
            outcome = _effects(action, word, objects, head_meta=head_meta)
            destination_external = bool(phrase.places) and any(
                p in v.DESTINATION_PREPOSITIONS and Tag.external in v.OBJECT_TAGS.get(w, ())
                for p, w in phrase.places
            )
            token = "+".join((word, *phrase.objects)) if phrase.objects else word
            if negation:
                state.negated.update(effect.capability for effect in outcome.effects)
            else:
                factor = v.DESCRIPTION_OTHER if main is not None else v.DESCRIPTION_MAIN
                state.add_outcome(outcome, "description", token, factor)
                if destination_external and outcome.action is Action.write:
                    state.external_target = True
                if main is None:
                    main = outcome.action
            negation = max(0, negation - 1 - (phrase.end - i - 1))
            sentence_start = False
            previous = word
            i = phrase.end
            continue
        if word in negators:
            negation = _NEGATION_SPAN
        elif negation:
            negation -= 1
        sentence_start = False
        previous = word
        i += 1
    return main


# --- Parameters ---------------------------------------------------------------------------------


def _properties(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    props = schema.get("properties")
    if isinstance(props, Mapping):
        return props
    if "type" not in schema and all(isinstance(key, str) for key in schema):
        return schema  # a bare {name: schema} mapping
    return {}


def _param_roles(raw_name: str) -> list[ParamRole]:
    """Roles a parameter name states: its whole name first, else each of its tokens."""
    tokens = tokenize(raw_name)
    role = v.PARAM_NAMES.get("_".join(tokens))
    if role is not None:
        return [role]
    return [r for tok in tokens if (r := v.PARAM_TOKENS.get(_lemma(tok))) is not None]


def path_parameters(input_schema: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    """Parameters whose name says they take a file-system path, with their (sub)schema.

    Same parameter vocabulary and depth limits as ``classify_tool``; nested parameters are named
    with dots (``options.path``). A parameter with no schema of its own maps to ``{}``.
    """
    found: dict[str, Mapping[str, Any]] = {}

    def walk(schema: Mapping[str, Any], prefix: str, depth: int) -> None:
        for raw_name, sub in _properties(schema).items():
            if len(found) >= _MAX_PARAMS or not isinstance(raw_name, str):
                continue
            sub_schema: Mapping[str, Any] = sub if isinstance(sub, Mapping) else {}
            if ParamRole.path in _param_roles(raw_name):
                found[prefix + raw_name] = sub_schema
            if depth < _MAX_SCHEMA_DEPTH:
                if isinstance(sub_schema.get("properties"), Mapping):
                    walk(sub_schema, f"{prefix}{raw_name}.", depth + 1)
                items = sub_schema.get("items")
                if isinstance(items, Mapping) and isinstance(items.get("properties"), Mapping):
                    walk(items, f"{prefix}{raw_name}[].", depth + 1)

    if input_schema and isinstance(input_schema, Mapping):
        walk(input_schema, "", 0)
    return found


def _collect_params(
    schema: Mapping[str, Any], out: list[tuple[str, ParamRole, EvidenceSource]], depth: int
) -> None:
    for raw_name, sub in _properties(schema).items():
        if len(out) >= _MAX_PARAMS:
            return
        if not isinstance(raw_name, str):
            continue
        out.extend((raw_name, role, "parameter") for role in _param_roles(raw_name))
        if not isinstance(sub, Mapping):
            continue
        fmt = sub.get("format")
        if isinstance(fmt, str) and fmt in v.SCHEMA_FORMATS:
            out.append((f"{raw_name}:format={fmt}", v.SCHEMA_FORMATS[fmt], "schema"))
        if depth < _MAX_SCHEMA_DEPTH:
            if isinstance(sub.get("properties"), Mapping):
                _collect_params(sub, out, depth + 1)
            items = sub.get("items")
            if isinstance(items, Mapping) and isinstance(items.get("properties"), Mapping):
                _collect_params(items, out, depth + 1)


def _analyse_params(schema: Mapping[str, Any], action: Action | None, state: _State) -> None:
    found: list[tuple[str, ParamRole, EvidenceSource]] = []
    _collect_params(schema, found, 0)
    if not found:
        return
    by_role: dict[ParamRole, tuple[str, EvidenceSource]] = {}
    for name, role, source in found:
        by_role.setdefault(role, (name, source))

    def add(cap: ToolCapability, weight: float, *roles: ParamRole) -> None:
        names = "+".join(by_role[role][0] for role in roles)
        state.add(cap, weight, by_role[roles[0]][1], names)

    reading = action in (Action.read, Action.fetch, None)
    if ParamRole.url in by_role:
        if action is Action.send:
            add(_WEXT, v.PARAM, ParamRole.url)
        elif reading:
            add(_UNTR, v.PARAM if action else v.PARAM_WEAK, ParamRole.url)
    if ParamRole.person in by_role and action in (Action.send, Action.write, None):
        if ParamRole.content in by_role:
            add(_WEXT, v.PARAM, ParamRole.person, ParamRole.content)
        elif action is Action.send:
            add(_WEXT, v.PARAM_WEAK, ParamRole.person)
    if action is Action.execute:
        for role in (ParamRole.code, ParamRole.code_exact):
            if role in by_role:
                add(_CODE, v.PARAM_STRONG, role)
                break
    elif action is None and ParamRole.code in by_role:
        add(_CODE, v.PARAM_WEAK, ParamRole.code)
    if ParamRole.sql in by_role and action in (Action.execute, Action.read, None):
        add(_CODE, v.PARAM_STRONG - 0.05, ParamRole.sql)
        add(_PRIV, v.PARAM, ParamRole.sql)
    if ParamRole.query in by_role and action is Action.execute:
        add(_CODE, v.PARAM, ParamRole.query)
        add(_PRIV, v.PARAM_WEAK, ParamRole.query)
    moves_money = action not in (Action.read, Action.fetch, Action.transform)
    if moves_money and ParamRole.money_strong in by_role:
        add(_FIN, v.PARAM, ParamRole.money_strong)
    elif moves_money and ParamRole.money_weak in by_role:
        if ParamRole.person in by_role:
            add(_FIN, v.PARAM_WEAK + 0.05, ParamRole.money_weak, ParamRole.person)
        elif action is Action.pay:
            add(_FIN, v.PARAM_HINT, ParamRole.money_weak)
    if ParamRole.path in by_role:
        if action is Action.write:
            add(_WINT, v.PARAM_WEAK, ParamRole.path)
        elif action is Action.delete:
            add(_DEST, v.PARAM_WEAK + 0.05, ParamRole.path)
        elif action is Action.read:
            add(_PRIV, v.PARAM_WEAK, ParamRole.path)
        elif action is None:
            add(_PRIV, v.PARAM_HINT, ParamRole.path)
    if ParamRole.role in by_role and action in (Action.write, Action.grant, Action.access, None):
        add(_ADMIN, v.PARAM_WEAK + 0.05, ParamRole.role)


# --- Annotations --------------------------------------------------------------------------------


class _Hints(NamedTuple):
    read_only: bool | None
    destructive: bool | None
    idempotent: bool | None
    open_world: bool | None


def _hints(annotations: Mapping[str, Any]) -> _Hints:
    def hint(key: str) -> bool | None:
        value = annotations.get(key)
        return value if isinstance(value, bool) else None

    return _Hints(
        hint("readOnlyHint"), hint("destructiveHint"), hint("idempotentHint"), hint("openWorldHint")
    )


_HINT_NAMES: Final = ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint")
_NO_HINTS: Final = _Hints(None, None, None, None)


def _hint_token(name: str, value: bool) -> str:
    return f"{name}={'true' if value else 'false'}"


# --- Combining ----------------------------------------------------------------------------------


def _combine(weights: Iterable[float]) -> float:
    remaining = 1.0
    for weight in weights:
        remaining *= 1.0 - weight
    return 1.0 - remaining


def _scores(signals: Sequence[_Signal]) -> dict[ToolCapability, float]:
    remaining: dict[ToolCapability, float] = {}
    for signal in signals:
        remaining[signal.capability] = remaining.get(signal.capability, 1.0) * (1.0 - signal.weight)
    return {cap: 1.0 - rest for cap, rest in remaining.items()}


def _dampen(
    signals: Iterable[_Signal], capabilities: Iterable[ToolCapability], factor: float
) -> None:
    caps = frozenset(capabilities)
    for signal in signals:
        if signal.capability in caps and signal.source != "sink" and not signal.strong:
            signal.weight *= factor


def _evidence_key(item: Evidence) -> tuple[int, str, str, float]:
    supports = "" if item.supports is None else item.supports.value
    return (_SOURCE_ORDER[item.source], supports, item.token, -item.weight)


def _finalise(items: Iterable[Evidence]) -> tuple[Evidence, ...]:
    best: dict[tuple[str, str, ToolCapability | ToolScope | None], Evidence] = {}
    for item in items:
        key = (item.source, item.token, item.supports)
        current = best.get(key)
        if current is None or item.weight > current.weight:
            best[key] = item
    return tuple(sorted(best.values(), key=_evidence_key))


def classify_tool(
    name: str,
    description: str | None = None,
    input_schema: Mapping[str, Any] | None = None,
    annotations: Mapping[str, Any] | None = None,
    sinks: Iterable[str] = (),
    override: ToolOverride | None = None,
) -> ToolClassification:
    """Classify one tool from every signal available; see the module docstring for the rules."""
    state = _State()
    parse = _parse_name(name)
    _analyse_name(parse, state)
    described = (
        _analyse_description(description, state)
        if description and isinstance(description, str)
        else None
    )
    action = parse.action if parse.action is not None and not parse.predicate else described
    if parse.predicate:
        action = Action.transform  # a yes/no check reads nothing through its parameters
    if input_schema and isinstance(input_schema, Mapping):
        _analyse_params(input_schema, action, state)

    for sink in sinks:
        rule = sink_rule(sink)
        if rule is not None:
            for cap in rule.capabilities:
                state.add(cap, rule.weight, "sink", sink.strip(), strong=True)
            # A body that sends data out makes the name's generic write an external one.
            state.external_target = state.external_target or _WEXT in rule.capabilities

    hints = _hints(annotations) if annotations and isinstance(annotations, Mapping) else _NO_HINTS
    hint_signals: dict[str, int] = {}
    if hints.read_only is True:
        state.read_only = True
        state.scope_evidence.append(
            Evidence("annotation", "readOnlyHint=true", ToolScope.read, v.ANNOTATION_READ_ONLY)
        )
    elif hints.read_only is False:
        hint_signals["readOnlyHint"] = len(state.signals)
        state.add(
            _WINT, v.ANNOTATION_MAY_WRITE, "annotation", "readOnlyHint=false", convertible=True
        )
    if hints.destructive is True and hints.read_only is not True:
        hint_signals["destructiveHint"] = len(state.signals)
        state.add(_DEST, v.ANNOTATION_DESTRUCTIVE, "annotation", "destructiveHint=true")

    # An external destination turns generic writes into writes to the outside world.
    if hints.open_world is True:
        writes = any(
            score >= v.THRESHOLD
            for cap, score in _scores(state.signals).items()
            if cap in WRITE_CAPABILITIES
        )
        hint_signals["openWorldHint"] = len(state.signals)
        if writes and hints.read_only is not True:
            state.external_target = True
            state.add(_WEXT, v.ANNOTATION_OPEN_WORLD, "annotation", "openWorldHint=true")
        else:
            state.add(_UNTR, v.ANNOTATION_OPEN_WORLD, "annotation", "openWorldHint=true")
    if state.external_target:
        for signal in state.signals:
            if signal.capability is _WINT and signal.convertible:
                signal.capability = _WEXT

    if state.read_only:
        _dampen(state.signals, WRITE_CAPABILITIES, v.READ_ONLY_FACTOR)
    if state.negated:
        _dampen(state.signals, state.negated, v.NEGATION_FACTOR)
    if hints.destructive is False:
        _dampen(state.signals, (_DEST,), v.HINT_FALSE_FACTOR)
    if hints.open_world is False:
        _dampen(state.signals, (_UNTR, _WEXT), v.HINT_FALSE_FACTOR)

    scores = _scores(state.signals)
    capabilities = frozenset(cap for cap, score in scores.items() if score >= v.THRESHOLD)
    admin_target = state.admin_target is not None and _DEST in capabilities
    scope = scope_for(capabilities, admin_target=admin_target)
    evidence: list[Evidence] = [
        Evidence(s.source, s.token, s.capability, round(s.weight, 3))
        for s in state.signals
        if s.capability in capabilities
    ]
    evidence += [item for item in state.scope_evidence if item.supports is scope]
    if admin_target and state.admin_target is not None:
        evidence.append(state.admin_target)
    confidence = _combine(item.weight for item in evidence)
    confidence = min(v.CONFIDENCE_CEILING, max(v.CONFIDENCE_FLOOR, confidence))
    # Record every annotation hint, including the ones that changed nothing.
    for key, value in zip(_HINT_NAMES, hints, strict=True):
        if value is None:
            continue
        index = hint_signals.get(key)
        used = index is not None and state.signals[index].capability in capabilities
        if (key == "readOnlyHint" and value) or used:
            continue
        evidence.append(Evidence("annotation", _hint_token(key, value), None, 0.0))
    danger = is_dangerous(capabilities)

    if override is not None:
        overridden: list[Evidence] = []
        if override.capabilities is not None:
            capabilities = override.capabilities
            token = "capabilities=" + ",".join(sorted(cap.value for cap in capabilities))
            overridden += [Evidence("override", token, cap, 1.0) for cap in capabilities]
            if not capabilities:
                overridden.append(Evidence("override", token, None, 1.0))
            scope = scope_for(capabilities, admin_target=admin_target)
            danger = is_dangerous(capabilities)
        if override.scope is not None:
            scope = override.scope
            overridden.append(Evidence("override", f"scope={scope.value}", scope, 1.0))
        if override.is_dangerous is not None:
            danger = override.is_dangerous
            overridden.append(
                Evidence("override", f"is_dangerous={'true' if danger else 'false'}", None, 1.0)
            )
        evidence += overridden
        confidence = 1.0

    return ToolClassification(
        scope=scope,
        capabilities=capabilities,
        is_dangerous=danger,
        confidence=round(confidence, 3),
        evidence=_finalise(evidence),
    )
