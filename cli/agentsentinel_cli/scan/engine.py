"""``scan()``: walk, read, extract (cached, in parallel when it pays), resolve, report.

Key contracts:
- The output does not depend on the job count or the cache: files are processed in any order but
  assembled sorted by path, and ``Report.sorted()`` orders everything a writer shows.
- Worker processes are used only when there are at least ``PARALLEL_MIN_FILES`` cold files: for
  a small tree, starting processes costs more than it saves.
- Unreadable and unparsable files become ``Report.errors``; the scan goes on.
- ``cache_dir=None`` means no cache: nothing is read or written (``sentinel scan --no-cache``).
- Worker processes return each file's facts (pickled) and, when the cache is on, its cache entry
  already serialised, so the parent neither parses nor re-serialises cold files.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Final

import agentsentinel
from agentsentinel.posture import RuleConfig, ToolOverride
from agentsentinel_cli.report.model import Report, ScanError
from agentsentinel_cli.scan.cache import FactsCache, cache_key, pack_name
from agentsentinel_cli.scan.extract import complete, extract_file
from agentsentinel_cli.scan.facts import FileFacts
from agentsentinel_cli.scan.files import MAX_FILE_BYTES, display_path, is_binary, walk
from agentsentinel_cli.scan.resolve import assemble

# Bumped whenever extraction changes what it produces; the posture version covers sink tables.
ENGINE_VERSION: Final = f"scan-3/{agentsentinel.__version__}"
PARALLEL_MIN_FILES: Final = 48


def _common_root(paths: Sequence[Path]) -> Path:
    dirs = [p if p.is_dir() else p.parent for p in paths]
    return Path(os.path.commonpath([str(d) for d in dirs]))


def _extract_in_worker(path: str, data: bytes, serialise: bool) -> tuple[FileFacts, str | None]:
    """``extract_file`` in a worker process: the facts (pickled back, cheaper to load than JSON)
    and, when the cache is on, their cache entry as compact JSON."""
    facts = extract_file(path, data)
    entry = json.dumps(facts.to_dict(), separators=(",", ":")) if serialise else None
    return facts, entry


def scan(
    paths: Sequence[Path],
    *,
    root: Path | None = None,
    exclude: Sequence[str] = (),
    overrides: Mapping[str, ToolOverride] | None = None,
    rule_config: RuleConfig | None = None,
    jobs: int | None = None,
    cache_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """Static posture of the agent code under ``paths`` (see the package docstring)."""
    started = time.perf_counter()
    resolved = [Path(p).resolve() for p in paths]
    for given, path in zip(paths, resolved, strict=True):
        if not path.exists():
            raise FileNotFoundError(f"no such file or directory: {given}")
    base = root.resolve() if root is not None else _common_root(resolved)
    cache = (
        FactsCache(cache_dir, pack_name([str(p) for p in resolved], exclude))
        if cache_dir is not None
        else None
    )
    errors: list[ScanError] = []
    facts_by_path: dict[str, FileFacts] = {}
    cold: list[tuple[str, bytes, str]] = []
    sources: dict[str, bytes] = {}  # display path -> content, for ``complete`` on demand
    skipped = 0
    files = list(walk(resolved, base, exclude))
    total = len(files)
    done = 0
    for path in files:
        shown = display_path(path, base)
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                skipped += 1
                done += 1
                continue
            data = path.read_bytes()
        except OSError as exc:
            errors.append(ScanError(shown, f"cannot read: {exc.strerror or exc}"))
            done += 1
            continue
        if is_binary(data):
            skipped += 1
            done += 1
            continue
        sources[shown] = data
        key = cache_key(ENGINE_VERSION, shown, data) if cache is not None else ""
        cached = cache.get(key) if cache is not None else None
        if cached is not None:
            facts_by_path[shown] = cached
            done += 1
        else:
            cold.append((shown, data, key))
    cache_hits = len(facts_by_path)
    if progress is not None:
        progress(done, total)
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    if workers > 1 and len(cold) >= PARALLEL_MIN_FILES:
        chunk = max(1, len(cold) // (workers * 8))
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = pool.map(
                _extract_in_worker,
                [c[0] for c in cold],
                [c[1] for c in cold],
                [cache is not None] * len(cold),
                chunksize=chunk,
            )
            for (shown, _, key), (facts, entry) in zip(cold, results, strict=True):
                facts_by_path[shown] = facts
                if cache is not None and entry is not None:
                    cache.put_json(key, entry)
                done += 1
                if progress is not None:
                    progress(done, total)
    else:
        for shown, data, key in cold:
            facts = extract_file(shown, data)
            facts_by_path[shown] = facts
            if cache is not None:
                cache.put(key, facts)
            done += 1
            if progress is not None:
                progress(done, total)
    if cache is not None:
        cache.save()
    ordered = [facts_by_path[p] for p in sorted(facts_by_path)]
    errors += [ScanError(f.path, f.error) for f in ordered if f.error]
    findings, agents, tools = assemble(
        ordered,
        overrides or {},
        rule_config if rule_config is not None else RuleConfig(),
        load=lambda facts: complete(facts, sources[facts.path]),
    )
    stats = {
        "files_scanned": len(ordered),
        "files_skipped": skipped,
        "cache_hits": cache_hits,
        "python_files": sum(1 for f in ordered if f.module is not None),
        "jobs": workers if len(cold) >= PARALLEL_MIN_FILES else 1,
        "seconds": round(time.perf_counter() - started, 3),
    }
    return Report(
        command="scan",
        targets=tuple(str(p) for p in paths),
        findings=tuple(findings),
        agents=tuple(agents),
        tools=tuple(tools),
        errors=tuple(errors),
        stats=stats,
    ).sorted()
