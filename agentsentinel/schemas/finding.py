"""Findings and their lifecycle updates."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from agentsentinel.schemas.common import OutDatetime, RequestModel, ResponseModel, UTCDatetime

FindingStatus = Literal["OPEN", "ACKNOWLEDGED", "RESOLVED", "SUPPRESSED"]
Severity = Literal["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"]


class FindingUpdate(RequestModel):
    status: FindingStatus
    reason: Annotated[str | None, Field(max_length=1000)] = None
    until: UTCDatetime | None = Field(
        default=None, description="SUPPRESSED/ACKNOWLEDGED until this time (then it reopens)"
    )

    @model_validator(mode="after")
    def _suppression_needs_reason(self) -> FindingUpdate:
        if self.status == "SUPPRESSED" and not (self.reason and self.reason.strip()):
            raise ValueError("a suppression needs a reason")
        return self


class FindingRead(ResponseModel):
    id: uuid.UUID
    agent_id: uuid.UUID
    severity: str
    finding_type: str
    rule_id: str
    message: str
    status: str
    created_at: OutDatetime
    resolved_at: OutDatetime | None
    fingerprint: str
    remediation: str | None
    evidence: dict[str, Any]
    tags: list[str]
    status_reason: str | None
    status_by: str | None
    suppressed_until: OutDatetime | None
    first_seen_at: OutDatetime
    last_seen_at: OutDatetime
    updated_at: OutDatetime
    resolved_by: str | None
    history: list[dict[str, Any]]


class ScanSummary(ResponseModel):
    """What ``POST /agents/{id}/scan`` changed, and the agent's posture findings now."""

    agent_id: uuid.UUID
    findings: int
    open_by_severity: dict[str, int]
    opened: list[uuid.UUID]
    reopened: list[uuid.UUID]
    resolved: list[uuid.UUID]
    suppressed: list[uuid.UUID]
    posture_score: float
    trust_score: float
    status: str
