"""Agents, their tool grants and their MCP server bindings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agentsentinel.db.base import Base
from agentsentinel.db.types import JSONType, UTCDateTime, utcnow


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(255))
    agent_type: Mapped[str] = mapped_column(String(64), default="llm_agent")
    model: Mapped[str] = mapped_column(String(128), default="unknown")
    owner_team: Mapped[str] = mapped_column(String(128), default="unassigned")
    description: Mapped[str | None] = mapped_column(Text, default=None)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(String(16), default="WATCH")
    trust_score: Mapped[float] = mapped_column(default=0.0)
    posture_score: Mapped[float] = mapped_column(default=100.0)
    behavior_score: Mapped[float] = mapped_column(default=100.0)
    recency: Mapped[float] = mapped_column(default=0.0)
    insufficient_evidence: Mapped[bool] = mapped_column(default=True)
    last_scored_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    grants: Mapped[list[ToolGrant]] = relationship(
        back_populates="agent",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ToolGrant.tool_name",
    )
    mcp_connections: Mapped[list[McpConnection]] = relationship(
        back_populates="agent",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="McpConnection.server_name",
    )

    __table_args__ = (
        Index(None, "created_at"),
        Index(None, "status"),
        Index(None, "owner_team"),
    )


class ToolGrant(Base):
    __tablename__ = "tool_grants"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    tool_name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    input_schema: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    annotations: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    scope: Mapped[str] = mapped_column(String(16), default="read")
    capabilities: Mapped[list[str]] = mapped_column(JSONType, default=list)
    is_dangerous: Mapped[bool] = mapped_column(default=False)
    confidence: Mapped[float] = mapped_column(default=0.0)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    override: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    rate_limit_per_hour: Mapped[int | None] = mapped_column(default=None)
    definition_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    last_called_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    agent: Mapped[Agent] = relationship(back_populates="grants")

    __table_args__ = (UniqueConstraint("agent_id", "tool_name"),)


class McpConnection(Base):
    __tablename__ = "mcp_connections"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    server_name: Mapped[str] = mapped_column(String(255))
    server_url: Mapped[str] = mapped_column(String(2048))
    capabilities: Mapped[list[str] | None] = mapped_column(JSONType, default=None)
    auth: Mapped[str] = mapped_column(String(16), default="none")
    tools: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    agent: Mapped[Agent] = relationship(back_populates="mcp_connections")

    __table_args__ = (UniqueConstraint("agent_id", "server_name"),)
