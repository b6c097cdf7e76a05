"""Suppressions: standing decisions that hide a rule's findings, optionally until a date."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import Field, StringConstraints

from agentsentinel.schemas.common import OutDatetime, RequestModel, ResponseModel, UTCDatetime

RuleIdField = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
]


class SuppressionCreate(RequestModel):
    rule_id: RuleIdField = Field(description="a rule id from GET /rules")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
    agent_id: uuid.UUID | None = Field(default=None, description="unset: every agent")
    tool_name: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = Field(
        default=None, description="only findings about this tool"
    )
    path_glob: Annotated[str, StringConstraints(min_length=1, max_length=1024)] | None = Field(
        default=None,
        description="only findings located in a matching source file (code scans)",
    )
    expires_at: UTCDatetime | None = Field(
        default=None, description="must be in the future; unset: until deleted"
    )


class SuppressionRead(ResponseModel):
    id: uuid.UUID
    rule_id: str
    agent_id: uuid.UUID | None
    tool_name: str | None
    path_glob: str | None
    reason: str
    created_by: str | None
    expires_at: OutDatetime | None
    created_at: OutDatetime
    active: bool
    rescanned_agents: int = 0
