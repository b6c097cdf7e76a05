"""API keys and dashboard sessions."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import Field, model_validator

from agentsentinel.auth.keys import Scope
from agentsentinel.schemas.common import Name, OutDatetime, RequestModel, ResponseModel, UTCDatetime


class KeyCreate(RequestModel):
    name: Name
    scope: Scope
    agent_id: uuid.UUID | None = Field(
        default=None, description="Required for agent keys: the one agent the key acts for"
    )
    expires_at: UTCDatetime | None = None

    @model_validator(mode="after")
    def _agent_binding(self) -> KeyCreate:
        if self.scope is Scope.AGENT and self.agent_id is None:
            raise ValueError("agent keys must be bound to an agent (agent_id)")
        if self.scope is not Scope.AGENT and self.agent_id is not None:
            raise ValueError("only agent keys are bound to an agent")
        return self


class KeyRead(ResponseModel):
    id: uuid.UUID
    name: str
    key_prefix: str
    scope: str
    agent_id: uuid.UUID | None
    is_active: bool
    last_used_at: OutDatetime | None
    created_at: OutDatetime
    revoked_at: OutDatetime | None
    expires_at: OutDatetime | None


class KeyCreated(KeyRead):
    key: str = Field(description="The plaintext key, shown once: store it now")


class SessionCreate(RequestModel):
    key: Annotated[str | None, Field(max_length=128)] = None
    token: Annotated[str | None, Field(max_length=128)] = None

    @model_validator(mode="after")
    def _one_credential(self) -> SessionCreate:
        if (self.key is None) == (self.token is None):
            raise ValueError("give exactly one of key or token")
        return self


class SessionRead(ResponseModel):
    scope: str
    key_id: uuid.UUID
    key_name: str
    agent_id: uuid.UUID | None
    expires_at: OutDatetime | None
