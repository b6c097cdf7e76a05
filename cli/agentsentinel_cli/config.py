"""``[tool.agentsentinel]`` in ``pyproject.toml`` or ``.agentsentinel.toml``: the CLI's config.

Lookup: ``--config FILE`` when given; otherwise from the scan root upwards, in each directory
``.agentsentinel.toml`` first, then a ``pyproject.toml`` that has a ``[tool.agentsentinel]``
table, stopping after the repository root (the directory holding ``.git``) or at ``/``.
Every key is checked: an unknown key or a bad value raises ``ConfigError`` naming the key and
the file, which the commands turn into exit code 2.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Final

from agentsentinel.posture import RuleConfig, Severity, ToolOverride
from agentsentinel_cli.report.model import Finding

CONFIG_FILE: Final = ".agentsentinel.toml"
FAIL_ON_NONE: Final = "none"
_RULE_ID = re.compile(r"^[A-Z][A-Z0-9_]*$")
# Config key -> RuleConfig field, for the thresholds the code rules use.
THRESHOLDS: Final[dict[str, str]] = {
    "tool-sprawl-limit": "tool_sprawl_limit",
    "tool-sprawl-min-tools": "tool_sprawl_min_tools",
    "tool-sprawl-capabilities": "tool_sprawl_capabilities",
    "mcp-connection-limit": "mcp_connection_limit",
}
TOP_KEYS: Final = frozenset(
    {"fail-on", "exclude", "disabled-rules", "overrides", "suppressions", *THRESHOLDS}
)
SUPPRESSION_KEYS: Final = frozenset({"rule", "path", "tool", "reason", "expires"})


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the key."""


def parse_fail_on(value: str) -> Severity | None:
    """``CRITICAL``..``INFO`` (any case) or ``none`` (never fail); raises ``ValueError``."""
    if value.strip().lower() == FAIL_ON_NONE:
        return None
    try:
        return Severity(value.strip().upper())
    except ValueError:
        choices = ", ".join(s.value for s in Severity)
        raise ValueError(f"{value!r} is not one of {choices}, none") from None


def glob_match(path: str, pattern: str) -> bool:
    """gitignore-style match of a POSIX relative path: ``**`` spans directories; a pattern
    without ``/`` matches any path component (and so everything under a matching directory)."""
    pattern = pattern.strip()
    if pattern.endswith("/"):
        pattern = pattern.rstrip("/")
    if "/" not in pattern:
        return any(fnmatch.fnmatchcase(part, pattern) for part in path.split("/"))
    pattern = pattern.lstrip("/")
    regex = _glob_regex(pattern)
    return regex.fullmatch(path) is not None or any(
        regex.fullmatch("/".join(path.split("/")[:i])) for i in range(1, path.count("/") + 1)
    )


