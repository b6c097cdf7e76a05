"""Agents, tool grants and MCP connections."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, field_validator

from agentsentinel.posture.capabilities import ToolCapability
from agentsentinel.schemas.common import (
    Name,
    OutDatetime,
    RequestModel,
    ResponseModel,
    Tag,
)

AgentType = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
AgentStatus = Literal["TRUSTED", "WATCH", "ALERT", "CRITICAL"]
GrantScope = Literal["read", "write", "admin"]


class AgentCreate(RequestModel):
    name: Name
    agent_type: AgentType = "llm_agent"
    model: Annotated[str | None, Field(max_length=128)] = None
    owner_team: Annotated[str | None, Field(max_length=128)] = None
    description: Annotated[str | None, Field(max_length=1000)] = None
    tags: Annotated[list[Tag], Field(max_length=32)] = Field(default_factory=list)


class AgentUpdate(RequestModel):
    name: Name | None = None
    agent_type: AgentType | None = None
    model: Annotated[str | None, Field(max_length=128)] = None
    owner_team: Annotated[str | None, Field(max_length=128)] = None
    description: Annotated[str | None, Field(max_length=1000)] = None
    tags: Annotated[list[Tag] | None, Field(max_length=32)] = None


class GrantOverride(RequestModel):
    """An administrator's classification of a tool, replacing the derived one."""

    scope: GrantScope | None = None
    capabilities: Annotated[list[ToolCapability] | None, Field(max_length=16)] = None
    is_dangerous: bool | None = None


class GrantCreate(RequestModel):
    """A tool grant. Unknown fields (e.g. a client-side ``scope`` or ``is_dangerous``) are ignored:
    the server classifies the tool itself."""

    model_config = ConfigDict(extra="ignore")

    tool_name: Name
    description: Annotated[str | None, Field(max_length=4000)] = None
    input_schema: dict[str, Any] | None = None
    annotations: dict[str, Any] | None = None
    rate_limit_per_hour: Annotated[int | None, Field(ge=1, le=100_000)] = None
    override: GrantOverride | None = None

    @field_validator("input_schema", "annotations")
    @classmethod
    def _bounded(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and len(repr(value)) > 65_536:
            raise ValueError("must be at most 64 KiB")
        return value


class GrantUpdate(RequestModel):
    description: Annotated[str | None, Field(max_length=4000)] = None
    input_schema: dict[str, Any] | None = None
    annotations: dict[str, Any] | None = None
    rate_limit_per_hour: Annotated[int | None, Field(ge=1, le=100_000)] = None
    override: GrantOverride | None = None


class GrantRead(ResponseModel):
    id: uuid.UUID
    agent_id: uuid.UUID
    tool_name: str
    scope: str
    is_dangerous: bool
    rate_limit_per_hour: int | None
    call_count_7d: int = 0
    last_called_at: OutDatetime | None
    created_at: OutDatetime
    updated_at: OutDatetime
    description: str | None
    input_schema: dict[str, Any] | None
    annotations: dict[str, Any] | None
    capabilities: list[str]
    confidence: float
    evidence: list[dict[str, Any]]
    override: dict[str, Any] | None
    definition_hash: str | None


class McpTool(RequestModel):
    name: Name
    description: Annotated[str | None, Field(max_length=4000)] = None
    input_schema: dict[str, Any] | None = Field(default=None, alias="inputSchema")
    annotations: dict[str, Any] | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class McpCreate(RequestModel):
    server_name: Name
    server_url: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)
    ]
    capabilities: Annotated[list[Tag] | None, Field(max_length=64)] = None
    auth: Literal["none", "bearer", "oauth"] = "none"
    tools: Annotated[list[McpTool] | None, Field(max_length=500)] = None

    @field_validator("server_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        scheme = value.split(":", 1)[0].lower() if ":" in value else ""
        if scheme not in {"http", "https", "stdio"}:
            raise ValueError("server_url must be an http://, https:// or stdio: URL")
        if scheme in {"http", "https"} and not value.lower().startswith(f"{scheme}://"):
            raise ValueError("server_url must look like http(s)://host[:port]/path")
        return value


class McpRead(ResponseModel):
    id: uuid.UUID
    agent_id: uuid.UUID
    server_name: str
    server_url: str
    capabilities: list[str] | None
    created_at: OutDatetime
    updated_at: OutDatetime
    auth: str
    tools: list[dict[str, Any]] | None


class AgentRead(ResponseModel):
    id: uuid.UUID
    name: str
    agent_type: str
    model: str
    owner_team: str
    description: str | None
    tags: list[str]
    status: str
    trust_score: float
    posture_score: float
    behavior_score: float
    recency_bonus: float = 0.0
    insufficient_evidence: bool
    last_scored_at: OutDatetime | None
    last_event_at: OutDatetime | None
    created_at: OutDatetime
    updated_at: OutDatetime


class AgentDetail(AgentRead):
    grants: list[GrantRead] = Field(default_factory=list)
    mcp_connections: list[McpRead] = Field(default_factory=list)
    open_findings_count: int = 0
    score: dict[str, Any] | None = None
