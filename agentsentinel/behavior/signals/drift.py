"""Tool-definition drift: rug pulls vs deployments.

Each agent remembers the ``tool_definition_hash`` it last accepted per tool; the fleet keeps, per
tool and hash, when the hash was first seen and which agents have reported it (bounded). When an
agent reports a *different* hash for a tool:

* the hash is the one an admin acknowledged in the agent's profile → normal;
* at least ``k = max(2, min(deployment_min_agents, agents using the tool))`` agents reported the new
  hash → it is a **deployment**: normal, and the agent adopts it;
* otherwise it is a change on this agent alone — a **rug pull** — as soon as there is evidence
  against a deployment: another agent still reported an older definition of the tool at least
  ``deployment_window_s`` after the new one first appeared (it was not updated), or nobody else
  uses the tool and the window has passed, or ``deployment_confirm_s`` passed without the change
  spreading. Until then it is pending and the agent keeps its old hash. A pending change scores
  a weak ``definition_pending_p`` (configured, not learned): one agent reporting a definition
  that none of its peers reports is unusual, but a deployment's first adopters look the same
  for a few minutes, so it ranks the change above routine traffic without alarming on it.

A rug pull's p-value is ``1/(n+1)`` with ``n`` the fleet's decayed number of calls (each call that
carried a definition was evidence that definitions do not change on one agent alone); it stays low
on every call until the change spreads (a late deployment) or is acknowledged.

An agent's first definition of a tool is compared with the fleet: a hash that differs from one
already established across the fleet is treated as a change too. Sightings are recorded for every
event (a fact about the fleet, not a model of normal behaviour); the accepted hash only moves on
learned events. Because each worker sees the agents of its own shards, ``k`` adapts to the number
of agents this detector has seen using the tool.
"""

from __future__ import annotations

from agentsentinel.behavior.events import Reason
from agentsentinel.behavior.signals.context import EventContext, Signal
from agentsentinel.behavior.stats import conformal_floor

_HASH_CHARS = 16
_MAX_HASHES_PER_TOOL = 8
_MAX_ADOPTERS = 16
_MAX_USERS = 16

# Outcomes of the comparison, kept on the context between score, learn and explain.
SAME = 0
ACCEPTED = 1
PENDING = 2
DRIFT = 3


class Sighting:
    """First time a (tool, hash) was seen, who reported it, and who kept another hash after."""

    __slots__ = ("agents", "first_seen", "holdouts")

    def __init__(self, first_seen: float, agents: list[str], holdouts: list[str]) -> None:
        self.first_seen = first_seen
        self.agents = agents
        self.holdouts = holdouts

    def to_json(self) -> list[object]:
        """``[first_seen, agents, holdouts]``."""
        return [self.first_seen, self.agents, self.holdouts]

    @classmethod
    def from_json(cls, data: object) -> Sighting:
        """Inverse of :meth:`to_json`."""
        if (
            not isinstance(data, list)
            or len(data) != 3
            or not isinstance(data[1], list)
            or not isinstance(data[2], list)
        ):
            raise ValueError("malformed sighting")
        return cls(float(data[0]), [str(a) for a in data[1]], [str(a) for a in data[2]])


