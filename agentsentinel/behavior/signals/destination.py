"""Destination novelty (``target_hash``) and input/output hash repeats.

**Destination novelty (Good-Turing style).** For each agent and tool we count, with forward
decay, how many calls carried a target and how many of those targets were new at the time: the
sequential discovery rate, whose expectation is the Good-Turing probability that the next target is
unseen (``N1/N``, the share of singletons). Tools that always reach new places (web search) have a
high rate and a new target is unremarkable; tools that talk to a fixed set of recipients (payroll,
the team channel) have a low rate and a new target is the strongest single sign of a hijacked call.
The rate is Beta-smoothed towards the peer group's rate for the same tool (then a base rate), and
the p-value of a *new* target is that rate, floored at ``1/(n+1)`` with ``n`` the decayed number
of targeted calls of the agent plus its peers; a known target has p = 1. For an external write
after a sensitive read the destination is not a family of its own: it is combined with the risky
transition in the ``exfiltration`` family (:mod:`~agentsentinel.behavior.signals.exfiltration`).
Seen targets are kept as 48-bit hash prefixes in one bounded LRU per agent; an evicted target that
comes back counts as new, which also raises the learned rate: the estimate stays self-consistent.

**Repeats (loops and probing).** Inside a session, the same input sent again to the same tool is a
retry or a loop; different inputs all answered with the same output (an error page, "not found")
is probing. With ``k`` earlier occurrences in the session the p-value is ``r1 * r2^(k-1)``, a
two-parameter geometric tail where ``r1`` is the agent's rate of repeating at all and ``r2`` its
rate of repeating again once it has repeated; both are Beta-smoothed towards the peer group and
floored at ``1/(n+1)``.
"""

from __future__ import annotations

from agentsentinel.behavior.events import Reason
from agentsentinel.behavior.signals.context import (
    EventContext,
    Signal,
    bonferroni,
    fmt_count,
    fmt_pct,
)
from agentsentinel.behavior.stats import clamp_p

_HASH_CHARS = 12


class NoveltyCounts:
    """Forward-decayed (new, total) counts of targeted calls for one tool."""

    __slots__ = ("new", "total")

    def __init__(self, new: float = 0.0, total: float = 0.0) -> None:
        self.new = new
        self.total = total

    def to_json(self) -> list[float]:
        """``[new, total]``."""
        return [self.new, self.total]

    @classmethod
    def from_json(cls, data: object) -> NoveltyCounts:
        """Inverse of :meth:`to_json`."""
        if not isinstance(data, list) or len(data) != 2:
            raise ValueError("malformed novelty counts")
        return cls(float(data[0]), float(data[1]))


class RepeatCounts:
    """Forward-decayed repeat statistics: n events, r1 repeated once+, r2 repeated twice+."""

    __slots__ = ("n_in", "n_out", "r1_in", "r1_out", "r2_in", "r2_out")

    def __init__(self) -> None:
        self.n_in = self.r1_in = self.r2_in = 0.0
        self.n_out = self.r1_out = self.r2_out = 0.0

    def rescale(self, f: float) -> None:
        """Multiply every count by ``f``."""
        self.n_in *= f
        self.r1_in *= f
        self.r2_in *= f
        self.n_out *= f
        self.r1_out *= f
        self.r2_out *= f

    def to_json(self) -> list[float]:
        """Six floats."""
        return [self.n_in, self.r1_in, self.r2_in, self.n_out, self.r1_out, self.r2_out]

    @classmethod
    def from_json(cls, data: object) -> RepeatCounts:
        """Inverse of :meth:`to_json`."""
        if not isinstance(data, list) or len(data) != 6:
            raise ValueError("malformed repeat counts")
        out = cls()
        (out.n_in, out.r1_in, out.r2_in, out.n_out, out.r1_out, out.r2_out) = (
            float(v) for v in data
        )
        return out


def target_key(tool: str, target_hash: str) -> str:
    """Key of a (tool, target) pair in the agent's LRU of seen targets."""
    return f"{tool}\x1f{target_hash[:_HASH_CHARS]}"


