"""Transition rarity: previous tool in the session → this tool (first-order Markov chain).

For each previous tool (a pseudo-tool marks the session start) the agent and its peer group keep
forward-decayed successor counts. The agent's predictive for the successor is Dirichlet-smoothed
towards the peer group's, itself smoothed towards the agent's marginal tool distribution, and the
p-value is the mass of successors at most as probable (the same hierarchical rarity p-value as
:mod:`tool_rarity`, with a neutral prior tail of 1 at the top so that this signal measures the
*conditional* surprise, not the tool's overall rarity again).

**Risk prior.** A transition from a tool that reads sensitive data (``reads_private_data``,
``secrets_access``) to one that writes outside the organisation (``writes_external``) is the shape
of exfiltration, so its prior mass is multiplied by ``risky_transition_factor``: such a transition
needs evidence (the agent or its peers doing it routinely) before it is normal. Because the data
may have been read a few calls earlier, an external write in a session that has read sensitive
data, when the previous call was *not* the sensitive read, is scored as the pseudo-transition
``tainted → external write`` (with the same risk prior); the worse of it and the ordinary
transition is kept (Bonferroni-corrected). When the previous call is itself the sensitive read,
the direct transition is the most specific context and is scored alone (choosing the test by the
context, not by the p-values, keeps it valid without the factor 2). The floor is ``1/(n+1)``
with ``n`` the decayed number of times the previous tool (or a tainted session) was followed by
anything, for the agent plus its peers.
Transitions into or out of a tool the agent has never called are not scored unless risky: the
tool's rarity already carries that evidence, and every transition next to a new tool is new too.
A successor holding at least 20 % of the previous tool's transitions is usual and reported with
p = 1 without summing.

**Conjunction with the destination.** When such a risky external write carries a destination
(``target_hash``), its transition p-value is not a family of its own: it is combined with the
destination novelty of the same call into the ``exfiltration`` family
(:mod:`~agentsentinel.behavior.signals.exfiltration`), so that the conjunction *risky transition
and never-seen destination* counts more than either alone. The sub-signal ``transition`` still
reports its own p-value (reasons, ``ScoreResult.signals``).
"""

from __future__ import annotations

from agentsentinel.behavior.categorical import DecayedCounts, level_tail
from agentsentinel.behavior.config import EXTERNAL_WRITE_CAPS, SENSITIVE_READ_CAPS
from agentsentinel.behavior.events import Reason
from agentsentinel.behavior.signals.context import (
    START,
    TAINT,
    EventContext,
    Signal,
    fmt_count,
)
from agentsentinel.behavior.stats import clamp_p

BULK = 0.2  # a successor with at least this share of the previous tool's transitions is usual