class DefinitionDrift(Signal):
    """Sub-signal ``tool_definition``."""

    names = ("tool_definition",)

    def _classify(self, ctx: EventContext) -> tuple[int, str | None, str, int, int]:
        """(outcome, previous hash, new hash, adopters, k), computed once per event."""
        if ctx.drift is None:
            ctx.drift = self._compare(ctx)
        return ctx.drift

    def _compare(self, ctx: EventContext) -> tuple[int, str | None, str, int, int]:
        new = (ctx.event.tool_definition_hash or "")[:_HASH_CHARS].lower()
        tool = ctx.tool
        fleet = ctx.fleet
        known = ctx.agent.definitions.get(tool)
        if known == new:
            return SAME, known, new, 0, 0
        registry = fleet.definitions.get(tool, {})
        users = len(fleet.tool_users.get(tool, ()))
        k = max(2, min(self.config.deployment_min_agents, users))
        sighting = registry.get(new)
        adopters = len(sighting.agents) if sighting is not None else 0
        if sighting is None or ctx.agent.agent_id not in sighting.agents:
            adopters += 1
        ack = ctx.acknowledged_hash
        if ack is not None and ack[:_HASH_CHARS].lower() == new:
            return ACCEPTED, known, new, adopters, k
        previous = known
        if previous is None:
            established = [h for h, s in registry.items() if len(s.agents) >= k and h != new]
            if not established or adopters >= k:
                return SAME, None, new, adopters, k
            previous = established[0]
        if adopters >= k:
            return ACCEPTED, previous, new, adopters, k
        first_seen = sighting.first_seen if sighting is not None else ctx.t
        elapsed = ctx.t - first_seen
        cfg = self.config
        if elapsed < cfg.deployment_window_s:
            return PENDING, previous, new, adopters, k
        holdouts = len(sighting.holdouts) if sighting is not None else 0
        if holdouts or users <= 1 or elapsed >= cfg.deployment_confirm_s:
            return DRIFT, previous, new, adopters, k
        return PENDING, previous, new, adopters, k

    def score(self, ctx: EventContext) -> float | None:
        """``1/(n+1)`` for a change on this agent alone after the deployment window, a weak
        ``definition_pending_p`` while the window is open and peers may still follow, else 1."""
        if ctx.event.tool_definition_hash is None:
            return None
        outcome = self._classify(ctx)[0]
        if outcome == DRIFT:
            p = conformal_floor(ctx.fleet.tools.total * ctx.s_s)
        elif outcome == PENDING:
            p = self.config.definition_pending_p
        else:
            p = 1.0
        ctx.signals["tool_definition"] = p
        return p

    def observe(self, ctx: EventContext) -> None:
        """Record the sighting of (tool, hash) by this agent and the agent as a user of the tool."""
        fleet = ctx.fleet
        tool = ctx.tool
        agent_id = ctx.agent.agent_id
        users = fleet.tool_users.get(tool)
        if users is None:
            users = fleet.tool_users[tool] = []
        if len(users) < _MAX_USERS and agent_id not in users:
            users.append(agent_id)
        if ctx.event.tool_definition_hash is None:
            return
        new = ctx.event.tool_definition_hash[:_HASH_CHARS].lower()
        registry = fleet.definitions.get(tool)
        if registry is None:
            registry = fleet.definitions[tool] = {}
        sighting = registry.get(new)
        if sighting is None:
            if len(registry) >= _MAX_HASHES_PER_TOOL:
                oldest = min(registry, key=lambda h: (registry[h].first_seen, h))
                del registry[oldest]
            sighting = registry[new] = Sighting(ctx.t, [], [])
        elif ctx.t < sighting.first_seen:
            sighting.first_seen = ctx.t
        if len(sighting.agents) < _MAX_ADOPTERS and agent_id not in sighting.agents:
            sighting.agents.append(agent_id)
        # Reporting another hash well after a newer one appeared: evidence it was no deployment.
        if len(registry) > 1:
            late = ctx.t - self.config.deployment_window_s
            for other_hash, other in registry.items():
                if (
                    other_hash != new
                    and other.first_seen <= late
                    and other.first_seen > sighting.first_seen
                    and agent_id not in other.agents
                    and agent_id not in other.holdouts
                    and len(other.holdouts) < _MAX_ADOPTERS
                ):
                    other.holdouts.append(agent_id)

    def learn(self, ctx: EventContext, w_a: float, w_s: float) -> None:
        """Adopt the hash when it is the same, acknowledged or a deployment."""
        if ctx.event.tool_definition_hash is None:
            return
        outcome, _, new, _, _ = ctx.drift or self._classify(ctx)
        if outcome in (SAME, ACCEPTED):
            definitions = ctx.agent.definitions
            if ctx.tool in definitions or len(definitions) < self.config.max_tools_per_agent:
                definitions[ctx.tool] = new

    def explain(self, ctx: EventContext, name: str, p: float) -> Reason:
        """Which hash changed and how many peers followed."""
        _, previous, new, adopters, k = self._classify(ctx)
        return Reason(
            signal=name,
            detail=(
                f"definition of {ctx.tool} changed ({(previous or '?')[:8]} → {new[:8]}) on this "
                f"agent; {adopters} agent(s) report the new definition, a deployment needs {k} "
                f"within {self.config.deployment_window_s / 60:.0f} min"
            ),
            expected=(previous or "?")[:16],
            observed=new,
            p_value=p,
        )
