"""Keeping ``bench/README.md`` current: each benchmark replaces only its own ``## `` section."""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"
_HEADER = (
    "# Benchmarks\n\nEach section is produced by the script of the same name in this folder and "
    "says how to reproduce it.\n"
)


def replace_section(heading: str, section: str, readme: Path = README) -> None:
    """Replace the section under ``heading`` (a ``## …`` line) with ``section``, or append it."""
    text = readme.read_text() if readme.exists() else _HEADER
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == heading), None)
    if start is None:
        if text and not text.endswith("\n"):
            text += "\n"
        readme.write_text(text + "\n" + section)
        return
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    tail = "".join(lines[end:])
    readme.write_text("".join(lines[:start]) + section + ("\n" + tail if tail else ""))
