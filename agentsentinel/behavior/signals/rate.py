"""Rates and bursts (trailing 10 s / 60 s / 1 h) and slow ramps (CUSUM on hourly counts).

**Bursts.** For each window width ``W`` the agent's events are counted in tumbling buckets of
width ``W``; when a bucket closes its count ``c`` enters forward-decayed moments
``(sum w, sum w*c, sum w*c^2)``, and the buckets with no events in between enter as zeros (their
weights form a geometric series, added in closed form). The moments fit a Gamma-Poisson (negative
binomial) by the method of moments, with the variance floored at ``mean + mean^2 / nb_max_shape``
(a floor on the relative spread: a metronome-steady agent is not a hair-trigger). An event is
scored by the number of events in the trailing window ending at it, itself included, counted in
``m`` sub-buckets of a ring (an approximation within ``W/m``). Since the count is looked at from an
event, not from a random bucket, the reference distribution is the size-biased NB (a bucket with
``j`` events is ``j`` times as likely to be the one an event falls in; for the NB this is exactly
``1 + NB(r + 1, p)``), so ordinary sessions are not flagged on their second call. The p-value is
that upper tail, floored at ``1/(n+1)`` with ``n`` the decayed number of buckets. Trailing counts
include quarantined events (a burst keeps growing) but the model only learns from the others.

**Slow ramps.** Each closed hour updates a profile of hourly counts per slot (hour of day x
weekday/weekend, 48 slots, decayed mean and variance) and a one-sided CUSUM of the standardised
excess ``z = (c - mean_slot) / sqrt(max(var_slot, mean_slot * L) + 1)`` (calls arrive in
sessions of ``L`` calls on average, so an hour's count is compound Poisson: one extra session is
not a ramp),
``S = max(0, leak * S + min(z, clip) - k)``, over the slots where the agent is usually active;
in quiet slots ``S`` only fades, more slowly (``S = quiet_leak * S``: a night holds no evidence
either way, so a ramp that runs into the next working day resumes about where it stood rather
than from zero, while a weekend still clears it). The clip makes it a detector of *sustained*
excess — one busy hour (a burst, which the windows above catch) adds at most ``clip - k`` — and
the leak bounds its memory: a sustained excess ``d`` settles at ``(min(d, clip) - k) / (1 - leak)``
and, once the excess stops, ``S`` fades within hours. The p-value of the
current ``S`` (including the current, partial hour when it is already above its mean) is its
conformal rank among the agent's own past CUSUM values and the fleet's (the statistic is
standardised per agent, so every agent's values are draws from the same null). A ramp's own
values enter that history only sparingly: each agent adds at most four values above the fleet's
99th percentile per day, so a long excursion (a ramp) cannot fill the tail of the histories and
make the next ramp, on any agent, look ordinary.

Late events (older than the agent clock by more than ``late_tolerance_s``) are not rate-scored;
they are counted in the trailing windows that still cover them.
"""

from __future__ import annotations

import math

from agentsentinel.behavior.config import DetectorConfig
from agentsentinel.behavior.decay import ForwardDecay
from agentsentinel.behavior.events import Reason
from agentsentinel.behavior.histogram import LinearHistory
from agentsentinel.behavior.signals.context import EventContext, Signal, bonferroni
from agentsentinel.behavior.stats import clamp_p, event_count_sf

HOUR_S = 3600.0
SLOTS = 48
CUSUM_BIN = 0.5
CUSUM_BINS = 64
TAIL_PER_DAY = 4
_MAX_ZERO_HOURS = 24 * 8


