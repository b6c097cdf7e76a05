"""What a tool can do: its scope and its capabilities, and which of them make it dangerous.

Key contracts:
- ``ToolScope`` and ``ToolCapability`` are the only vocabulary the rest of the product uses for tool
  risk (grants, posture rules, trust, the CLI's SARIF output). Their string values are stored in the
  database and sent over the API, so they never change spelling.
- ``financial`` means the tool can move money or create a financial obligation (pay, refund, charge,
  place an order). Reading balances or transactions is ``reads_private_data``, not ``financial``.
- ``infrastructure`` means the tool changes running infrastructure (deploy, scale, migrate, restart,
  DNS, firewalls). Reading cluster status carries no capability.
- ``secrets_access`` means the tool returns, stores or manages secret material (API keys, passwords,
  tokens, vault entries). A tool that merely *receives* a password to log in does not have it.

Which capabilities are dangerous (the decision, and why):
- dangerous: ``destructive`` (data loss), ``code_execution`` (arbitrary behaviour),
  ``secrets_access`` (credential theft, lateral movement), ``privilege_admin`` (changes who can do
  what), ``writes_external`` (the exfiltration channel of the lethal trifecta), ``financial``
  (irreversible money movement) and ``infrastructure`` (outage, takeover of the runtime).
- not dangerous on their own: ``reads_private_data`` and ``reads_untrusted_content`` (they matter in
  combination, which the LETHAL_TRIFECTA rule checks per agent) and ``writes_internal`` (reversible,
  stays inside the organisation).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Final


class ToolScope(StrEnum):
    """Coarse access level of a tool: read < write < admin."""

    read = "read"
    write = "write"
    admin = "admin"


class ToolCapability(StrEnum):
    """One concrete thing a tool can do that matters for security."""

    reads_private_data = "reads_private_data"
    reads_untrusted_content = "reads_untrusted_content"
    writes_external = "writes_external"
    writes_internal = "writes_internal"
    destructive = "destructive"
    code_execution = "code_execution"
    secrets_access = "secrets_access"
    privilege_admin = "privilege_admin"
    infrastructure = "infrastructure"
    financial = "financial"


DANGEROUS_CAPABILITIES: Final[frozenset[ToolCapability]] = frozenset(
    {
        ToolCapability.destructive,
        ToolCapability.code_execution,
        ToolCapability.secrets_access,
        ToolCapability.privilege_admin,
        ToolCapability.writes_external,
        ToolCapability.financial,
        ToolCapability.infrastructure,
    }
)

# Capabilities that change state somewhere; any of them makes the scope at least ``write``.
# Code execution counts as a write because arbitrary code can change anything the process can.
WRITE_CAPABILITIES: Final[frozenset[ToolCapability]] = frozenset(
    {
        ToolCapability.writes_external,
        ToolCapability.writes_internal,
        ToolCapability.destructive,
        ToolCapability.code_execution,
        ToolCapability.financial,
        ToolCapability.privilege_admin,
        ToolCapability.infrastructure,
    }
)

# Capabilities that on their own make the scope ``admin``.
ADMIN_CAPABILITIES: Final[frozenset[ToolCapability]] = frozenset(
    {ToolCapability.privilege_admin, ToolCapability.infrastructure}
)


def is_dangerous(capabilities: Iterable[ToolCapability]) -> bool:
    """True when any capability is in ``DANGEROUS_CAPABILITIES``."""
    return not DANGEROUS_CAPABILITIES.isdisjoint(capabilities)


def scope_for(capabilities: Iterable[ToolCapability], *, admin_target: bool = False) -> ToolScope:
    """Scope implied by capabilities; ``admin_target`` marks destruction of users/roles/accounts."""
    caps = frozenset(capabilities)
    if not ADMIN_CAPABILITIES.isdisjoint(caps):
        return ToolScope.admin
    if admin_target and ToolCapability.destructive in caps:
        return ToolScope.admin
    if not WRITE_CAPABILITIES.isdisjoint(caps):
        return ToolScope.write
    return ToolScope.read
