"""The json format: ``Report.to_dict()`` (with ``schema_version``), indented and stable."""

from __future__ import annotations

import json

from agentsentinel_cli.report.model import Report


def render_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n"