class TransitionRarity(Signal):
    """Sub-signal ``transition``."""

    names = ("transition",)

    def _one(self, ctx: EventContext, prev: str, risky: bool) -> tuple[float, float, float]:
        cfg = self.config
        tool = ctx.tool
        prior_q = ctx.q_tool
        prior_p = 1.0
        if risky:
            prior_q *= cfg.risky_transition_factor
            prior_p = cfg.risky_transition_factor
        peer_succ = ctx.peer.successors.get(prev)
        n_p = 0.0
        if peer_succ is not None:
            n_p = peer_succ.total * ctx.s_s
            prior_q, prior_p = level_tail(
                peer_succ, tool, ctx.s_s, prior_q, prior_p, cfg.peer_prior_strength
            )
        agent_succ = ctx.agent.successors.get(prev)
        n_a = 0.0
        if agent_succ is not None:
            n_a = agent_succ.total * ctx.s_a
            strength = cfg.agent_prior_strength + cfg.agent_prior_fraction * n_a
            prior_q, prior_p = level_tail(agent_succ, tool, ctx.s_a, prior_q, prior_p, strength)
        return clamp_p(prior_p, n_a + n_p), n_a, n_p

    def _risky(self, ctx: EventContext, prev_caps: frozenset[str] | None) -> bool:
        caps = ctx.caps
        return bool(
            caps
            and prev_caps
            and not caps.isdisjoint(EXTERNAL_WRITE_CAPS)
            and not prev_caps.isdisjoint(SENSITIVE_READ_CAPS)
        )

    @staticmethod
    def _taint(ctx: EventContext, risky: bool) -> bool:
        """Score ``tainted → tool``: an external write after an earlier (not the last) read."""
        return bool(
            not risky and ctx.tainted and ctx.caps and not ctx.caps.isdisjoint(EXTERNAL_WRITE_CAPS)
        )

    def score(self, ctx: EventContext) -> float | None:
        """Rarity of ``prev → tool`` (and of ``tainted → tool`` for external writes)."""
        risky = self._risky(ctx, ctx.prev_caps)
        taint = self._taint(ctx, risky)
        counts = ctx.agent.tools.counts
        prev = ctx.prev_tool
        if (
            not risky
            and not taint
            and (
                counts.get(ctx.tool, 0.0) == 0.0 or (prev != START and counts.get(prev, 0.0) == 0.0)
            )
        ):
            # A tool new to the agent: tool rarity already says so; every transition into or
            # out of it is new too, and counting that again would double the same evidence.
            return None
        succ = ctx.agent.successors.get(prev)
        if (
            not risky
            and not taint
            and succ is not None
            and succ.counts.get(ctx.tool, 0.0) >= BULK * succ.total > 0.0
        ):
            # One of the usual successors of the previous tool: nothing to sum.
            ctx.signals["transition"] = 1.0
            return 1.0
        p, _, _ = self._one(ctx, prev, risky)
        if taint:
            p_taint, _, _ = self._one(ctx, TAINT, True)
            p = min(1.0, 2.0 * min(p, p_taint))
        ctx.signals["transition"] = p
        if (risky or taint) and ctx.event.target_hash is not None:
            ctx.exfil = True  # the exfiltration family reports it, with the destination
            return None
        return p

    def learn(self, ctx: EventContext, w_a: float, w_s: float) -> None:
        """Count the transition (and the tainted-session pseudo-transition)."""
        cfg = self.config
        tool = ctx.tool
        prevs = [ctx.prev_tool]
        if ctx.tainted and ctx.caps and not ctx.caps.isdisjoint(EXTERNAL_WRITE_CAPS):
            prevs.append(TAINT)
        agent_succ = ctx.agent.successors
        peer_succ = ctx.peer.successors
        for prev in prevs:
            counts = agent_succ.get(prev)
            if counts is None:
                if len(agent_succ) >= cfg.max_tools_per_agent + 2:
                    continue
                counts = agent_succ[prev] = DecayedCounts()
            counts.add(tool, w_a, cfg.max_successors)
            pcounts = peer_succ.get(prev)
            if pcounts is None:
                pcounts = peer_succ[prev] = DecayedCounts()
            pcounts.add(tool, w_s, 4 * cfg.max_successors)

    def explain(self, ctx: EventContext, name: str, p: float) -> Reason:
        """``read_database → send_email never seen in 1,240 sessions``-style text."""
        prev = ctx.prev_tool
        use_taint = False
        risky = self._risky(ctx, ctx.prev_caps)
        if self._taint(ctx, risky):
            p_direct = self._one(ctx, prev, risky)[0]
            p_taint = self._one(ctx, TAINT, True)[0]
            use_taint = p_taint < p_direct
        key = TAINT if use_taint else prev
        label = (
            "session start"
            if key == START
            else ("a session that read sensitive data" if key == TAINT else key)
        )
        agent_succ = ctx.agent.successors.get(key)
        n_prev = agent_succ.total * ctx.s_a if agent_succ is not None else 0.0
        seen = agent_succ.get(ctx.tool) * ctx.s_a if agent_succ is not None else 0.0
        if seen < 0.5:
            detail = f"{label} → {ctx.tool} never seen in {fmt_count(n_prev)} transitions"
        else:
            detail = f"{label} → {ctx.tool} seen {fmt_count(seen)} times in {fmt_count(n_prev)}"
        if risky or use_taint:
            detail += " (sensitive read followed by an external write)"
        top = agent_succ.top(3) if agent_succ is not None else []
        expected = ", ".join(f"{label} → {k}" for k, _ in top) if top else None
        return Reason(
            signal=name,
            detail=detail,
            expected=expected,
            observed=f"{label} → {ctx.tool}",
            p_value=p,
        )