def _glob_regex(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


@dataclass(frozen=True, slots=True)
class Suppression:
    """Hide findings of ``rule`` (or ``*``) in files matching ``path`` and/or about ``tool``."""

    rule: str
    reason: str
    path: str | None = None
    tool: str | None = None
    expires: date | None = None

    def expired(self, today: date) -> bool:
        return self.expires is not None and today > self.expires

    def matches(self, finding: Finding) -> bool:
        if self.rule != "*" and self.rule != finding.rule_id:
            return False
        if self.path is not None and (
            finding.location is None or not glob_match(finding.location.path, self.path)
        ):
            return False
        if self.tool is not None:
            ev = finding.evidence
            tools = ev.get("tools")
            if ev.get("tool") != self.tool and not (
                isinstance(tools, list | tuple) and self.tool in tools
            ):
                return False
        return True


@dataclass(frozen=True, slots=True)
class CliConfig:
    """The loaded config; ``source`` is None when no file was found (all defaults)."""

    source: Path | None = None
    fail_on: Severity | None = Severity.CRITICAL
    fail_on_set: bool = False
    exclude: tuple[str, ...] = ()
    overrides: Mapping[str, ToolOverride] = field(default_factory=dict)
    suppressions: tuple[Suppression, ...] = ()
    rule_config: RuleConfig = field(default_factory=RuleConfig)


def find_config(start: Path) -> Path | None:
    """The config file that applies to ``start`` (a directory or file), or None."""
    here = start.resolve()
    if not here.is_dir():
        here = here.parent
    for directory in (here, *here.parents):
        candidate = directory / CONFIG_FILE
        if candidate.is_file():
            return candidate
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and _has_tool_table(pyproject):
            return pyproject
        if (directory / ".git").exists():
            return None
    return None


def _has_tool_table(pyproject: Path) -> bool:
    try:
        text = pyproject.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        # A broken pyproject.toml that may hold our table is loaded (and reported), not skipped.
        return "[tool.agentsentinel" in text
    return isinstance(data.get("tool"), dict) and "agentsentinel" in data["tool"]


def load_config(path: Path | None, *, start: Path | None = None) -> CliConfig:
    """Load ``path``, or the file found from ``start``; defaults when there is none."""
    if path is None:
        path = find_config(start or Path.cwd())
        if path is None:
            return CliConfig()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    if path.name == "pyproject.toml":
        tool = data.get("tool", {})
        table = tool.get("agentsentinel", {}) if isinstance(tool, dict) else {}
        prefix = "tool.agentsentinel."
    else:
        table = data
        prefix = ""
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: {prefix.rstrip('.') or 'config'} must be a table")
    return _parse(path, table, prefix)


def _parse(path: Path, table: Mapping[str, Any], prefix: str) -> CliConfig:
    def bad(key: str, why: str) -> ConfigError:
        return ConfigError(f"{path}: {prefix}{key}: {why}")

    unknown = sorted(set(table) - TOP_KEYS)
    if unknown:
        raise bad(unknown[0], f"unknown key (known: {', '.join(sorted(TOP_KEYS))})")

    fail_on: Severity | None = Severity.CRITICAL
    if "fail-on" in table:
        if not isinstance(table["fail-on"], str):
            raise bad("fail-on", "must be a string")
        try:
            fail_on = parse_fail_on(table["fail-on"])
        except ValueError as exc:
            raise bad("fail-on", str(exc)) from None

    exclude = _str_list(table.get("exclude", []), lambda why: bad("exclude", why))
    disabled = _str_list(table.get("disabled-rules", []), lambda why: bad("disabled-rules", why))
    for rule_id in disabled:
        if not _RULE_ID.match(rule_id):
            raise bad("disabled-rules", f"{rule_id!r} is not a rule id")

    thresholds: dict[str, int] = {}
    for key, attr in THRESHOLDS.items():
        if key in table:
            value = table[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise bad(key, "must be a non-negative integer")
            thresholds[attr] = value
    try:
        rule_config = RuleConfig(disabled_rules=frozenset(disabled), **thresholds)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ConfigError(f"{path}: {prefix}: {exc}") from None

    overrides: dict[str, ToolOverride] = {}
    raw_overrides = table.get("overrides", {})
    if not isinstance(raw_overrides, dict):
        raise bad("overrides", "must be a table of tool names")
    for tool, spec in raw_overrides.items():
        key = f"overrides.{tool}"
        if not isinstance(spec, dict):
            raise bad(key, "must be a table")
        try:
            overrides[tool] = ToolOverride.from_dict(
                {k.replace("-", "_"): v for k, v in spec.items()}
            )
        except ValueError as exc:
            raise bad(key, str(exc)) from None

    raw_supp = table.get("suppressions", [])
    if not isinstance(raw_supp, list):
        raise bad("suppressions", "must be an array of tables ([[...suppressions]])")
    suppressions = tuple(_suppression(entry, i, bad) for i, entry in enumerate(raw_supp))
    return CliConfig(
        source=path,
        fail_on=fail_on,
        fail_on_set="fail-on" in table,
        exclude=tuple(exclude),
        overrides=overrides,
        suppressions=suppressions,
        rule_config=rule_config,
    )


def _str_list(value: Any, bad: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise bad("must be an array of non-empty strings")
    return list(value)


def _suppression(entry: Any, i: int, bad: Any) -> Suppression:
    key = f"suppressions[{i}]"
    if not isinstance(entry, dict):
        raise bad(key, "must be a table")
    unknown = sorted(set(entry) - SUPPRESSION_KEYS)
    if unknown:
        raise bad(f"{key}.{unknown[0]}", "unknown key")
    for name in ("rule", "path", "tool", "reason"):
        if name in entry and (not isinstance(entry[name], str) or not entry[name].strip()):
            raise bad(f"{key}.{name}", "must be a non-empty string")
    if "rule" not in entry:
        raise bad(f"{key}.rule", "is required (a rule id or *)")
    rule = entry["rule"].strip()
    if rule != "*" and not _RULE_ID.match(rule):
        raise bad(f"{key}.rule", f"{rule!r} is not a rule id")
    if "reason" not in entry:
        raise bad(f"{key}.reason", "is required: say why the finding is accepted")
    expires = entry.get("expires")
    if expires is not None:
        if isinstance(expires, str):
            try:
                expires = date.fromisoformat(expires)
            except ValueError:
                raise bad(f"{key}.expires", "must be a date (YYYY-MM-DD)") from None
        elif not isinstance(expires, date) or hasattr(expires, "hour"):
            raise bad(f"{key}.expires", "must be a date (YYYY-MM-DD)")
    return Suppression(
        rule=rule,
        reason=entry["reason"].strip(),
        path=entry.get("path"),
        tool=entry.get("tool"),
        expires=expires,
    )
