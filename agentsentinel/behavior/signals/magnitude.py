"""Heavy-tailed magnitudes: duration, input/output bytes and every numeric metric, per tool.

Each (agent, tool, feature) keeps a log2-binned forward-decayed histogram
(:class:`~agentsentinel.behavior.histogram.LogHistogram`: empirical tail inside the observed
range, a Pareto-type exponential tail in log space at the top and beyond, a floor on the spread).
Only *large* values are scored (upper tail): long calls, big payloads, big amounts. Negative metric
values are scored by magnitude (``|x|``).

The agent's tail is mixed with its peer group's for the same tool and feature, as a Dirichlet
process mixture: ``tail = (S_agent + k * s_peer) / (N_agent + k)``, where ``S_agent`` is the
agent's decayed mass at or above ``x``, ``s_peer`` the peer group's tail *fraction*, and
``k = min(N_peer, magnitude_peer_strength)`` the peers' weight in observations. The p-value is
``max(tail, 1/(n+1))`` with ``n`` the observations of this tool and feature behind it: the largest
of the agent's, the peer group's (which include the agent's) and the fleet's (its calls of the
tool, times the share of calls that carry the feature). A value in the bulk of the agent's own
history (tail fraction >= 5 %) is scored on that history alone. With no history anywhere the
p-value is 1, a brand-new agent whose values sit inside its peers' range is quiet, and a
hundredfold spike reaches the
floor. Past ``magnitude_peer_until`` observations the agent's own histogram stands alone (the
peers' share would be small, and skipping it halves the work on the hot path).
"""

from __future__ import annotations

import math

from agentsentinel.behavior.config import DetectorConfig
from agentsentinel.behavior.events import BehaviorEvent, Reason
from agentsentinel.behavior.histogram import LogHistogram
from agentsentinel.behavior.signals.context import EventContext, Signal, bonferroni, fmt_count

_STANDARD = ("duration_ms", "input_bytes", "output_bytes")


_NAMES = {f: "magnitude." + f for f in _STANDARD}
BULK = 0.05  # tail fraction above which a value is in the bulk of its own history


def features(event: BehaviorEvent, max_metrics: int) -> list[tuple[str, float]]:
    """The (feature name, value) pairs of an event, in a deterministic order."""
    out: list[tuple[str, float]] = []
    if event.duration_ms is not None:
        out.append(("duration_ms", float(event.duration_ms)))
    if event.input_bytes is not None:
        out.append(("input_bytes", float(event.input_bytes)))
    if event.output_bytes is not None:
        out.append(("output_bytes", float(event.output_bytes)))
    metrics = event.metrics
    if metrics:
        taken = 0
        for name, value in metrics.items():
            if taken >= max_metrics:
                break
            if isinstance(value, (int, float)) and math.isfinite(value):
                out.append(("m:" + name, float(value)))
                taken += 1
    return out


def _fmt_value(feature: str, x: float) -> str:
    if feature == "duration_ms":
        if x >= 60_000:
            return f"{x / 60_000:.1f} min"
        if x >= 1000:
            return f"{x / 1000:.1f} s"
        return f"{x:.0f} ms"
    if feature.endswith("_bytes"):
        for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
            if x >= size:
                return f"{x / size:.1f} {unit}"
        return f"{x:.0f} B"
    return f"{x:,.2f}".rstrip("0").rstrip(".")


def signal_name(feature: str) -> str:
    """Sub-signal name of a feature (``magnitude.duration_ms``, ``magnitude.amount``)."""
    return "magnitude." + (feature[2:] if feature.startswith("m:") else feature)


