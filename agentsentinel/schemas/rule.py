"""The posture rule catalog (``GET /rules``)."""

from __future__ import annotations

from agentsentinel.schemas.common import ResponseModel


class OwaspReference(ResponseModel):
    id: str
    title: str
    list: str
    version: str


class RuleRead(ResponseModel):
    id: str
    severity: str
    severities: list[str]
    title: str
    description: str
    remediation: str
    tags: list[str]
    owasp: list[OwaspReference]
    sources: list[str]
