"""Tool rarity and ungranted tools.

**Rarity.** The agent's tool choice is a categorical variable with forward-decayed counts at three
levels: the agent, its peer group, and the fleet. The agent's predictive distribution is a
Dirichlet-multinomial whose prior is the peer group's predictive, itself smoothed towards the
fleet, whose prior is a Dirichlet process (a small concentration reserves mass for tools nobody
has called).
The agent's prior weight is ``a = strength + fraction * N_agent``: the peers keep a share of the
weight as the agent matures, so a tool the peers use daily stays unremarkable for every member. The
p-value is the predictive mass of tools at most as probable as this one (see
:mod:`agentsentinel.behavior.categorical`), floored at ``1/(n+1)`` with ``n`` the largest
decayed event count among the levels: a brand-new agent calling its peers' usual tools is quiet,
a tool nobody in a large fleet ever called is not. A tool holding at least 20 % of the agent's
calls is one of its main tools and is reported with p = 1 without summing.

**Ungranted.** When the agent's profile lists grants and the tool is not among them, the p-value is
the risk of the tool's riskiest capability (destructive, code execution, privilege, secrets,
financial, external write ...; see ``DetectorConfig.capability_risk_p``), floored at
``1/(n+1)`` with ``n = grant_evidence + N_agent``: the grant list itself is the evidence that such
calls do not happen, so this fires on first sight, louder for dangerous tools.
"""

from __future__ import annotations

from agentsentinel.behavior.categorical import fleet_tail, level_tail
from agentsentinel.behavior.events import Reason
from agentsentinel.behavior.signals.context import EventContext, Signal, fmt_count, fmt_pct
from agentsentinel.behavior.stats import clamp_p

BULK = 0.2  # a tool with at least this share of the agent's calls is one of its main tools


class ToolRarity(Signal):
    """Sub-signals ``tool_rarity`` and ``ungranted_tool``."""

    names = ("tool_rarity", "ungranted_tool")

    def score(self, ctx: EventContext) -> float:
        """Rarity of the tool for this agent; ungranted-tool risk when grants exist."""
        cfg = self.config
        tool = ctx.tool
        fleet_tools = ctx.fleet.tools
        agent_tools = ctx.agent.tools
        s_s = ctx.s_s
        s_a = ctx.s_a
        grants = ctx.grants
        own = agent_tools.counts.get(tool, 0.0)
        if own >= BULK * agent_tools.total > 0.0 and (not grants or tool in grants):
            # One of the agent's main tools: not rare, nothing to sum.
            ctx.q_tool = own / agent_tools.total
            ctx.p_tool = 1.0
            ctx.signals["tool_rarity"] = 1.0
            return 1.0
        q_g, p_g = fleet_tail(fleet_tools, tool, cfg.fleet_new_tool_concentration, s_s)
        q_p, p_p = level_tail(ctx.peer.tools, tool, s_s, q_g, p_g, cfg.peer_prior_strength)
        n_a = agent_tools.total * s_a
        strength = cfg.agent_prior_strength + cfg.agent_prior_fraction * n_a
        q_a, p_a = level_tail(agent_tools, tool, s_a, q_p, p_p, strength)
        n_fleet = fleet_tools.total * s_s
        p = clamp_p(p_a, n_fleet if n_fleet > n_a else n_a)
        ctx.q_tool = q_a
        ctx.p_tool = p
        ctx.signals["tool_rarity"] = p
        grants = ctx.grants
        if grants and tool not in grants:
            p_u = clamp_p(self._risk_p(ctx.caps), cfg.grant_evidence + n_a)
            ctx.signals["ungranted_tool"] = p_u
            low = p_u if p_u < p else p
            return min(1.0, 2.0 * low)
        return p

    def _risk_p(self, caps: frozenset[str] | None) -> float:
        cfg = self.config
        if caps is None:
            return cfg.unknown_tool_risk_p
        risk = cfg.unknown_tool_risk_p * 10.0  # a known, harmless capability set
        table = cfg.capability_risk_p
        for cap in caps:
            value = table.get(cap)
            if value is not None and value < risk:
                risk = value
        return risk

    def explain(self, ctx: EventContext, name: str, p: float) -> Reason:
        """Expected vs observed share of the tool for the agent and its peers."""
        tool = ctx.tool
        if name == "ungranted_tool":
            grants = ctx.grants or frozenset()
            caps = ", ".join(sorted(ctx.caps)) if ctx.caps else "unknown"
            return Reason(
                signal=name,
                detail=(
                    f"{tool} is not among the agent's {len(grants)} granted tools "
                    f"(capabilities: {caps})"
                ),
                expected="only granted tools",
                observed=tool,
                p_value=p,
            )
        agent_tools = ctx.agent.tools
        n_a = agent_tools.total * ctx.s_a
        c_a = agent_tools.get(tool) * ctx.s_a
        peer_tools = ctx.peer.tools
        n_p = peer_tools.total * ctx.s_s
        c_p = peer_tools.get(tool) * ctx.s_s
        if c_a < 0.5:
            detail = f"{tool} never called by this agent in {fmt_count(n_a)} calls"
        else:
            detail = f"{tool} is rare for this agent ({fmt_count(c_a)} of {fmt_count(n_a)} calls)"
        if n_p > 0:
            detail += f"; peers: {fmt_count(c_p)} of {fmt_count(n_p)}"
        return Reason(
            signal=name,
            detail=detail,
            expected=f"share of {tool} ≈ {fmt_pct(ctx.q_tool)}",
            observed=tool,
            p_value=p,
        )
