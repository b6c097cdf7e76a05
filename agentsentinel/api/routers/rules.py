"""The posture rule catalog."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from agentsentinel.api.deps import ReaderDep
from agentsentinel.posture.rules import rule_catalog
from agentsentinel.schemas.rule import RuleRead

router = APIRouter(tags=["rules"])

_CATALOG = rule_catalog()  # static: the registry is code


@router.get("/rules", response_model=list[RuleRead], operation_id="list_rules")
async def list_rules(_: ReaderDep) -> list[dict[str, Any]]:
    """Every posture rule: id, severity, title, precise condition, remediation, OWASP tags."""
    return _CATALOG
