"""Time of day x weekday/weekend, scored once per session start.

Session starts fall into 48 slots (UTC hour of day, +24 on Saturday and Sunday). The agent and its
peer group keep forward-decayed counts per slot, smoothed with a small circular kernel
(¼, ½, ¼ over the neighbouring hours of the same day type) so that starting an hour earlier than
usual is not an event. The agent's predictive is Dirichlet-smoothed towards the peer group's
(``a = strength + fraction * N``); the peers' profile keeps a share ``tod_daytype_mix`` of its
hour-of-day profile for both day types (a Saturday at the usual hour is less strange than 3 a.m.)
and is smoothed towards a uniform base; the p-value is the
predictive mass of the slots at most as probable as this one (exact, 48 terms), floored at
``1/(n+1)`` with ``n`` the decayed session starts of the agent plus its peers. A slot at least as
likely as under a uniform spread (1/48) is not summed: its p-value is reported as 1.
"""

from __future__ import annotations

from agentsentinel.behavior.events import Reason
from agentsentinel.behavior.signals.context import EventContext, Signal, fmt_count, fmt_pct
from agentsentinel.behavior.stats import clamp_p

SLOTS = 48
_DAY_NAMES = ("weekday", "weekend")


def _neighbours(slot: int) -> tuple[int, int]:
    base = (slot // 24) * 24
    return base + (slot - 1) % 24, base + (slot + 1) % 24


class SlotCounts:
    """Forward-decayed counts per slot, and their kernel-smoothed version (kept in step)."""

    __slots__ = ("bins", "smooth", "total")

    def __init__(self) -> None:
        self.bins = [0.0] * SLOTS
        self.smooth = [0.0] * SLOTS  # counts after the circular (¼, ½, ¼) kernel
        self.total = 0.0

    def _resmooth(self) -> None:
        b = self.bins
        self.smooth = [
            0.5 * b[s] + 0.25 * (b[_neighbours(s)[0]] + b[_neighbours(s)[1]]) for s in range(SLOTS)
        ]

    def add(self, slot: int, w: float) -> None:
        """Add ``w`` to a slot."""
        self.bins[slot] += w
        smooth = self.smooth
        left, right = _neighbours(slot)
        smooth[slot] += 0.5 * w
        smooth[left] += 0.25 * w
        smooth[right] += 0.25 * w
        self.total += w

    def rescale(self, f: float) -> None:
        """Multiply by ``f``."""
        self.bins = [v * f for v in self.bins]
        self.total *= f
        self._resmooth()

    def to_json(self) -> list[object]:
        """``[bins, total]``."""
        return [self.bins, self.total]

    @classmethod
    def from_json(cls, data: object) -> SlotCounts:
        """Inverse of :meth:`to_json`."""
        if not isinstance(data, list) or len(data) != 2 or not isinstance(data[0], list):
            raise ValueError("malformed slot counts")
        out = cls()
        out.bins = [float(v) for v in data[0]]
        out.total = float(data[1])
        if len(out.bins) != SLOTS:
            raise ValueError("malformed slot counts")
        out._resmooth()
        return out


def slot_label(slot: int) -> str:
    """``weekday 03:00 UTC``."""
    return f"{_DAY_NAMES[slot // 24]} {slot % 24:02d}:00 UTC"


class TimeOfDay(Signal):
    """Sub-signal ``time_of_day``."""

    names = ("time_of_day",)

    def _q(self, ctx: EventContext, slot: int) -> float:
        """Predictive probability of one slot (O(1))."""
        cfg = self.config
        peer = ctx.peer.tod
        agent = ctx.agent.tod
        n_p = peer.total * ctx.s_s
        n_a = agent.total * ctx.s_a
        beta = cfg.tod_uniform_strength
        if n_p > 0.0:
            mix = cfg.tod_daytype_mix
            sm = peer.smooth
            hour = slot % 24
            c = (1.0 - mix) * sm[slot] + mix * 0.5 * (sm[hour] + sm[hour + 24])
            prior = (c * ctx.s_s + beta / SLOTS) / (n_p + beta)
        else:
            prior = 1.0 / SLOTS
        if n_a <= 0.0:
            return prior
        a = cfg.agent_prior_strength + cfg.agent_prior_fraction * n_a
        return (agent.smooth[slot] * ctx.s_a + a * prior) / (n_a + a)

    def _predictive(self, ctx: EventContext) -> tuple[list[float], float]:
        cfg = self.config
        peer = ctx.peer.tod
        agent = ctx.agent.tod
        n_p = peer.total * ctx.s_s
        n_a = agent.total * ctx.s_a
        beta = cfg.tod_uniform_strength
        base = beta / SLOTS
        if n_p > 0.0:
            mix = cfg.tod_daytype_mix
            smoothed = peer.smooth
            # The usual hours, regardless of the day type, spread over both day types: working
            # on a Saturday at the usual hour is less strange than working at 3 a.m.
            hours = [(smoothed[h] + smoothed[h + 24]) * 0.5 for h in range(24)]
            ps = ctx.s_s / (n_p + beta)
            floor = base / (n_p + beta)
            prior = [
                ((1.0 - mix) * c + mix * hours[i % 24]) * ps + floor for i, c in enumerate(smoothed)
            ]
        else:
            prior = [1.0 / SLOTS] * SLOTS
        if n_a > 0.0:
            a = cfg.agent_prior_strength + cfg.agent_prior_fraction * n_a
            sa = ctx.s_a / (n_a + a)
            pa = a / (n_a + a)
            q = [c * sa + pa * pr for c, pr in zip(agent.smooth, prior, strict=True)]
        else:
            q = prior
        return q, n_a + n_p

    def score(self, ctx: EventContext) -> float | None:
        """Mass of the slots at most as likely as this session's start slot."""
        if not ctx.new_session:
            return None
        if self._q(ctx, ctx.slot) >= 1.0 / SLOTS:
            # At least as likely as under a uniform spread: the rarer slots' mass is large,
            # not worth summing.
            p = 1.0
        else:
            q, n = self._predictive(ctx)
            qx = q[ctx.slot] * (1.0 + 1e-9)
            p = clamp_p(sum(v for v in q if v <= qx), n)
        ctx.signals["time_of_day"] = p
        return p

    def learn(self, ctx: EventContext, w_a: float, w_s: float) -> None:
        """Count the session start."""
        if ctx.new_session:
            ctx.agent.tod.add(ctx.slot, w_a)
            ctx.peer.tod.add(ctx.slot, w_s)

    def explain(self, ctx: EventContext, name: str, p: float) -> Reason:
        """Share of the agent's sessions that start in this slot."""
        q, _ = self._predictive(ctx)
        agent = ctx.agent.tod
        n_a = agent.total * ctx.s_a
        here = agent.bins[ctx.slot] * ctx.s_a
        busiest = sorted(range(SLOTS), key=lambda s: -q[s])[:3]
        return Reason(
            signal=name,
            detail=(
                f"session started {slot_label(ctx.slot)}; {fmt_count(here)} of this agent's "
                f"{fmt_count(n_a)} sessions started then (predicted {fmt_pct(q[ctx.slot])})"
            ),
            expected="usually " + ", ".join(slot_label(s) for s in sorted(busiest)),
            observed=slot_label(ctx.slot),
            p_value=p,
        )
