"""Per-file extraction cache, keyed by content hash and engine version.

Key contracts:
- The key of a file is ``sha256(ENGINE_VERSION, display path, file bytes)``: an engine upgrade or
  an edit is a miss, a rename is a miss (paths are inside the facts), nothing else invalidates.
- One JSON pack per scan target set (the resolved paths and excludes, hashed into the file name):
  a scan reads one file and, when anything changed, writes one file holding exactly the entries
  of that scan, so entries of deleted or edited files do not accumulate. Thousands of small
  files cost more to create than to parse on a cold scan.
- Entries are ``FileFacts`` as JSON, which hold masked credentials and value hashes only.
- A corrupt or unreadable pack or entry is a miss; writes are atomic (temp file + rename), so
  concurrent scans sharing the directory never read half a pack (the last writer wins).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agentsentinel_cli.scan.facts import FileFacts

PACK_VERSION = 1


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


class FactsCache:
    """The cached ``FileFacts`` of one scan target set: read once, written once."""

    def __init__(self, directory: Path, name: str) -> None:
        self.file = directory / name
        self._entries: dict[str, Any] = {}
        # key -> entry for the next pack: JSON text, or the entry as read from this pack
        self._used: dict[str, str | dict[str, Any]] = {}
        self._loaded = False

    def _load(self) -> None:
        self._loaded = True
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if isinstance(data, dict) and data.get("version") == PACK_VERSION:
            entries = data.get("entries")
            if isinstance(entries, dict):
                self._entries = entries

    def get(self, key: str) -> FileFacts | None:
        if not self._loaded:
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

    def save(self) -> None:
        """Write the entries used by this scan, unless the pack already holds exactly those."""
        if self._loaded and self._used.keys() == self._entries.keys():
            return
        body = ",".join(
            f"{json.dumps(k)}:{v if isinstance(v, str) else json.dumps(v, separators=(',', ':'))}"
            for k, v in sorted(self._used.items())
        )
        text = f'{{"version":{PACK_VERSION},"entries":{{{body}}}}}'
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