WEEK_HOURS = 168
#: Hours from the Monday 00:00 UTC before the epoch to the epoch (1970-01-01 was a Thursday).
MONDAY_OFFSET = 72
#: Slot of each hour of the week counted from Monday 00:00 UTC (Saturday and Sunday: +24).
WEEK_SLOTS = tuple(k % 24 + (24 if k // 24 >= 5 else 0) for k in range(WEEK_HOURS))


def hour_slot(hour_index: int) -> int:
    """Slot (0..47) of an absolute UTC hour index: hour of day, +24 on Saturdays and Sundays."""
    return WEEK_SLOTS[(hour_index + MONDAY_OFFSET) % WEEK_HOURS]


def window_label(width: float) -> str:
    """``10s``, ``60s``, ``1h``."""
    if width >= HOUR_S and width % HOUR_S == 0:
        return f"{int(width // HOUR_S)}h"
    return f"{width:g}s"


class RateWindow:
    """Trailing ring and tumbling-bucket NB moments for one window width."""

    __slots__ = (
        "bucket",
        "bucket_count",
        "cur_sub",
        "cut",
        "m",
        "max_shape",
        "mean",
        "ring",
        "ring_sum",
        "s0",
        "s1",
        "s2",
        "sub_w",
        "var",
        "width",
    )

    def __init__(self, width: float, m: int, max_shape: float) -> None:
        self.width = width
        self.m = m
        self.max_shape = max_shape
        self.mean = 0.0  # fitted NB mean and variance of the bucket counts (derived)
        self.var = 0.0
        self.cut = math.inf  # trailing counts up to this are unremarkable (derived)
        self.sub_w = width / m
        self.ring = [0.0] * m
        self.ring_sum = 0.0
        self.cur_sub: int | None = None
        self.bucket: int | None = None
        self.bucket_count = 0.0
        self.s0 = 0.0
        self.s1 = 0.0
        self.s2 = 0.0

    def refit(self) -> None:
        """Refresh the NB fit and the fast-path cut from the moments."""
        s0 = self.s0
        if s0 <= 0.0 or self.s1 <= 0.0:
            self.mean = self.var = 0.0
            self.cut = math.inf
            return
        mean = self.s1 / s0
        var = self.s2 / s0 - mean * mean
        floor = mean + mean * mean / self.max_shape
        if var < floor:
            var = floor
        self.mean = mean
        self.var = var
        # Seen from an event, its window holds K = 1 + NB(r+1, p) events (size bias), with
        # E[K] = m + v/m and Var[K] = (E[K] - 1) v/m; within two sd the tail is large (over a
        # few percent) and is reported as 1 without being computed.
        expected = mean + var / mean
        self.cut = expected + 2.0 * math.sqrt((expected - 1.0) * var / mean)

    def trailing(self, t: float) -> float:
        """Events in the trailing window ending at ``t`` (before this event)."""
        cur = self.cur_sub
        if cur is None:
            return 0.0
        s = math.floor(t / self.sub_w)
        if s <= cur:
            return self.ring_sum
        m = self.m
        if s - cur >= m:
            return 0.0
        ring = self.ring
        expired = 0.0
        for j in range(cur - m + 1, s - m + 1):
            expired += ring[j % m]
        return self.ring_sum - expired

    def add_to_ring(self, t: float) -> None:
        """Count an event (quarantined or not) in the trailing ring."""
        s = math.floor(t / self.sub_w)
        m = self.m
        ring = self.ring
        cur = self.cur_sub
        if cur is None:
            self.cur_sub = s
        elif s > cur:
            if s - cur >= m:
                for i in range(m):
                    ring[i] = 0.0
                self.ring_sum = 0.0
            else:
                for j in range(cur + 1, s + 1):
                    idx = j % m
                    self.ring_sum -= ring[idx]
                    ring[idx] = 0.0
            self.cur_sub = s
        elif s <= cur - m:
            return  # too old for the trailing window
        ring[s % m] += 1.0
        self.ring_sum += 1.0

    def advance(self, t: float, decay: ForwardDecay) -> tuple[int, float, int] | None:
        """Close the open bucket if ``t`` is past it: (closed bucket, count, zero buckets)."""
        b = math.floor(t / self.width)
        cur = self.bucket
        if cur is None:
            self.bucket = b
            self.bucket_count = 0.0
            return None
        if b <= cur:
            return None
        count = self.bucket_count
        w = decay.weight(cur * self.width)
        self.s0 += w
        self.s1 += count * w
        self.s2 += count * count * w
        gap = b - cur - 1
        if gap > 0:
            log_r = math.log(2.0) * self.width / decay.half_life_s
            first = decay.weight((cur + 1) * self.width)
            self.s0 += first * math.expm1(gap * log_r) / math.expm1(log_r)
        self.bucket = b
        self.bucket_count = 0.0
        self.refit()
        return cur, count, gap

    def model(self, scale: float, max_shape: float) -> tuple[float, float, float]:
        """(mean, variance, decayed number of buckets) of the bucket counts."""
        s0 = self.s0
        if s0 <= 0.0:
            return 0.0, 0.0, 0.0
        mean = self.s1 / s0
        var = self.s2 / s0 - mean * mean
        floor = mean + mean * mean / max_shape
        if var < floor:
            var = floor
        return mean, var, s0 * scale

    def rescale(self, f: float) -> None:
        """Multiply the decayed moments by ``f``."""
        self.s0 *= f
        self.s1 *= f
        self.s2 *= f
        self.refit()

    def to_json(self) -> list[object]:
        """Compact list form."""
        return [
            self.ring,
            self.ring_sum,
            self.cur_sub,
            self.bucket,
            self.bucket_count,
            self.s0,
            self.s1,
            self.s2,
        ]

    def load(self, data: object) -> None:
        """Restore from :meth:`to_json` output (width and m come from the config)."""
        if not isinstance(data, list) or len(data) != 8 or not isinstance(data[0], list):
            raise ValueError("malformed rate window")
        if len(data[0]) != self.m:
            raise ValueError("rate window shape differs from the configuration")
        self.ring = [float(v) for v in data[0]]
        self.ring_sum = float(data[1])
        self.cur_sub = None if data[2] is None else int(data[2])
        self.bucket = None if data[3] is None else int(data[3])
        self.bucket_count = float(data[4])
        self.s0, self.s1, self.s2 = float(data[5]), float(data[6]), float(data[7])
        self.refit()


def cusum_history() -> LinearHistory:
    """An empty history of CUSUM values (bins of ``CUSUM_BIN``)."""
    return LinearHistory(CUSUM_BIN, CUSUM_BINS)


class HourProfile:
    """Hourly counts per slot (decayed moments), the CUSUM and its history."""

    __slots__ = (
        "cusum",
        "daily",
        "history",
        "max_mean",
        "means",
        "tail_count",
        "tail_day",
        "w0",
        "w1",
        "w2",
    )

    def __init__(self) -> None:
        self.w0 = [0.0] * SLOTS
        self.w1 = [0.0] * SLOTS
        self.w2 = [0.0] * SLOTS
        self.cusum = 0.0
        self.history = cusum_history()
        self.means = [0.0] * SLOTS
        self.max_mean = 0.0
        self.daily = 0.0
        self.tail_day = -1  # day of the last value above the fleet's 99th percentile
        self.tail_count = 0  # how many such values that day

    def slot_stats(self, slot: int) -> tuple[float, float, float]:
        """(mean, variance, total weight) of a slot's hourly counts (stored units)."""
        w0 = self.w0[slot]
        if w0 <= 0.0:
            return 0.0, 0.0, 0.0
        mean = self.w1[slot] / w0
        var = self.w2[slot] / w0 - mean * mean
        return mean, (var if var > 0.0 else 0.0), w0

    def refresh_means(self) -> None:
        """Recompute the cached mean hourly count per slot."""
        w0, w1 = self.w0, self.w1
        tot0 = sum(w0)
        overall = sum(w1) / tot0 if tot0 > 0.0 else 0.0
        means = self.means = [w1[s] / w0[s] if w0[s] > 0.0 else overall for s in range(SLOTS)]
        self.max_mean = max(means)
        # Expected calls of an active day (the busier day type): the unit of silences.
        self.daily = max(sum(means[:24]), sum(means[24:]))

    def rescale(self, f: float) -> None:
        """Multiply decayed sums by ``f``."""
        self.w0 = [v * f for v in self.w0]
        self.w1 = [v * f for v in self.w1]
        self.w2 = [v * f for v in self.w2]
        self.history.rescale(f)

    def to_json(self) -> list[object]:
        """Compact list form."""
        tail = [self.tail_day, self.tail_count]
        return [self.w0, self.w1, self.w2, self.cusum, self.history.to_json(), tail]

    @classmethod
    def from_json(cls, data: object) -> HourProfile:
        """Inverse of :meth:`to_json`."""
        if not isinstance(data, list) or len(data) != 6:
            raise ValueError("malformed hour profile")
        out = cls()
        out.w0 = [float(v) for v in data[0]]
        out.w1 = [float(v) for v in data[1]]
        out.w2 = [float(v) for v in data[2]]
        out.cusum = float(data[3])
        out.history.load(data[4])
        out.tail_day, out.tail_count = int(data[5][0]), int(data[5][1])
        if len(out.w0) != SLOTS:
            raise ValueError("malformed hour profile")
        out.refresh_means()
        return out


class RateState:
    """Per-agent rate state: one :class:`RateWindow` per configured width plus the profile."""

    __slots__ = ("hourly", "profile", "windows")

    def __init__(self, windows: tuple[tuple[float, int], ...], max_shape: float) -> None:
        self.windows = [RateWindow(w, m, max_shape) for w, m in windows]
        self.profile = HourProfile()
        #: The window whose tumbling buckets are clock hours (drives the profile), if any.
        self.hourly: RateWindow | None = next((w for w in self.windows if w.width == HOUR_S), None)

    def rescale(self, f: float) -> None:
        """Multiply decayed sums by ``f``."""
        for window in self.windows:
            window.rescale(f)
        self.profile.rescale(f)

    def to_json(self) -> list[object]:
        """``[windows..., profile]``."""
        return [[w.to_json() for w in self.windows], self.profile.to_json()]

    def load(self, data: object) -> None:
        """Restore from :meth:`to_json` output."""
        if not isinstance(data, list) or len(data) != 2 or not isinstance(data[0], list):
            raise ValueError("malformed rate state")
        if len(data[0]) != len(self.windows):
            raise ValueError("rate windows differ from the configuration")
        for window, wdata in zip(self.windows, data[0], strict=True):
            window.load(wdata)
        self.profile = HourProfile.from_json(data[1])


def _sd(mean: float, var: float, clump: float) -> float:
    """Spread of an hourly count: calls come in sessions of ``clump`` calls on average, so the
    count is compound Poisson and its variance is at least ``mean * clump``."""
    floor = mean * clump
    return math.sqrt((var if var > floor else floor) + 1.0)


def session_length(ctx: EventContext) -> float:
    """The agent's mean number of calls per session (at least 1)."""
    agent = ctx.agent
    starts = agent.tod.total
    if starts <= 0.0:
        return 1.0
    length = agent.tools.total / starts
    return length if length > 1.0 else 1.0


class BurstRate(Signal):
    """Sub-signals ``rate.<window>``; also drives the hourly profile and the CUSUM."""

    def __init__(self, config: DetectorConfig) -> None:
        super().__init__(config)
        self.labels = ["rate." + window_label(w) for w, _ in config.rate_windows]
        self.names = tuple(self.labels)

    def score(self, ctx: EventContext) -> float | None:
        """NB upper tail of the trailing count in each window."""
        if ctx.late:
            return None
        ps: list[float] = []
        signals = ctx.signals
        t = ctx.t
        floor = math.floor
        for label, window in zip(self.labels, ctx.agent.rate.windows, strict=True):
            cur = window.cur_sub
            if cur is not None and floor(t / window.sub_w) <= cur:
                k = window.ring_sum + 1.0  # same sub-bucket as the last event (or late)
            else:
                k = window.trailing(t) + 1.0
            if k <= window.cut:
                p = 1.0
            else:
                p = clamp_p(event_count_sf(int(k), window.mean, window.var), window.s0 * ctx.s_a)
            signals[label] = p
            ps.append(p)
        return bonferroni(ps)

    def _advance(self, ctx: EventContext) -> None:
        if ctx.advanced:
            return
        ctx.advanced = True
        agent = ctx.agent
        decay = agent.decay
        state = agent.rate
        t = ctx.t
        floor = math.floor
        for window in state.windows:
            bucket = window.bucket
            if bucket is not None and floor(t / window.width) <= bucket:
                continue  # the open bucket is still current: nothing to close
            closed = window.advance(t, decay)
            if closed is not None and window.width == HOUR_S:
                self._close_hours(ctx, state.profile, closed, decay)

    def _close_hours(
        self,
        ctx: EventContext,
        profile: HourProfile,
        closed: tuple[int, float, int],
        decay: ForwardDecay,
    ) -> None:
        hour, count, zeros = closed
        hours = [(hour, count)]
        start = hour + 1 + max(0, zeros - _MAX_ZERO_HOURS)
        hours.extend((h, 0.0) for h in range(start, hour + 1 + zeros))
        cfg = self.config
        scale = ctx.s_a
        fleet_hist = ctx.fleet.cusum
        w_s = ctx.fleet.decay.weight(ctx.t)
        clump = session_length(ctx)
        tail_start = fleet_hist.upper_edge(0.01)
        for h, c in hours:
            slot = hour_slot(h)
            mean, var, w0 = profile.slot_stats(slot)
            if w0 * scale >= 3.0 and mean >= cfg.cusum_min_rate:
                z = (c - mean) / _sd(mean, var, clump)
                z = min(z, cfg.cusum_clip)
                s = cfg.cusum_leak * profile.cusum + z - cfg.cusum_k
                profile.cusum = s if s > 0.0 else 0.0
                # The top 1 % of the histories must describe many agents, not one agent's long
                # excursion (another agent's ramp must not make this one look ordinary): an
                # agent adds at most TAIL_PER_DAY values above the fleet's 99th percentile per
                # day — a busy morning fits, a day-long ramp does not.
                t_h = h * HOUR_S
                add = True
                if profile.cusum >= tail_start:
                    day = h // 24
                    if day != profile.tail_day:
                        profile.tail_day = day
                        profile.tail_count = 0
                    add = profile.tail_count < TAIL_PER_DAY
                    profile.tail_count += 1
                if add:
                    profile.history.add(profile.cusum, decay.weight(t_h))
                    fleet_hist.add(profile.cusum, w_s)
            else:  # a quiet slot: no evidence either way, the memory still fades
                profile.cusum *= cfg.cusum_quiet_leak
            w = decay.weight(h * HOUR_S)
            profile.w0[slot] += w
            profile.w1[slot] += c * w
            profile.w2[slot] += c * c * w
        profile.refresh_means()

    def learn(self, ctx: EventContext, w_a: float, w_s: float) -> None:
        """Count the event in the open buckets of the model."""
        self._advance(ctx)
        t = ctx.t
        floor = math.floor
        for window in ctx.agent.rate.windows:
            if window.bucket == floor(t / window.width):
                window.bucket_count += 1.0

    def observe(self, ctx: EventContext) -> None:
        """Advance the buckets (closing hours) and count the event in the trailing rings."""
        self._advance(ctx)
        t = ctx.t
        floor = math.floor
        for window in ctx.agent.rate.windows:
            cur = window.cur_sub
            if cur is not None and floor(t / window.sub_w) == cur:
                # Same sub-bucket as the last event (the common case of add_to_ring).
                window.ring[cur % window.m] += 1.0
                window.ring_sum += 1.0
            else:
                window.add_to_ring(t)

    def explain(self, ctx: EventContext, name: str, p: float) -> Reason:
        """Trailing count vs the NB mean and spread."""
        idx = self.labels.index(name)
        window = ctx.agent.rate.windows[idx]
        mean, var, _ = window.model(ctx.s_a, self.config.nb_max_shape)
        k = window.trailing(ctx.t) + 1.0
        label = window_label(window.width)
        return Reason(
            signal=name,
            detail=f"{k:.0f} calls in the last {label}; usual {mean:.2g} ± {math.sqrt(var):.2g}",
            expected=f"{mean:.2g} ± {math.sqrt(var):.2g} per {label}",
            observed=f"{k:.0f} per {label}",
            p_value=p,
        )


class SlowRamp(Signal):
    """Sub-signal ``rate.ramp`` (state is maintained by :class:`BurstRate`)."""

    names = ("rate.ramp",)

    def current(self, ctx: EventContext) -> tuple[float, float, float]:
        """(CUSUM including the partial hour, slot mean, count so far this hour)."""
        profile = ctx.agent.rate.profile
        s = profile.cusum
        hourly = ctx.agent.rate.hourly
        if hourly is None or hourly.bucket is None:
            return s, 0.0, 0.0
        hour = math.floor(ctx.t / HOUR_S)
        if hour != hourly.bucket:
            return s, 0.0, 1.0
        count = hourly.bucket_count + 1.0
        mean, var, w0 = profile.slot_stats(hour_slot(hour))
        if w0 * ctx.s_a >= 3.0 and mean >= self.config.cusum_min_rate and count > mean:
            z = min((count - mean) / _sd(mean, var, session_length(ctx)), self.config.cusum_clip)
            partial = self.config.cusum_leak * s + z - self.config.cusum_k
            if partial > s:
                s = partial
        return s, mean, count

    def score(self, ctx: EventContext) -> float | None:
        """Conformal rank of the current CUSUM among the agent's and peers' past values."""
        if ctx.late:
            return None
        s = self.current(ctx)[0]
        if s <= 0.0:
            return None
        profile = ctx.agent.rate.profile
        fleet = ctx.fleet.cusum
        n = profile.history.total * ctx.s_a + fleet.total * ctx.s_s
        mass = profile.history.tail(s) * ctx.s_a + fleet.tail(s) * ctx.s_s
        p = clamp_p((mass + 1.0) / (n + 1.0), n)
        ctx.signals["rate.ramp"] = p
        return p

    def explain(self, ctx: EventContext, name: str, p: float) -> Reason:
        """Cumulative excess of hourly volume over the usual profile."""
        s, mean, count = self.current(ctx)
        return Reason(
            signal=name,
            detail=(
                f"hourly volume has been drifting above its usual level (CUSUM {s:.1f}); "
                f"{count:.0f} calls so far this hour"
            ),
            expected=f"≈ {mean:.1f} calls in this hour of the week",
            observed=f"cumulative excess {s:.1f} sd",
            p_value=p,
        )
