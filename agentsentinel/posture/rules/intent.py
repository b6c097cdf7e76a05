"""What an agent's description says it is for: read-only intent, matched as words.

Used by PRIVILEGE_EXCESS. Words come from the classifier's tokenizer (``description_words``), so
"already" and "thread" are not "read", and "read-only" / "read only" are the phrase ``readonly``.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Final

from agentsentinel.posture import vocabulary as v
from agentsentinel.posture.capabilities import WRITE_CAPABILITIES
from agentsentinel.posture.classifier import classify_tool, description_words
from agentsentinel.posture.vocabulary import Action

# Explicit statements (lemmas after phrase merging): "read-only", "no side effects".
_EXPLICIT: Final = v.READ_ONLY_MARKERS
# Two-word statements: "view only", "only reads", "answers questions".
_EXPLICIT_PAIRS: Final = frozenset(
    {("view", "only"), ("viewonly", "access"), ("only", "read"), ("only", "search")}
)
_READ_ACTIONS: Final = frozenset({Action.read, Action.fetch})
_NEUTRAL_ACTIONS: Final = frozenset({Action.read, Action.fetch, Action.transform, Action.meta})
# Verbs of general responsibility the vocabulary does not list (they name no effect of a tool),
# with their inflections: an agent that "manages deployments" is not read-only whatever else it
# lists.
_BROAD_VERBS: Final = frozenset(
    {"manage", "manages", "managing", "administer", "administers", "administering"}
    | {"maintain", "maintains", "maintaining", "operate", "operates", "operating"}
    | {"automate", "automates", "automating", "orchestrate", "orchestrates", "orchestrating"}
    | {"handle", "handles", "handling", "control", "controls", "controlling"}
    | {"fix", "fixes", "fixing", "act", "acts", "acting"}
)
_QUESTIONS: Final = frozenset({"question", "questions", "query", "queries"})
_NEGATION_SPAN: Final = 3


def _acting_verbs(words: tuple[str, ...]) -> list[str]:
    """Words used as verbs whose action changes something (not negated, not nouns)."""
    found: list[str] = []
    for i, word in enumerate(words):
        if word in _BROAD_VERBS:
            found.append(word)
            continue
        action = v.VERB_ACTIONS.get(word)
        if action is None or action in _NEUTRAL_ACTIONS:
            continue
        previous = words[i - 1] if i else ""
        if previous in v.DETERMINERS:
            continue  # "the deleted files": a participle or a noun
        if word in v.NOUN_LIKE_VERBS and i and previous not in v.VERB_INTRODUCERS:
            continue  # "looks up orders": a noun unless it starts a clause or follows "to"/"and"
        if any(w in v.NEGATORS for w in words[max(0, i - _NEGATION_SPAN) : i]):
            continue  # "never modifies records"
        found.append(word)
    return found


def read_only_intent(description: str | None) -> tuple[str, ...]:
    """The words that declare a read-only purpose, or ``()`` when the description does not.

    Read-only intent is either explicit ("read-only", "read only", "view only", "no side
    effects", "only reads") or implicit: the description reads or answers ("searches", "looks up",
    "answers questions") and no word in it acts (no write / send / delete / execute / pay / grant /
    access / operate verb outside a negation, no "manages" / "maintains" / "handles"), and the
    classifier reads no write capability into it.
    """
    if not description or not description.strip():
        return ()
    words = description_words(description)
    explicit = [w for w in words if w in _EXPLICIT]
    explicit += [f"{a} {b}" for a, b in pairwise(words) if (a, b) in _EXPLICIT_PAIRS]
    if explicit:
        return tuple(dict.fromkeys(explicit))
    reads = [w for w in words if v.VERB_ACTIONS.get(w) in _READ_ACTIONS]
    reads += [f"{a} {b}" for a, b in pairwise(words) if a == "answer" and b in _QUESTIONS]
    if not reads or _acting_verbs(words):
        return ()
    described = classify_tool("", description)
    if not WRITE_CAPABILITIES.isdisjoint(described.capabilities):
        return ()
    return tuple(dict.fromkeys(reads))
