"""What hides a finding: disabled rules, config suppressions, inline ignores and ``--baseline``.

Inline ignores: ``# sentinel: ignore[RULE_ID] reason`` (or ``//``), on the finding's line or the
line above; several ids are separated by commas. An ignore without a reason is not applied and
yields a warning, as does an expired config suppression.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Final

from agentsentinel_cli.config import CliConfig
from agentsentinel_cli.report.model import Finding, Report

INLINE_IGNORE: Final = re.compile(
    r"(?:#|//)\s*sentinel:\s*ignore\[(?P<rules>[A-Za-z0-9_*,\s]+)\](?P<reason>[^\n]*)"
)
_MAX_SOURCE_BYTES: Final = 5_000_000


class BaselineError(ValueError):
    """A ``--baseline`` file that is not a previous json report."""


def load_baseline(path: Path) -> frozenset[str]:
    """Fingerprints of a previous ``--format json`` report."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"baseline {path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BaselineError(f"baseline {path}: not a json report ({exc})") from None
    findings = data.get("findings") if isinstance(data, dict) else None
    if not isinstance(data, dict) or "schema_version" not in data or not isinstance(findings, list):
        raise BaselineError(f"baseline {path}: not a json report of `sentinel ... --format json`")
    prints = [f.get("fingerprint") for f in findings if isinstance(f, dict)]
    if not all(isinstance(p, str) for p in prints):
        raise BaselineError(f"baseline {path}: a finding has no fingerprint")
    return frozenset(p for p in prints if isinstance(p, str))


@dataclass
class _Sources:
    root: Path | None
    cache: dict[str, list[str] | None] = field(default_factory=dict)

    def lines(self, path: str) -> list[str] | None:
        if path not in self.cache:
            file = Path(path)
            if not file.is_absolute():
                if self.root is None:
                    self.cache[path] = None
                    return None
                file = self.root / path
            try:
                if file.stat().st_size > _MAX_SOURCE_BYTES:
                    self.cache[path] = None
                else:
                    text = file.read_text(encoding="utf-8", errors="replace")
                    self.cache[path] = text.splitlines()
            except OSError:
                self.cache[path] = None
        return self.cache[path]


def _inline_ignored(f: Finding, sources: _Sources, warnings: set[str]) -> bool:
    loc = f.location
    if loc is None or loc.line is None:
        return False
    lines = sources.lines(loc.path)
    if lines is None:
        return False
    for lineno in (loc.line, loc.line - 1):
        if not 1 <= lineno <= len(lines):
            continue
        for m in INLINE_IGNORE.finditer(lines[lineno - 1]):
            rules = {r.strip() for r in m["rules"].split(",") if r.strip()}
            if f.rule_id not in rules and "*" not in rules:
                continue
            reason = m["reason"].strip().lstrip("-:—").strip()
            if reason:
                return True
            warnings.add(
                f"{loc.path}:{lineno}: `sentinel: ignore[{m['rules'].strip()}]` has no reason "
                "and is not applied; add why the finding is accepted after the bracket"
            )
    return False


def apply_filters(
    report: Report,
    config: CliConfig,
    *,
    root: Path | None,
    baseline: Iterable[str] | None = None,
    today: date | None = None,
) -> tuple[Report, list[str]]:
    """The report without hidden findings (counted in ``suppressed``) and the warnings."""
    today = today or date.today()
    warnings: set[str] = set()
    active = []
    for s in config.suppressions:
        if s.expired(today):
            where = f" in {s.path}" if s.path else ""
            warnings.add(
                f"suppression of {s.rule}{where} ({s.reason}) expired on "
                f"{s.expires}; it no longer applies"
            )
        else:
            active.append(s)
    disabled = config.rule_config.disabled_rules
    known = frozenset(baseline) if baseline is not None else None
    sources = _Sources(root)
    kept: list[Finding] = []
    hidden = 0
    for f in report.findings:
        if (
            f.rule_id in disabled
            or any(s.matches(f) for s in active)
            or _inline_ignored(f, sources, warnings)
            or (known is not None and f.fingerprint in known)
        ):
            hidden += 1
        else:
            kept.append(f)
    filtered = replace(report, findings=tuple(kept), suppressed=report.suppressed + hidden)
    return filtered, sorted(warnings)
