"""The markdown format, for pull-request comments: summary, findings table, errors."""

from __future__ import annotations

from agentsentinel.posture import Severity
from agentsentinel_cli.report.model import Report


def _cell(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("\r", " ")
        .replace("\n", " ")
        .replace("`", "\\`")
        .replace("<", "&lt;")
    )


def render_markdown(report: Report) -> str:
    ordered = report.sorted()
    lines = [f"## AgentSentinel {ordered.command}", ""]
    if ordered.findings:
        counts = ", ".join(
            f"{n} {s.value.lower()}"
            for s in Severity
            if (n := sum(1 for f in ordered.findings if f.severity == s))
        )
        lines.append(f"**{len(ordered.findings)} findings** ({counts}).")
    else:
        lines.append("**No findings.**")
    lines.append(
        f"{len(ordered.agents)} agents/servers, {len(ordered.tools)} tools, "
        f"{len(ordered.errors)} errors, {ordered.suppressed} suppressed."
    )
    if ordered.findings:
        lines += ["", "| Severity | Rule | Location | Agent | Message |", "|---|---|---|---|---|"]
        for f in ordered.findings:
            loc = f"`{_cell(str(f.location))}`" if f.location else "-"
            lines.append(
                f"| {f.severity.value} | {_cell(f.rule_id)} | {loc} | "
                f"{_cell(f.agent or '-')} | {_cell(f.message)} |"
            )
        remediations: dict[str, str] = {}
        for f in ordered.findings:
            if f.remediation and f.rule_id not in remediations:
                remediations[f.rule_id] = f.remediation
        if remediations:
            lines += ["", "<details><summary>Remediation</summary>", ""]
            lines += [f"- **{_cell(r)}**: {_cell(text)}" for r, text in remediations.items()]
            lines += ["", "</details>"]
    if ordered.errors:
        lines += ["", "### Errors", ""]
        lines += [f"- `{_cell(e.target)}`: {_cell(e.message)}" for e in ordered.errors]
    return "\n".join(lines) + "\n"