class DestinationNovelty(Signal):
    """Sub-signal ``destination``."""

    names = ("destination",)

    def _rate(self, ctx: EventContext) -> tuple[float, float]:
        cfg = self.config
        tool = ctx.tool
        peer = ctx.peer.novelty.get(tool)
        base = cfg.destination_base_new_rate
        n_p = 0.0
        r_p = base
        if peer is not None:
            n_p = peer.total * ctx.s_s
            k = cfg.destination_peer_strength
            r_p = (peer.new * ctx.s_s + k * base) / (n_p + k)
        mine = ctx.agent.novelty.get(tool)
        n_a = 0.0
        r = r_p
        if mine is not None:
            n_a = mine.total * ctx.s_a
            k = cfg.destination_prior_strength
            r = (mine.new * ctx.s_a + k * r_p) / (n_a + k)
        return r, n_a + n_p

    def score(self, ctx: EventContext) -> float | None:
        """p = learned new-target rate when the target is new, else 1."""
        target = ctx.event.target_hash
        if target is None:
            return None
        if target_key(ctx.tool, target) in ctx.agent.targets:
            p = 1.0
        else:
            rate, n = self._rate(ctx)
            p = clamp_p(rate, n)
        ctx.signals["destination"] = p
        return None if ctx.exfil else p

    def learn(self, ctx: EventContext, w_a: float, w_s: float) -> None:
        """Count the call (new or not) and remember the target."""
        target = ctx.event.target_hash
        if target is None:
            return
        agent = ctx.agent
        key = target_key(ctx.tool, target)
        targets = agent.targets
        is_new = key not in targets
        if is_new:
            if len(targets) >= self.config.max_targets:
                del targets[next(iter(targets))]
        else:
            del targets[key]  # move to the most-recent end
        targets[key] = None
        mine = agent.novelty.get(ctx.tool)
        if mine is None:
            if len(agent.novelty) >= self.config.max_tools_per_agent:
                return
            mine = agent.novelty[ctx.tool] = NoveltyCounts()
        peer = ctx.peer.novelty.get(ctx.tool)
        if peer is None:
            peer = ctx.peer.novelty[ctx.tool] = NoveltyCounts()
        mine.total += w_a
        peer.total += w_s
        if is_new:
            mine.new += w_a
            peer.new += w_s

    def explain(self, ctx: EventContext, name: str, p: float) -> Reason:
        """How often this agent+tool reaches new destinations."""
        rate, _ = self._rate(ctx)
        mine = ctx.agent.novelty.get(ctx.tool)
        n_a = mine.total * ctx.s_a if mine is not None else 0.0
        return Reason(
            signal=name,
            detail=(
                f"new destination for {ctx.tool}; this agent+tool reaches a new destination "
                f"in {fmt_pct(rate)} of calls ({fmt_count(n_a)} targeted calls)"
            ),
            expected=f"a known destination (new ≈ {fmt_pct(rate)})",
            observed="never-seen destination",
            p_value=p,
        )


