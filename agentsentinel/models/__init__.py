"""ORM models, one module per aggregate. Import this package to register every table."""

from agentsentinel.db.base import Base
from agentsentinel.models.agent import Agent, McpConnection, ToolGrant
from agentsentinel.models.alert import Alert
from agentsentinel.models.api_key import ApiKey, LoginToken
from agentsentinel.models.baseline import Baseline
from agentsentinel.models.event import AgentEvent
from agentsentinel.models.finding import Finding, Suppression
from agentsentinel.models.trust import TrustScore

__all__ = [
    "Agent",
    "AgentEvent",
    "Alert",
    "ApiKey",
    "Base",
    "Baseline",
    "Finding",
    "LoginToken",
    "McpConnection",
    "Suppression",
    "ToolGrant",
    "TrustScore",
]
