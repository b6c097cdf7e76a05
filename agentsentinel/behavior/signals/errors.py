"""Errors: error storms (Beta-Binomial) and never-seen error types (probing).

**Storms.** The agent's long-run error rate is Beta-distributed, ``Beta(e + k*mu, (n - e) +
k*(1-mu))``, with ``e``/``n`` its decayed error and call counts, ``mu`` the peer group's error rate
(itself smoothed towards a 2 % base) and ``k = error_prior_strength``. When a call fails we count
the errors ``x`` among the last ``m`` calls (a bit window of up to ``error_window`` calls, this one
included) and the p-value is the Beta-Binomial upper tail ``P(X >= x)``: it accounts for the
uncertainty of the rate, so a young agent's first errors are not a storm. Floor: ``1/(n+1)`` with
``n`` the decayed calls of the agent or of its peer group (which includes them), whichever is
larger. The window advances on every call, quarantined or not, so a storm keeps building up while it
is not learned from.

**Error types.** ``error_type`` is categorical: its rarity p-value for the agent is smoothed
towards the peer group (then a Dirichlet process for never-seen types), like tool rarity. A
flurry of ``permission_denied`` from an agent that only ever sees ``timeout`` is probing.
"""

from __future__ import annotations

from agentsentinel.behavior.categorical import DecayedCounts, fleet_tail, level_tail
from agentsentinel.behavior.events import Reason
from agentsentinel.behavior.signals.context import (
    EventContext,
    Signal,
    bonferroni,
    fmt_count,
    fmt_pct,
)
from agentsentinel.behavior.stats import betabinom_sf, clamp_p

_BASE_RATE = 0.02
_BASE_STRENGTH = 50.0
_MAX_TYPES = 32


class ErrorCounts:
    """Forward-decayed error and call counts, the recent bit window and error types."""

    __slots__ = ("bits", "calls", "errors", "nbits", "types")

    def __init__(self) -> None:
        self.errors = 0.0
        self.calls = 0.0
        self.bits = 0
        self.nbits = 0
        self.types = DecayedCounts()

    def rescale(self, f: float) -> None:
        """Multiply decayed counts by ``f``."""
        self.errors *= f
        self.calls *= f
        self.types.rescale(f)

    def to_json(self) -> list[object]:
        """Compact list form."""
        return [self.errors, self.calls, self.bits, self.nbits, self.types.to_json()]

    @classmethod
    def from_json(cls, data: object) -> ErrorCounts:
        """Inverse of :meth:`to_json`."""
        if not isinstance(data, list) or len(data) != 5:
            raise ValueError("malformed error counts")
        out = cls()
        out.errors = float(data[0])
        out.calls = float(data[1])
        out.bits = int(data[2])
        out.nbits = int(data[3])
        out.types = DecayedCounts.from_json(data[4])
        return out


class ErrorRate(Signal):
    """Sub-signals ``errors`` and ``error_type``."""

    names = ("errors", "error_type")

    def _beta(self, ctx: EventContext) -> tuple[float, float, float]:
        """(alpha, beta, evidence) of the agent's error-rate posterior."""
        peer = ctx.peer.errors
        mine = ctx.agent.errors
        n_p = peer.calls * ctx.s_s
        mu = (peer.errors * ctx.s_s + _BASE_STRENGTH * _BASE_RATE) / (n_p + _BASE_STRENGTH)
        k = self.config.error_prior_strength
        e = mine.errors * ctx.s_a
        n = mine.calls * ctx.s_a
        return e + k * mu, (n - e) + k * (1.0 - mu), max(n, n_p)

    def _window(self, ctx: EventContext) -> tuple[int, int]:
        mine = ctx.agent.errors
        size = self.config.error_window
        m = min(mine.nbits, size - 1)
        x = (mine.bits & ((1 << m) - 1)).bit_count() + 1
        return x, m + 1

    def _type_p(self, ctx: EventContext, error_type: str) -> float:
        cfg = self.config
        q_p, p_p = fleet_tail(ctx.peer.errors.types, error_type, 1.0, ctx.s_s)
        mine = ctx.agent.errors.types
        n_a = mine.total * ctx.s_a
        strength = cfg.agent_prior_strength + cfg.agent_prior_fraction * n_a
        _, p = level_tail(mine, error_type, ctx.s_a, q_p, p_p, strength)
        return clamp_p(p, n_a + ctx.peer.errors.types.total * ctx.s_s)

    def score(self, ctx: EventContext) -> float | None:
        """Beta-Binomial tail of the recent error count; rarity of the error type."""
        ev = ctx.event
        if ev.status != "error":
            return None
        a, b, n = self._beta(ctx)
        x, m = self._window(ctx)
        p = clamp_p(betabinom_sf(x, m, a, b), n)
        ctx.signals["errors"] = p
        ps = [p]
        if ev.error_type is not None:
            p_type = self._type_p(ctx, ev.error_type)
            ctx.signals["error_type"] = p_type
            ps.append(p_type)
        return bonferroni(ps)

    def observe(self, ctx: EventContext) -> None:
        """Shift the event into the recent-error bit window."""
        mine = ctx.agent.errors
        size = self.config.error_window
        mine.bits = ((mine.bits << 1) | (ctx.event.status == "error")) & ((1 << size) - 1)
        if mine.nbits < size:
            mine.nbits += 1

    def learn(self, ctx: EventContext, w_a: float, w_s: float) -> None:
        """Count the call, its error and its error type."""
        mine = ctx.agent.errors
        peer = ctx.peer.errors
        mine.calls += w_a
        peer.calls += w_s
        ev = ctx.event
        if ev.status == "error":
            mine.errors += w_a
            peer.errors += w_s
            if ev.error_type is not None:
                mine.types.add(ev.error_type, w_a, _MAX_TYPES)
                peer.types.add(ev.error_type, w_s, 4 * _MAX_TYPES)

    def explain(self, ctx: EventContext, name: str, p: float) -> Reason:
        """Recent errors vs the usual error rate (or the error type's rarity)."""
        a, b, n = self._beta(ctx)
        rate = a / (a + b)
        if name == "error_type":
            error_type = ctx.event.error_type or "?"
            seen = ctx.agent.errors.types.get(error_type) * ctx.s_a
            return Reason(
                signal=name,
                detail=(
                    f"error type {error_type!r} seen {fmt_count(seen)} times before by this "
                    f"agent ({fmt_count(ctx.agent.errors.errors * ctx.s_a)} errors in total)"
                ),
                expected=", ".join(k for k, _ in ctx.agent.errors.types.top(3)) or None,
                observed=error_type,
                p_value=p,
            )
        x, m = self._window(ctx)
        return Reason(
            signal=name,
            detail=(
                f"{x} errors in the last {m} calls; usual error rate {fmt_pct(rate)} "
                f"({fmt_count(n)} calls of evidence)"
            ),
            expected=f"≈ {rate * m:.1f} errors per {m} calls",
            observed=f"{x} errors",
            p_value=p,
        )