class HashRepeats(Signal):
    """Sub-signals ``repeat_input`` (loops, retries) and ``repeat_output`` (probing)."""

    names = ("repeat_input", "repeat_output")

    def _counts(self, ctx: EventContext) -> tuple[int, int, str | None, str | None]:
        """(input repeats, output repeats, input key, output key), computed once per event."""
        cached = ctx.repeats
        if cached is not None:
            return cached
        ev = ctx.event
        tool = ctx.tool
        in_key = target_key(tool, ev.input_hash) if ev.input_hash is not None else None
        out_key = target_key(tool, ev.output_hash) if ev.output_hash is not None else None
        session = ctx.session
        k_in = k_out = 0
        if session is not None and not ctx.new_session:
            if in_key is not None:
                k_in = session.inputs.get(in_key, 0)
            if k_in == 0 and out_key is not None:
                k_out = session.outputs.get(out_key, 0)
        ctx.repeats = (k_in, k_out, in_key, out_key)
        return ctx.repeats

    def _tail(self, ctx: EventContext, k: int, output: bool) -> tuple[float, float, float]:
        strength = self.config.repeat_prior_strength
        a = ctx.agent.repeats
        pr = ctx.peer.repeats
        s_a = ctx.s_a
        s_s = ctx.s_s
        if output:
            an, a1, a2 = a.n_out * s_a, a.r1_out * s_a, a.r2_out * s_a
            pn, p1, p2 = pr.n_out * s_s, pr.r1_out * s_s, pr.r2_out * s_s
        else:
            an, a1, a2 = a.n_in * s_a, a.r1_in * s_a, a.r2_in * s_a
            pn, p1, p2 = pr.n_in * s_s, pr.r1_in * s_s, pr.r2_in * s_s
        base1, base2 = 0.05, 0.3
        r1_p = (p1 + strength * base1) / (pn + strength)
        r2_p = (p2 + strength * base2) / (p1 + strength)
        r1 = (a1 + strength * r1_p) / (an + strength)
        r2 = (a2 + strength * r2_p) / (a1 + strength)
        p = r1 * r2 ** (k - 1)
        return clamp_p(p, an + pn), r1, r2

    def score(self, ctx: EventContext) -> float | None:
        """Geometric tail of the repeat count of this input (or output) in the session."""
        ev = ctx.event
        if ev.input_hash is None and ev.output_hash is None:
            return None
        k_in, k_out, _, _ = self._counts(ctx)
        ps: list[float] = []
        if ev.input_hash is not None:
            p_in = self._tail(ctx, k_in, False)[0] if k_in else 1.0
            ctx.signals["repeat_input"] = p_in
            ps.append(p_in)
        if ev.output_hash is not None and k_in == 0:
            p_out = self._tail(ctx, k_out, True)[0] if k_out else 1.0
            ctx.signals["repeat_output"] = p_out
            ps.append(p_out)
        return bonferroni(ps) if ps else None

    def observe(self, ctx: EventContext) -> None:
        """Record the hashes in the session (bounded)."""
        session = ctx.session
        if session is None:
            return
        _, _, in_key, out_key = ctx.repeats or self._counts(ctx)
        cap = self.config.max_session_hashes
        if in_key is not None:
            inputs = session.inputs
            if in_key in inputs or len(inputs) < cap:
                inputs[in_key] = inputs.get(in_key, 0) + 1
        if out_key is not None:
            outputs = session.outputs
            if out_key in outputs or len(outputs) < cap:
                outputs[out_key] = outputs.get(out_key, 0) + 1

    def learn(self, ctx: EventContext, w_a: float, w_s: float) -> None:
        """Count repeat occurrences for the agent and its peers."""
        ev = ctx.event
        k_in, k_out, _, _ = ctx.repeats or self._counts(ctx)
        a = ctx.agent.repeats
        p = ctx.peer.repeats
        if ev.input_hash is not None:
            a.n_in += w_a
            p.n_in += w_s
            if k_in >= 1:
                a.r1_in += w_a
                p.r1_in += w_s
                if k_in >= 2:
                    a.r2_in += w_a
                    p.r2_in += w_s
        if ev.output_hash is not None and k_in == 0:
            a.n_out += w_a
            p.n_out += w_s
            if k_out >= 1:
                a.r1_out += w_a
                p.r1_out += w_s
                if k_out >= 2:
                    a.r2_out += w_a
                    p.r2_out += w_s

    def explain(self, ctx: EventContext, name: str, p: float) -> Reason:
        """How many times the input (output) repeated vs how often the agent repeats."""
        k_in, k_out, _, _ = self._counts(ctx)
        output = name == "repeat_output"
        k = k_out if output else k_in
        _, r1, _ = self._tail(ctx, max(k, 1), output)
        what = "different inputs got the same output" if output else "same input repeated"
        return Reason(
            signal=name,
            detail=f"{what} {k + 1} times in this session for {ctx.tool}",
            expected=f"repeats in ≈ {fmt_pct(r1)} of calls",
            observed=f"{k + 1} occurrences",
            p_value=p,
        )
