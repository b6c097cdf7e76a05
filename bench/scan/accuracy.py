"""Tool-extraction recall/precision and finding accuracy of ``sentinel scan`` over its corpora.

Run: ``python -m bench.scan.accuracy``. Ground truth is the ``expected.json`` of each corpus under
``tests/scan/`` (``corpus``, reviewed by reading its source, and ``corpus_labelled``, labelled by
hand before the engine first ran on it): tools by name and file:line, their scope, findings by
rule id and file:line. Known misses count as misses.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from agentsentinel_cli.scan import scan

from tests.scan.corpus_fixture import CORPORA, materialise


def _score(expected: set[tuple[str, str]], got: set[tuple[str, str]]) -> tuple[float, float]:
    hits = len(expected & got)
    recall = hits / len(expected) if expected else 1.0
    precision = hits / len(got) if got else 1.0
    return recall, precision


Pairs = set[tuple[str, str]]


def measure(corpus: Path) -> tuple[Pairs, Pairs, Pairs, Pairs, int, int, float]:
    """(expected tools, found tools, expected findings, found findings, right scopes, files,
    seconds) of one corpus; items are prefixed with the corpus name."""
    truth = json.loads((corpus / "expected.json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        root = materialise(Path(tmp), corpus)
        started = time.perf_counter()
        report = scan([root], cache_dir=Path(tmp) / "cache", jobs=1)
        seconds = time.perf_counter() - started
    tag = corpus.name + "/"
    tools_exp = {(t["name"], tag + t["at"]) for t in truth["tools"]}
    tools_got = {(t.name, f"{tag}{t.location.path}:{t.location.line}") for t in report.tools}
    find_exp = {(f["rule_id"], tag + f["at"]) for f in truth["findings"]}
    find_got = {
        (f.rule_id, f"{tag}{f.location.path}:{f.location.line}")
        for f in report.findings
        if f.location is not None
    }
    scopes = {(t["name"], tag + t["at"]): t["scope"] for t in truth["tools"]}
    scope_ok = sum(
        1
        for t in report.tools
        if scopes.get((t.name, f"{tag}{t.location.path}:{t.location.line}")) == t.scope
    )
    files = int(report.stats["files_scanned"])
    return tools_exp, tools_got, find_exp, find_got, scope_ok, files, seconds


def main() -> None:
    print(f"{'corpus':<16} {'metric':<16} {'recall':>7} {'precision':>9} {'expected':>8}")
    totals: list[Pairs] = [set(), set(), set(), set()]
    scope_total = 0
    for name in [*sorted(CORPORA), "all"]:
        if name == "all":
            tools_exp, tools_got, find_exp, find_got = totals
            scope_ok = scope_total
        else:
            tools_exp, tools_got, find_exp, find_got, scope_ok, files, seconds = measure(
                CORPORA[name]
            )
            for total, part in zip(totals, (tools_exp, tools_got, find_exp, find_got), strict=True):
                total |= part
            scope_total += scope_ok
        rows = [
            ("tool extraction", *_score(tools_exp, tools_got), len(tools_exp)),
            ("findings", *_score(find_exp, find_got), len(find_exp)),
        ]
        for metric, recall, precision, n in rows:
            print(f"{name:<16} {metric:<16} {recall:>7.1%} {precision:>9.1%} {n:>8}")
        found = len(tools_exp & tools_got)
        print(f"{name:<16} tool scope agreement: {scope_ok}/{found} found tools")
        if name != "all":
            print(f"{name:<16} files: {files}, cold scan: {seconds:.3f}s")


if __name__ == "__main__":
    main()
