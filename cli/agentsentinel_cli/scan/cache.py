"""Per-file extraction cache, keyed by content hash and engine version, and the assembled result.

Key contracts:
- The key of a file is ``sha256(ENGINE_VERSION, display path, file bytes)``: an engine upgrade or
  an edit is a miss, a rename is a miss (paths are inside the facts), nothing else invalidates.
- One pack per scan target set (the resolved paths and excludes, hashed into the file name):
  a scan reads one file and, when anything changed, writes one file holding exactly the entries
  of that scan, so entries of deleted or edited files do not accumulate. Thousands of small
  files cost more to create than to parse on a cold scan.
- The pack is two lines of JSON: the assembled result of the scan that wrote it (agents,
  classified tools, findings before output filters) with its key, then the per-file entries. The
  result key (``result_key``) covers the ordered file keys, the engine version and every config
  input of assembly (overrides, rule config), so an unchanged tree and config is answered from
  the first line alone; otherwise the entries are parsed and only changed files are extracted.
- Entries are ``FileFacts`` as JSON, which hold masked credentials and value hashes only; the
  result holds what the report shows, nothing more.
- A corrupt or unreadable pack, entry or result is a miss; writes are atomic (temp file +
  rename), so concurrent scans sharing the directory never read half a pack (the last writer
  wins).
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from agentsentinel.posture import Severity
from agentsentinel_cli.report.model import AgentReport, Finding, Location, ScanError, ToolReport
from agentsentinel_cli.scan.facts import FileFacts

PACK_VERSION = 2


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/agentsentinel/scan``, else ``~/.cache/agentsentinel/scan``."""
    base = os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base else Path.home() / ".cache"
    return root / "agentsentinel" / "scan"


def cache_key(engine_version: str, path: str, data: bytes) -> str:
    digest = hashlib.sha256()
    for part in (engine_version.encode(), path.encode("utf-8", "surrogateescape"), data):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def pack_name(targets: Sequence[str], exclude: Sequence[str]) -> str:
    """The pack file of a scan of ``targets`` (resolved paths) with ``exclude`` patterns."""
    ident = json.dumps([sorted(targets), list(exclude)], ensure_ascii=True)
    return f"pack-{hashlib.sha256(ident.encode()).hexdigest()[:32]}.json"


def _canonical(value: Any) -> Any:
    """A JSON-able form of a config value that is the same in every process (sets sorted)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [
            type(value).__name__,
            {f.name: _canonical(getattr(value, f.name)) for f in dataclasses.fields(value)},
        ]
    if isinstance(value, enum.Enum):
        return _canonical(value.value)
    if isinstance(value, Mapping):
        return sorted([str(k), _canonical(v)] for k, v in value.items())
    if isinstance(value, set | frozenset):
        return sorted((_canonical(v) for v in value), key=repr)
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, timedelta):
        return ["timedelta", value.total_seconds()]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)


def result_key(engine_version: str, file_keys: Iterable[str], config: Any) -> str:
    """The key of an assembled result: the engine, every file key in scan order, the config
    inputs of assembly (``config``: any mix of dataclasses, mappings, sets and plain values)."""
    digest = hashlib.sha256(engine_version.encode())
    digest.update(b"\0")
    digest.update(json.dumps(_canonical(config), sort_keys=True, default=repr).encode())
    for key in file_keys:
        digest.update(b"\0")
        digest.update(key.encode())
    return digest.hexdigest()


@dataclasses.dataclass(frozen=True, slots=True)
class ScanResult:
    """What assembly produced (before output filters), as cached in the pack's first line."""

    findings: tuple[Finding, ...]
    agents: tuple[AgentReport, ...]
    tools: tuple[ToolReport, ...]
    errors: tuple[ScanError, ...]  # files that could not be parsed
    python_files: int


def _loc(loc: Location | None) -> list[Any] | None:
    return None if loc is None else [loc.path, loc.line, loc.column]


def _unloc(raw: list[Any] | None) -> Location | None:
    return None if raw is None else Location(raw[0], raw[1], raw[2])


def encode_result(result: ScanResult) -> str:
    """``result`` as compact JSON. Titles, remediations and tags repeat across the findings of a
    rule: they are written once, in ``texts``, and referred to by index. Values the json report
    would show through ``str`` are kept as that ``str``, which is what the report writes."""
    texts: dict[Any, int] = {}

    def text(value: Any) -> int:
        index = texts.get(value)
        if index is None:
            index = texts[value] = len(texts)
        return index

    data = {
        "findings": [
            [
                f.rule_id,
                f.severity.value,
                f.message,
                _loc(f.location),
                f.fingerprint,
                text(f.title),
                text(f.remediation),
                f.agent,
                text(tuple(f.tags)),
                f.evidence,
            ]
            for f in result.findings
        ],
        "agents": [[a.name, a.kind, _loc(a.location), a.tools, a.details] for a in result.agents],
        "tools": [
            [
                t.name,
                _loc(t.location),
                t.framework,
                t.scope,
                t.capabilities,
                t.dangerous,
                t.confidence,
                t.description,
                t.agent,
                t.evidence,
            ]
            for t in result.tools
        ],
        "errors": [[e.target, e.message] for e in result.errors],
        "python_files": result.python_files,
        "texts": list(texts),
    }
    return json.dumps(data, separators=(",", ":"), default=str)


