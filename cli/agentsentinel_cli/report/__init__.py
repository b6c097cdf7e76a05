"""Writers for ``sentinel scan`` / ``sentinel discover`` reports: table, json, sarif, markdown.

Key contracts:
- Writers only render a ``Report`` (see ``model.py``); they never filter findings or decide exit
  codes. Every writer renders ``Report.sorted()`` so the output is deterministic.
- json and sarif are byte-identical across runs of the same input: no timestamps, no absolute
  paths that the engines did not put in the report, sorted keys where order is not meaningful.
- The table goes to a rich console (colours on a TTY); ``render`` gives it as plain text for files.
"""

from __future__ import annotations

from enum import StrEnum

from agentsentinel_cli.report.model import Report


class ReportFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    SARIF = "sarif"
    MARKDOWN = "markdown"


def render(report: Report, fmt: ReportFormat) -> str:
    """The report in ``fmt`` as text (the table without ANSI codes), ending with a newline."""
    if fmt is ReportFormat.JSON:
        from agentsentinel_cli.report.json_writer import render_json

        return render_json(report)
    if fmt is ReportFormat.SARIF:
        from agentsentinel_cli.report.sarif import render_sarif

        return render_sarif(report)
    if fmt is ReportFormat.MARKDOWN:
        from agentsentinel_cli.report.markdown import render_markdown

        return render_markdown(report)
    from agentsentinel_cli.report.table import render_table_text

    return render_table_text(report)


__all__ = ["ReportFormat", "render"]
