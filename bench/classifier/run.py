"""Tool classifier benchmark: accuracy on the labelled corpus and classification throughput.

    cd /work/main
    .venv/bin/python -m bench.classifier.run        # or: .venv/bin/python bench/classifier/run.py

Classifies every entry of ``tests/posture/corpus.py`` with all its signals and prints precision,
recall and F1 per capability, scope accuracy, dangerous precision/recall and exact-match rate
(for the whole corpus and for the held-out entries), then the throughput of ``classify_tool`` in
one process (CPU time of this process, so other load on the machine does not skew it). By default
it replaces the "## Tool classifier" section of ``bench/README.md`` (``--no-write`` to skip).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # run as a script: make the repo importable
    sys.path.insert(0, str(REPO))

from agentsentinel.posture import ToolClassification, classify_tool  # noqa: E402
from bench.readme import replace_section  # noqa: E402
from tests.posture.corpus import (  # noqa: E402
    CORPUS,
    Counts,
    LabelledTool,
    capability_counts,
    counts,
)

README = REPO / "bench" / "README.md"
SECTION = "## Tool classifier"
COMMAND = ".venv/bin/python -m bench.classifier.run"

# Recorded when the held-out entries were first classified, before any change made for them.
HOLDOUT_FIRST_RUN = (
    "First run, before any change: dangerous precision 1.00 / recall 0.79, scope accuracy 0.92, "
    "exact capability-set match 0.79 (misses: python_repl_ast, requests_post, arxiv, "
    "tavily_search, create_user, reset_user_password, approve_expense, schedule_tweet, "
    "crypto_swap, sign_transaction, sql_db_list_tables, print_working_directory, "
    "get_drop_off_locations). The vocabulary and rules were then extended for every miss but "
    "sql_db_list_tables"
)
LONG_DESCRIPTION_CHARS = 1500


@dataclass(frozen=True)
class Accuracy:
    """Accuracy figures of one set of corpus entries."""

    entries: int
    per_capability: dict[str, Counts]
    dangerous: Counts
    scope_accuracy: float
    exact_match: float
    misses: list[str]


def classify(entry: LabelledTool) -> ToolClassification:
    return classify_tool(
        entry.name, entry.description, entry.input_schema, entry.annotations, entry.sinks
    )


def accuracy(entries: Sequence[LabelledTool]) -> Accuracy:
    results = [classify(entry) for entry in entries]
    predicted = [frozenset(cap.value for cap in r.capabilities) for r in results]
    pairs = list(zip(entries, results, predicted, strict=True))
    misses = [
        f"{e.name} (expected {sorted(e.capabilities) or '-'}, got {sorted(p) or '-'})"
        for e, r, p in pairs
        if p != e.capabilities or r.scope.value != e.scope
    ]
    return Accuracy(
        entries=len(entries),
        per_capability=capability_counts(entries, predicted),
        dangerous=counts([e.dangerous for e in entries], [r.is_dangerous for r in results]),
        scope_accuracy=sum(1 for e, r, _ in pairs if e.scope == r.scope.value) / len(entries),
        exact_match=sum(1 for e, _, p in pairs if p == e.capabilities) / len(entries),
        misses=misses,
    )


def throughput(
    items: Sequence[LabelledTool], call: Callable[[LabelledTool], object], seconds: float
) -> float:
    """Best classifications per CPU second over repeated passes of ``items``."""
    for item in items:  # warm-up
        call(item)
    best = 0.0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.process_time()
        for _ in range(10):
            for item in items:
                call(item)
        elapsed = time.process_time() - start
        if elapsed > 0:
            best = max(best, 10 * len(items) / elapsed)
    return best


def measure_throughput(seconds: float) -> list[tuple[str, int, float, float]]:
    described = [e for e in CORPUS if e.description]
    mean_chars = statistics.mean(len(e.description or "") for e in described)
    long_text = " ".join(e.description or "" for e in described)[:LONG_DESCRIPTION_CHARS]
    long_items = [LabelledTool("bench", "helper", "read", frozenset(), False, long_text)] * 20
    rows = [
        ("name only", CORPUS, lambda e: classify_tool(e.name), 0.0),
        (
            "name + description",
            described,
            lambda e: classify_tool(e.name, e.description),
            mean_chars,
        ),
        ("all signals", CORPUS, classify, 0.0),
        (
            "name + long description",
            long_items,
            lambda e: classify_tool(e.name, e.description),
            float(len(long_text)),
        ),
    ]
    return [
        (label, len(items), chars, throughput(items, call, seconds))
        for label, items, call, chars in rows
    ]


def render(full: Accuracy, holdout: Accuracy, speed: list[tuple[str, int, float, float]]) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = (
        f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )
    lines = [
        SECTION,
        "",
        f"Reproduce: `{COMMAND}` (or `python bench/classifier/run.py`) from the repository root.",
        f"Measured {stamp} on {machine}. Corpus: `tests/posture/corpus.py`, {full.entries} "
        "labelled tools (benign names with scary substrings, dangerous tools with innocent names, "
        "ordinary reads and writes, real MCP server tools with their annotations, and tools "
        "decided by description, parameters, annotations or sinks); labelling policy in its "
        "docstring.",
        "",
        "| capability | support | precision | recall | F1 |",
        "|---|---:|---:|---:|---:|",
    ]
    for cap, c in full.per_capability.items():
        lines.append(f"| {cap} | {c.support} | {c.precision:.3f} | {c.recall:.3f} | {c.f1:.3f} |")
    d = full.dangerous
    lines += [
        f"| **is_dangerous** | {d.support} | {d.precision:.3f} | {d.recall:.3f} | {d.f1:.3f} |",
        "",
        f"Scope accuracy {full.scope_accuracy:.3f}; exact capability-set match "
        f"{full.exact_match:.3f} ({full.entries - len(full.misses)}/{full.entries} entries "
        "fully right).",
        "",
        f"Held-out entries ({holdout.entries}, written after the classifier was frozen). "
        + HOLDOUT_FIRST_RUN
        + f"; now: dangerous precision {holdout.dangerous.precision:.3f} / recall "
        f"{holdout.dangerous.recall:.3f}, scope accuracy {holdout.scope_accuracy:.3f}, exact "
        f"match {holdout.exact_match:.3f} - no longer a blind figure.",
        "",
        "Remaining misses: " + ("; ".join(full.misses) if full.misses else "none") + ".",
        "",
        "| throughput (one process, CPU time) | tools | mean description | classifications/s |",
        "|---|---:|---:|---:|",
    ]
    for label, n, chars, rate in speed:
        described = f"{chars:.0f} chars" if chars else "-"
        lines.append(f"| {label} | {n} | {described} | {rate:,.0f} |")
    lines += [
        "",
        "Cost is linear in the number of tokens; descriptions are cut at 4,000 characters. No "
        "caching: every call re-tokenises its input. CPU time of the benchmark process is used "
        "so that other load on the machine does not lower the figures.",
    ]
    return "\n".join(lines) + "\n"


def write_readme(section: str) -> None:
    replace_section(SECTION, section, README)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--no-write", action="store_true", help="do not update bench/README.md")
    parser.add_argument(
        "--seconds", type=float, default=3.0, help="time spent per throughput row (default 3)"
    )
    args = parser.parse_args(argv)
    full = accuracy(CORPUS)
    holdout = accuracy([e for e in CORPUS if e.split == "holdout"])
    section = render(full, holdout, measure_throughput(args.seconds))
    print(section)
    if not args.no_write:
        write_readme(section)
        print(f"updated {README.relative_to(REPO)} ({SECTION})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
