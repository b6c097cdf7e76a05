"""Which files a scan reads: walking, gitignore-style excludes, size and binary limits.

Key contracts:
- Exclude patterns are relative to the scan root. A pattern without ``/`` matches any path
  component (``node_modules``, ``*.min.js``); one with ``/`` matches the relative path from the
  root (a leading ``/`` is optional), and a trailing ``/`` matches directories only.
- Files larger than ``MAX_FILE_BYTES`` and binary files (a NUL byte in the first 8 KiB) are
  skipped and counted, never parsed.
- The walk is sorted, so the same tree always yields the same list.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

DEFAULT_EXCLUDES: Final = (
    ".git",
    "node_modules",
    ".venv",
    "venv",
    "__pycache__",
    "dist",
    "build",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".tox",
)
MAX_FILE_BYTES: Final = 1024 * 1024


class _Patterns:
    """Exclude patterns, prepared once per walk: a pattern without ``/`` and without glob
    characters is a set lookup of the last component; the others go through ``fnmatchcase``."""

    def __init__(self, patterns: Sequence[str]) -> None:
        # (names, name globs, path patterns) for files; the same plus dir-only ones for dirs.
        self.file: tuple[frozenset[str], list[str], list[str]] = (frozenset(), [], [])
        self.dir: tuple[frozenset[str], list[str], list[str]] = (frozenset(), [], [])
        names: dict[bool, set[str]] = {False: set(), True: set()}
        globs: dict[bool, list[str]] = {False: [], True: []}
        paths: dict[bool, list[str]] = {False: [], True: []}
        for raw in patterns:
            pattern = raw.strip()
            if not pattern or pattern.startswith("#"):
                continue
            dir_only = pattern.endswith("/")
            pattern = pattern.rstrip("/")
            kinds = (True,) if dir_only else (False, True)
            for is_dir in kinds:
                if "/" not in pattern:
                    if any(c in pattern for c in "*?["):
                        globs[is_dir].append(pattern)
                    else:
                        names[is_dir].add(pattern)
                else:
                    paths[is_dir].append(pattern.lstrip("/"))
        self.file = (frozenset(names[False]), globs[False], paths[False])
        self.dir = (frozenset(names[True]), globs[True], paths[True])

    def matches(self, rel: str, is_dir: bool) -> bool:
        names, globs, paths = self.dir if is_dir else self.file
        last = rel.rpartition("/")[2]  # the last component (``rel`` is a clean POSIX path)
        if last and (last in names or any(fnmatch.fnmatchcase(last, g) for g in globs)):
            return True
        return any(
            fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(rel, p + "/**") for p in paths
        )


def display_path(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` with POSIX separators, or absolute when outside it."""
    text, base = str(path), str(root)
    prefix = base if base.endswith(os.sep) else base + os.sep
    if text.startswith(prefix) and len(text) > len(prefix):  # the common case, without pathlib
        rel = text[len(prefix) :]
        return rel if os.sep == "/" else rel.replace(os.sep, "/")
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def walk(paths: Sequence[Path], root: Path, exclude: Sequence[str]) -> Iterator[Path]:
    """Every file under ``paths`` (files given explicitly included), minus excluded ones."""
    patterns = _Patterns([*DEFAULT_EXCLUDES, *exclude])
    seen: set[Path] = set()
    for start in paths:
        if start.is_file():
            if start not in seen:
                seen.add(start)
                yield start
            continue
        for current, dirs, files in os.walk(start):
            base = Path(current)
            kept = []
            for name in sorted(dirs):
                rel = display_path(base / name, root)
                if not patterns.matches(rel, True):
                    kept.append(name)
            dirs[:] = kept
            for name in sorted(files):
                path = base / name
                if path in seen or patterns.matches(display_path(path, root), False):
                    continue
                seen.add(path)
                yield path


def is_binary(head: bytes) -> bool:
    """Whether the first bytes of a file look binary."""
    return b"\x00" in head[:8192]
