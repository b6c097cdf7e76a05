"""``scan()``: walk, read, extract (cached, in parallel when it pays), resolve, report.

Key contracts:
- The output does not depend on the job count or the cache: files are processed in any order but
  assembled sorted by path, and ``Report.sorted()`` orders everything a writer shows.
- Worker processes are used only when there are at least ``PARALLEL_MIN_FILES`` cold files
  holding ``PARALLEL_MIN_BYTES``: below that, starting processes and sending results back costs
  more than it saves (``python -m bench.scan.pool``). By default there is one worker per CPU the
  process may use, and at most one plus one per ``PARALLEL_MIN_BYTES`` of cold files.
- Unreadable and unparsable files become ``Report.errors``; the scan goes on.
- ``cache_dir=None`` means no cache: nothing is read or written (``sentinel scan --no-cache``).
  With the cache, a tree and config unchanged since the last scan of the same targets is
  answered from the cached result (``cache.ScanResult``): files are read and hashed, nothing is
  extracted or assembled; otherwise only the files whose content changed are extracted.
- Worker processes return each file's facts (pickled) and, when the cache is on, its cache entry
  already serialised, so the parent neither parses nor re-serialises cold files.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Final

import agentsentinel
from agentsentinel.posture import RuleConfig, ToolClassification, ToolOverride
from agentsentinel_cli.report.model import Report, ScanError
from agentsentinel_cli.scan.cache import FactsCache, ScanResult, cache_key, pack_name, result_key
from agentsentinel_cli.scan.facts import FileFacts
from agentsentinel_cli.scan.files import MAX_FILE_BYTES, display_path, is_binary, walk


def _code_stamp() -> str:
    """Size and mtime of every module of the scan engine and the posture package.

    Cached facts and results are only as valid as the code that produced them: an upgrade, or
    an edit of an installed checkout, must never serve results of the previous code. A stat of
    some fifty files costs well under a millisecond.
    """
    import hashlib

    import agentsentinel.posture

    digest = hashlib.sha256()
    roots = (os.path.dirname(agentsentinel.posture.__file__), os.path.dirname(__file__))
    for root in roots:
        for folder, dirs, files in os.walk(root):
            dirs.sort()
            for name in sorted(files):
                if name.endswith(".py"):
                    st = os.stat(os.path.join(folder, name))
                    digest.update(f"{folder}/{name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return digest.hexdigest()[:16]


# Bumped whenever extraction or assembly changes what it produces; the version and the code
# stamp cover the posture package (sink tables, classifier, rules), whose results are cached too.
ENGINE_VERSION: Final = f"scan-3/{agentsentinel.__version__}/{_code_stamp()}"
PARALLEL_MIN_FILES: Final = 48
# Measured on a 2-core machine (``bench.scan.pool``): two workers start to beat one process at
# 300-500 files of the bench tree (190-320 KB), 0.75 s against 0.67 s wall at 1,000 (1 MB),
# 0.90 s against 1.20 s at 2,000 (1.9 MB).
PARALLEL_MIN_BYTES: Final = 256 * 1024


def _common_root(paths: Sequence[Path]) -> Path:
    dirs = [p if p.is_dir() else p.parent for p in paths]
    return Path(os.path.commonpath([str(d) for d in dirs]))


def _extract_in_worker(path: str, data: bytes, serialise: bool) -> tuple[FileFacts, str | None]:
    """``extract_file`` in a worker process: the facts (pickled back, cheaper to load than JSON)
    and, when the cache is on, their cache entry as compact JSON."""
    from agentsentinel_cli.scan.extract import extract_file

    facts = extract_file(path, data)
    entry = json.dumps(facts.to_dict(), separators=(",", ":")) if serialise else None
    return facts, entry


def _default_jobs(cold_bytes: int) -> int:
    """The CPUs this process may use, at most one plus one per ``PARALLEL_MIN_BYTES`` of cold
    files (a worker more than that would mostly start up and wait)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 1 + cold_bytes // max(1, PARALLEL_MIN_BYTES)))


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
    read: list[tuple[str, bytes, str]] = []  # (display path, content, cache key), walk order
    skipped = 0
    files = list(walk(resolved, base, exclude))
    total = len(files)
    for path in files:
        shown = display_path(path, base)
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                skipped += 1
                continue
            data = path.read_bytes()
        except OSError as exc:
            errors.append(ScanError(shown, f"cannot read: {exc.strerror or exc}"))
            continue
        if is_binary(data):
            skipped += 1
            continue
        read.append((shown, data, "" if cache is None else cache_key(ENGINE_VERSION, shown, data)))
    overrides = overrides or {}
    rule_config = rule_config if rule_config is not None else RuleConfig()
    assembled_key = (
        result_key(ENGINE_VERSION, (r[2] for r in read), [overrides, rule_config])
        if cache is not None
        else ""
    )
    result = cache.result(assembled_key) if cache is not None else None
    if result is not None:
        if progress is not None:
            progress(total, total)
        return _report(
            paths,
            result,
            read_errors=errors,
            scanned=len(read),
            skipped=skipped,
            cache_hits=len(read),
            jobs=1,
            started=started,
        )
    # Extraction and assembly, imported only when the result is not cached.
    from agentsentinel_cli.scan.extract import complete, extract_file
    from agentsentinel_cli.scan.resolve import assemble, classify_tools

    sources: dict[str, bytes] = {}  # display path -> content, for ``complete`` on demand
    cold: list[tuple[str, bytes, str]] = []
    for shown, data, key in read:
        sources[shown] = data
        cached = cache.get(key) if cache is not None else None
        if cached is not None:
            facts_by_path[shown] = cached
        else:
            cold.append((shown, data, key))
    cache_hits = len(facts_by_path)
    classified: dict[str, list[ToolClassification]] = {}
    memo: dict[str, ToolClassification] = {}
    done = total - len(cold)
    if progress is not None:
        progress(done, total)
    cold_bytes = sum(len(c[1]) for c in cold)
    workers = jobs if jobs is not None else _default_jobs(cold_bytes)
    pooled = workers > 1 and len(cold) >= PARALLEL_MIN_FILES and cold_bytes >= PARALLEL_MIN_BYTES
    if pooled:
        from concurrent.futures import ProcessPoolExecutor  # ~10 ms of imports: only when used

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
                # Classified here while the workers go on: less left for after the pool.
                classified[shown] = classify_tools(facts, overrides, memo)
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
    ordered = [facts_by_path[p] for p in sorted(facts_by_path)]
    findings, agents, tools = assemble(
        ordered,
        overrides,
        rule_config,
        load=lambda facts: complete(facts, sources[facts.path]),
        classified=classified,
        memo=memo,
    )
    result = ScanResult(
        findings=tuple(findings),
        agents=tuple(agents),
        tools=tuple(tools),
        errors=tuple(ScanError(f.path, f.error) for f in ordered if f.error),
        python_files=sum(1 for f in ordered if f.module is not None),
    )
    if cache is not None:
        cache.put_result(assembled_key, result)
        cache.save()
    jobs_used = workers if pooled else 1
    return _report(
        paths,
        result,
        read_errors=errors,
        scanned=len(ordered),
        skipped=skipped,
        cache_hits=cache_hits,
        jobs=jobs_used,
        started=started,
    )


def _report(
    paths: Sequence[Path],
    result: ScanResult,
    *,
    read_errors: list[ScanError],
    scanned: int,
    skipped: int,
    cache_hits: int,
    jobs: int,
    started: float,
) -> Report:
    stats = {
        "files_scanned": scanned,
        "files_skipped": skipped,
        "cache_hits": cache_hits,
        "python_files": result.python_files,
        "jobs": jobs,
        "seconds": round(time.perf_counter() - started, 3),
    }
    return Report(
        command="scan",
        targets=tuple(str(p) for p in paths),
        findings=result.findings,
        agents=result.agents,
        tools=result.tools,
        errors=(*read_errors, *result.errors),
        stats=stats,
    ).sorted()