class Magnitudes(Signal):
    """Sub-signals ``magnitude.<feature>`` for call magnitudes or for argument metrics.

    Two families share this code: call magnitudes (duration and byte counts) and argument values
    (``metrics``, e.g. an amount); each is its own family in the combination, because an amount
    spike and a slow call are different evidence.
    """

    def __init__(self, config: DetectorConfig, metrics: bool) -> None:
        super().__init__(config)
        self.metrics = metrics
        self.names = () if metrics else tuple(signal_name(f) for f in _STANDARD)
        self._floor_bins = config.spread_floor_octaves / config.bin_width_octaves
        self._inv_width = 1.0 / config.bin_width_octaves

    def _p(
        self,
        ctx: EventContext,
        feature: str,
        pos: float,
        mine: dict[str, LogHistogram] | None,
    ) -> float:
        """p-value of ``pos`` for this tool and feature."""
        cfg = self.config
        h_a = mine.get(feature) if mine is not None else None
        s_mass = 0.0
        n_a = 0.0
        floor_bins = self._floor_bins
        if h_a is not None:
            total = h_a.total
            bins = h_a.bins
            b = int(pos)
            i = b - h_a.lo
            if i < 0:
                return 1.0
            if i < len(bins):
                # In the bulk of the agent's own values (at least 5 % of them as large) the
                # value is unremarkable: the empirical tail alone, nobody else needs to be asked.
                emp = sum(bins[i + 1 :]) + bins[i] * (1.0 - (pos - b))
                if emp >= BULK * total:
                    p = emp / total
                    return p if p < 1.0 else 1.0
            n_a = total * ctx.s_a
            s_mass = h_a.upper_tail(pos, cfg.tail_mass, floor_bins) * ctx.s_a
            if s_mass >= BULK * n_a:
                return min(1.0, s_mass / n_a)
        theirs = ctx.peer.hists.get(ctx.tool)
        h_p = theirs.get(feature) if theirs is not None else None
        n = n_a
        k = 0.0
        if h_p is not None and h_p.total > 0.0:
            n_p = h_p.total * ctx.s_s
            if n_a < cfg.magnitude_peer_until:
                k = n_p if n_p < cfg.magnitude_peer_strength else cfg.magnitude_peer_strength
                s_mass += k * h_p.upper_tail(pos, cfg.tail_mass, floor_bins) / h_p.total
            # Evidence: the fleet's calls of the tool, times the share of the peer group's calls
            # of the tool that carried this feature (so a rare metric is not over-counted).
            calls_p = ctx.peer.tools.counts.get(ctx.tool, 0.0)
            share = h_p.total / calls_p if calls_p > h_p.total else 1.0
            n_f = ctx.fleet.tools.counts.get(ctx.tool, 0.0) * ctx.s_s * share
            n = max(n, n_p, n_f)
        if n_a + k <= 0.0:
            return 1.0
        p = s_mass / (n_a + k)
        floor = 1.0 / (n + 1.0)
        if p < floor:
            return floor
        return p if p < 1.0 else 1.0

    def _features(self, ctx: EventContext) -> list[tuple[str, str, float]]:
        """(feature, sub-signal name, histogram position) of this family's features."""
        split = ctx.magnitudes
        if split is None:
            inv_width = self._inv_width
            log2 = math.log2
            ev = ctx.event
            standard: list[tuple[str, str, float]] = []
            metrics: list[tuple[str, str, float]] = []
            if ev.duration_ms is not None:
                pos = log2(1.0 + abs(ev.duration_ms)) * inv_width
                standard.append(("duration_ms", "magnitude.duration_ms", pos))
            if ev.input_bytes is not None:
                pos = log2(1.0 + abs(ev.input_bytes)) * inv_width
                standard.append(("input_bytes", "magnitude.input_bytes", pos))
            if ev.output_bytes is not None:
                pos = log2(1.0 + abs(ev.output_bytes)) * inv_width
                standard.append(("output_bytes", "magnitude.output_bytes", pos))
            if ev.metrics:
                for f, x in features(ev, self.config.max_metrics)[len(standard) :]:
                    metrics.append((f, signal_name(f), log2(1.0 + abs(x)) * inv_width))
            split = ctx.magnitudes = (standard, metrics)
        return split[1] if self.metrics else split[0]

    def score(self, ctx: EventContext) -> float | None:
        """Upper-tail p-value of every magnitude of this family present on the event."""
        split = ctx.magnitudes  # (standard, metrics), built once per event by _features
        feats = self._features(ctx) if split is None else split[self.metrics]
        if not feats:
            return None
        ps: list[float] = []
        signals = ctx.signals
        mine = ctx.agent.hists.get(ctx.tool)
        for feature, name, pos in feats:
            p = self._p(ctx, feature, pos, mine)
            signals[name] = p
            ps.append(p)
        return bonferroni(ps)

    def learn(self, ctx: EventContext, w_a: float, w_s: float) -> None:
        """Add each magnitude to the agent's and the peer group's histogram."""
        split = ctx.magnitudes
        feats = self._features(ctx) if split is None else split[self.metrics]
        if not feats:
            return
        agent_hists = ctx.agent.hists
        mine = agent_hists.get(ctx.tool)
        if mine is None:
            if len(agent_hists) >= self.config.max_tools_per_agent:
                return
            mine = agent_hists[ctx.tool] = {}
        theirs = ctx.peer.hists.get(ctx.tool)
        if theirs is None:
            theirs = ctx.peer.hists[ctx.tool] = {}
        cap = len(_STANDARD) + self.config.max_metrics
        floor = math.floor
        for feature, _, pos in feats:
            b = floor(pos)
            h = mine.get(feature)
            if h is None:
                if len(mine) >= cap:
                    continue
                h = mine[feature] = LogHistogram()
            # LogHistogram.add, its in-range case inlined (two histograms per feature per event).
            i = b - h.lo
            if 0 <= i < len(h.bins):
                h.bins[i] += w_a
                h.total += w_a
            else:
                h.add(b, w_a)
            hp = theirs.get(feature)
            if hp is None:
                hp = theirs[feature] = LogHistogram()
            i = b - hp.lo
            if 0 <= i < len(hp.bins):
                hp.bins[i] += w_s
                hp.total += w_s
            else:
                hp.add(b, w_s)

    def explain(self, ctx: EventContext, name: str, p: float) -> Reason:
        """Observed value vs the agent's median and 95th percentile for the tool."""
        feature = name.removeprefix("magnitude.")
        x = None
        for feat, value in features(ctx.event, self.config.max_metrics):
            if signal_name(feat) == name:
                feature, x = feat, value
                break
        label = feature[2:] if feature.startswith("m:") else feature
        mine = ctx.agent.hists.get(ctx.tool)
        h = mine.get(feature) if mine is not None else None
        if h is None:
            theirs = ctx.peer.hists.get(ctx.tool)
            h = theirs.get(feature) if theirs is not None else None
        expected = None
        width = self.config.bin_width_octaves
        if h is not None and h.total > 0:
            med = math.exp2(h.quantile(0.5) * width) - 1.0
            p95 = math.exp2(h.quantile(0.95) * width) - 1.0
            expected = f"typical {_fmt_value(feature, med)} (p95 {_fmt_value(feature, p95)})"
        own = mine is not None and h is mine.get(feature)
        n = h.total * (ctx.s_a if own else ctx.s_s) if h else 0.0
        observed = _fmt_value(feature, abs(x)) if x is not None else None
        return Reason(
            signal=name,
            detail=(
                f"{label} of {ctx.tool} is {observed} — in the upper tail of "
                f"{fmt_count(n)} past calls"
            ),
            expected=expected,
            observed=observed,
            p_value=p,
        )