def decode_result(data: Mapping[str, Any]) -> ScanResult:
    """The inverse of ``encode_result`` (raises on a malformed result)."""
    severities = {s.value: s for s in Severity}
    texts = [tuple(t) if isinstance(t, list) else t for t in data["texts"]]
    return ScanResult(
        findings=tuple(
            Finding(
                rule_id=f[0],
                severity=severities[f[1]],
                message=f[2],
                location=_unloc(f[3]),
                fingerprint=f[4],
                title=texts[f[5]],
                remediation=texts[f[6]],
                agent=f[7],
                tags=texts[f[8]],
                evidence=f[9],
            )
            for f in data["findings"]
        ),
        agents=tuple(
            AgentReport(
                name=a[0],
                kind=a[1],
                location=_unloc(a[2]) or Location(""),
                tools=tuple(a[3]),
                details=a[4],
            )
            for a in data["agents"]
        ),
        tools=tuple(
            ToolReport(
                name=t[0],
                location=_unloc(t[1]) or Location(""),
                framework=t[2],
                scope=t[3],
                capabilities=tuple(t[4]),
                dangerous=t[5],
                confidence=t[6],
                description=t[7],
                agent=t[8],
                evidence=tuple(t[9]),
            )
            for t in data["tools"]
        ),
        errors=tuple(ScanError(e[0], e[1]) for e in data["errors"]),
        python_files=int(data["python_files"]),
    )


class FactsCache:
    """The cached ``FileFacts`` and result of one scan target set: read once, written once."""

    def __init__(self, directory: Path, name: str) -> None:
        self.file = directory / name
        self._text: str | None = None
        self._head: dict[str, Any] = {}
        self._entries: dict[str, Any] = {}
        # key -> entry for the next pack: JSON text, or the entry as read from this pack
        self._used: dict[str, str | dict[str, Any]] = {}
        self._entries_loaded = False
        self._result: tuple[str, str] | None = None  # (key, JSON) to write

    def _read(self) -> str:
        if self._text is None:
            self._text = ""
            try:
                text = self.file.read_text(encoding="utf-8")
            except (OSError, ValueError):
                return self._text
            head, _, rest = text.partition("\n")
            try:
                data = json.loads(head)
            except ValueError:
                return self._text
            if isinstance(data, dict) and data.get("version") == PACK_VERSION:
                self._head = data
                self._text = rest
        return self._text

    def _load(self) -> None:
        self._entries_loaded = True
        rest = self._read()
        self._text = ""  # parsed once; the text is no longer needed
        if not rest:
            return
        try:
            entries = json.loads(rest)
        except ValueError:
            return
        if isinstance(entries, dict):
            self._entries = entries

    def result(self, key: str) -> ScanResult | None:
        """The cached result if the pack's was assembled under ``key``."""
        self._read()
        cached = self._head.get("result")
        if not isinstance(cached, dict) or cached.get("key") != key:
            return None
        try:
            return decode_result(cached)
        except (ValueError, KeyError, TypeError, AttributeError, IndexError):
            return None

    def get(self, key: str) -> FileFacts | None:
        if not self._entries_loaded:
            self._load()
        raw = self._entries.get(key)
        if raw is None:
            return None
        try:
            facts = FileFacts.from_dict(raw)
        except (ValueError, KeyError, TypeError, AttributeError, IndexError):
            return None
        self._used[key] = raw  # serialised again only if the pack is rewritten
        return facts

    def put(self, key: str, facts: FileFacts) -> None:
        self.put_json(key, json.dumps(facts.to_dict(), separators=(",", ":")))

    def put_json(self, key: str, entry: str) -> None:
        """Add an entry already serialised (``FileFacts.to_dict()`` as compact JSON)."""
        self._used[key] = entry

    def put_result(self, key: str, result: ScanResult) -> None:
        """The result of this scan, written with the entries by ``save``."""
        self._result = (key, encode_result(result))

    def save(self) -> None:
        """Write the entries used by this scan and its result, unless the pack already holds
        exactly those."""
        if not self._entries_loaded:
            self._load()
        cached = self._head.get("result")
        same_result = self._result is None or (
            isinstance(cached, dict) and cached.get("key") == self._result[0]
        )
        if same_result and self._used.keys() == self._entries.keys():
            return
        body = ",".join(
            f"{json.dumps(k)}:{v if isinstance(v, str) else json.dumps(v, separators=(',', ':'))}"
            for k, v in sorted(self._used.items())
        )
        if self._result is None:
            head = f'{{"version":{PACK_VERSION},"result":null}}'
        else:
            key, encoded = self._result
            head = f'{{"version":{PACK_VERSION},"result":{{"key":{json.dumps(key)},{encoded[1:]}}}'
        text = f"{head}\n{{{body}}}"
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.file.parent, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, self.file)
        except OSError:
            # A read-only or full cache directory slows the next scan down; it never fails this one.
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(tmp)
