"""The anomaly detector: score first, then learn; bounded state; event time only.

See ``AGENTS.md`` in this package for the contracts the worker relies on, and the docstring of
each module under :mod:`agentsentinel.behavior.signals` for the statistics of each sub-signal.
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime
from typing import Any

from agentsentinel.behavior.behavior_score import Alarm, penalty, severity
from agentsentinel.behavior.combine import combine, statistic
from agentsentinel.behavior.config import SENSITIVE_READ_CAPS, DetectorConfig
from agentsentinel.behavior.decay import RENORMALISE_LOG2
from agentsentinel.behavior.events import (
    AgentProfile,
    AlarmSummary,
    BehaviorEvent,
    BehaviorScore,
    Reason,
    ScoreResult,
    SilenceAlert,
)
from agentsentinel.behavior.signals.context import START, TAINT, EventContext, Signal
from agentsentinel.behavior.signals.destination import DestinationNovelty, HashRepeats
from agentsentinel.behavior.signals.drift import DefinitionDrift
from agentsentinel.behavior.signals.errors import ErrorRate
from agentsentinel.behavior.signals.exfiltration import Exfiltration
from agentsentinel.behavior.signals.magnitude import Magnitudes
from agentsentinel.behavior.signals.rate import HOUR_S, BurstRate, SlowRamp, hour_slot, window_label
from agentsentinel.behavior.signals.silence import (
    crossed_quiet,
    expected_between,
    gap_p_value,
    gap_position,
    mid_activity,
)
from agentsentinel.behavior.signals.time_of_day import SLOTS, TimeOfDay
from agentsentinel.behavior.signals.tool_rarity import ToolRarity
from agentsentinel.behavior.signals.transition import TransitionRarity
from agentsentinel.behavior.state import (
    AGENT_MAGIC,
    SHARED_MAGIC,
    AgentState,
    FleetState,
    PeerState,
    SessionState,
    StateVersionError,
    decode,
    encode,
)

_AUTO_SESSION = "\x00auto"
_SILENCE_MIN_GAP_S = 600.0


def peer_group_key(profile: AgentProfile, fields: tuple[str, ...]) -> str:
    """Stable peer-group key of a profile from the configured fields."""
    parts = []
    for name in fields:
        if name == "grants":
            tools = sorted(profile.granted_tools)
            digest = hashlib.blake2b("\n".join(tools).encode(), digest_size=6).hexdigest()
            parts.append(f"grants={digest if tools else 'none'}")
        elif name == "agent_type":
            parts.append(f"type={profile.agent_type}")
        elif name == "owner_team":
            parts.append(f"team={profile.owner_team}")
        else:
            raise ValueError(f"unknown peer-group field {name!r}")
    return "|".join(parts)


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class Detector:
    """Per-agent behavioural anomaly detector (pure domain engine, single writer per agent).

    ``process`` scores an event against what was learned so far and then learns from it, unless
    its score reaches the quarantine threshold. ``score`` is the same without any state change.
    All time arithmetic uses ``event.occurred_at``; replaying the same events in the same order
    gives the same scores.
    """

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = cfg = config or DetectorConfig()
        self._agents: dict[str, AgentState] = {}
        self._profiles: dict[str, AgentProfile] = {}
        self._grants: dict[str, frozenset[str]] = {}
        self._peer_keys: dict[str, str] = {}
        self._catalogue: dict[str, frozenset[str]] = {}
        self._lookup_cache: dict[str, frozenset[str] | None] = {}
        self._fleet = FleetState(cfg)
        self._renormalise_span = RENORMALISE_LOG2 * cfg.half_life_s
        self._default_peer = peer_group_key(AgentProfile(agent_id=""), cfg.peer_group_fields)
        self._magnitudes = Magnitudes(cfg, metrics=False)
        self._arguments = Magnitudes(cfg, metrics=True)
        self._families: tuple[Signal, ...] = (
            ToolRarity(cfg),  # must run first: sets ctx.q_tool / ctx.p_tool for transitions
            TransitionRarity(cfg),  # sets ctx.exfil for risky external writes with a target
            DestinationNovelty(cfg),
            Exfiltration(cfg),  # must follow both: combines their p-values
            HashRepeats(cfg),
            self._magnitudes,
            self._arguments,
            SlowRamp(cfg),
            BurstRate(cfg),
            TimeOfDay(cfg),
            ErrorRate(cfg),
            DefinitionDrift(cfg),
        )
        # Bound methods of the families that override learn / observe (no calls to no-ops).
        self._learners = [f.learn for f in self._families if type(f).learn is not Signal.learn]
        self._observers = [
            f.observe for f in self._families if type(f).observe is not Signal.observe
        ]
        self._scorers = [f.score for f in self._families]
        self._by_name: dict[str, Signal] = {}
        for family in self._families:
            for name in family.names:
                self._by_name[name] = family

    # ----------------------------------------------------------------------------- profiles

    def upsert_profile(self, profile: AgentProfile) -> None:
        """Register or update an agent's type, team, grants and acknowledged definitions."""
        agent_id = profile.agent_id
        self._profiles[agent_id] = profile
        self._grants[agent_id] = frozenset(profile.granted_tools)
        self._peer_keys[agent_id] = peer_group_key(profile, self.config.peer_group_fields)
        catalogue = self._catalogue
        for tool, caps in profile.granted_tools.items():
            known = catalogue.get(tool)
            caps = frozenset(caps)
            if known is None:
                catalogue[tool] = caps
            elif not caps <= known:
                catalogue[tool] = known | caps

    def forget_agent(self, agent_id: str) -> None:
        """Drop an agent's state and profile (agent deleted). Shared priors age out by decay."""
        self._agents.pop(agent_id, None)
        self._profiles.pop(agent_id, None)
        self._grants.pop(agent_id, None)
        self._peer_keys.pop(agent_id, None)

    def _capabilities(self, agent_id: str, tool: str) -> frozenset[str] | None:
        profile = self._profiles.get(agent_id)
        if profile is not None:
            caps = profile.granted_tools.get(tool)
            if caps is not None:
                return caps
        caps = self._catalogue.get(tool)
        if caps is not None:
            return caps
        lookup = self.config.capability_lookup
        if lookup is None:
            return None
        if tool not in self._lookup_cache:
            self._lookup_cache[tool] = frozenset(lookup(tool))
        return self._lookup_cache[tool]

    # ----------------------------------------------------------------------------- events

    def process(self, event: BehaviorEvent) -> ScoreResult:
        """Score the event, then learn from it unless it is quarantined."""
        return self._run(event, True)

    def score(self, event: BehaviorEvent) -> ScoreResult:
        """Score the event without changing any state (what-if)."""
        return self._run(event, learn=False)

    def _run(self, ev: BehaviorEvent, learn: bool) -> ScoreResult:
        cfg = self.config
        agent_id = ev.agent_id
        agent = self._agents.get(agent_id)
        if agent is None:
            agent = AgentState(agent_id, cfg)
            if learn:
                self._agents[agent_id] = agent
        fleet = self._fleet
        peer_key = self._peer_keys.get(agent_id, self._default_peer)
        peer = fleet.peers.get(peer_key)
        if peer is None:
            peer = fleet.peer(peer_key) if learn else PeerState(peer_key)
        t = ev.occurred_at.timestamp()
        if learn:
            self._renormalise(agent, t)
        ctx = EventContext(ev, t, agent, peer, fleet)
        clock = agent.clock
        ctx.s_a = agent.decay.scale(t if clock is None or t > clock else clock)
        fclock = fleet.clock
        ctx.s_s = fleet.decay.scale(t if fclock is None or t > fclock else fclock)
        ctx.late = clock is not None and t < clock - cfg.late_tolerance_s
        grants = self._grants.get(agent_id)
        ctx.grants = grants if grants else None
        tool = ev.tool_name
        ctx.caps = self._capabilities(agent_id, tool)
        if ev.tool_definition_hash is not None:
            profile = self._profiles.get(agent_id)
            if profile is not None:
                ctx.acknowledged_hash = profile.tool_definition_hashes.get(tool)
        self._resolve_session(ctx)
        if ctx.new_session:  # time of day is scored at session starts only
            ctx.slot = hour_slot(math.floor(t / HOUR_S))

        groups: list[float] = []
        for scorer in self._scorers:
            p = scorer(ctx)
            if p is not None:
                groups.append(p)
        raw_p = combine(groups, cfg.truncation_tau)
        anomaly = fleet.calibrator.score(raw_p, t if fclock is None or t > fclock else fclock)
        # A risky tool used without a grant is a policy violation, not only a rare event: it is
        # quarantined and raised as an alarm whatever the calibration says (a small fleet's
        # calibration cannot reach the top of the scale).
        violation = ctx.signals.get("ungranted_tool", 1.0) <= cfg.policy_violation_p
        quarantined = (anomaly >= cfg.quarantine_threshold or violation) and not self._released(
            ctx, learn
        )
        reasons = self._reasons(ctx) if anomaly >= cfg.reason_min_score or violation else ()
        result = ScoreResult(anomaly, raw_p, reasons, quarantined, ctx.signals)
        if learn:
            if not quarantined:
                self._learn(ctx)
            self._observe(ctx)
            self._calibrate(agent, raw_p, t, quarantined)
            if violation:
                self._record_alarm(ctx, max(anomaly, cfg.alarm_saturation), reasons)
            elif anomaly >= cfg.alarm_threshold:
                self._record_alarm(ctx, anomaly, reasons)
        return result

    def _released(self, ctx: EventContext, learn: bool) -> bool:
        """Track quarantined calls per tool; true once the tool has served its probation."""
        cfg = self.config
        probation = ctx.agent.probation
        entry = probation.get(ctx.tool)
        start = ctx.session.start if ctx.session is not None else ctx.t
        session = f"{ctx.session_key}@{start!r}"
        if entry is not None and (
            entry[1] >= cfg.quarantine_release_sessions
            and ctx.t - entry[0] >= cfg.quarantine_release_s
        ):
            return True
        if not learn:
            return False
        if entry is None:
            if len(probation) >= cfg.max_tools_per_agent // 8:
                del probation[next(iter(probation))]
            probation[ctx.tool] = [ctx.t, 1, session]
        elif entry[2] != session:
            entry[1] += 1
            entry[2] = session
        return False

    def _renormalise(self, agent: AgentState, t: float) -> None:
        """Keep forward-decay weights bounded (a rescale every few months of event time)."""
        lm = agent.decay.landmark
        if lm is not None and t - lm > self._renormalise_span:
            agent.rescale(agent.decay.renormalise(t))
        fleet = self._fleet
        lm = fleet.decay.landmark
        if lm is not None and t - lm > self._renormalise_span:
            fleet.rescale(fleet.decay.renormalise(t))
        fleet.calibrator.maybe_renormalise(t)

    def _resolve_session(self, ctx: EventContext) -> None:
        sid = ctx.event.session_id
        key = sid if sid is not None else _AUTO_SESSION
        session = ctx.agent.sessions.get(key)
        gap = self.config.session_gap_s
        if session is not None and sid is None and ctx.t - session.last_t > gap:
            session = None
        ctx.session_key = key
        ctx.session = session
        if session is None:
            ctx.new_session = True
            return
        ctx.new_session = False
        prev = session.last_tool or START
        ctx.prev_tool = prev
        ctx.tainted = session.tainted
        if prev != START:
            ctx.prev_caps = self._capabilities(ctx.agent.agent_id, prev)

    def _learn(self, ctx: EventContext) -> None:
        cfg = self.config
        agent = ctx.agent
        t = ctx.t
        w_a = agent.decay.weight(t)
        w_s = self._fleet.decay.weight(t)
        tool = ctx.tool
        agent.tools.add(tool, w_a, cfg.max_tools_per_agent)
        ctx.peer.tools.add(tool, w_s)
        self._fleet.tools.add(tool, w_s)
        for learner in self._learners:
            learner(ctx, w_a, w_s)
        clock = agent.clock
        profile = agent.rate.profile
        if clock is not None and t > clock and profile.daily > 0.0:
            means = profile.means
            days = expected_between(means, clock, t) / profile.daily
            mid = mid_activity(means, profile.max_mean, clock)
            b = math.floor(gap_position(days))
            (agent.gaps_core if mid else agent.gaps).add(b, w_a)
            fleet = self._fleet
            (fleet.gaps_core if mid else fleet.gaps).add(b, w_s)

    def _calibrate(self, agent: AgentState, raw_p: float, t: float, quarantined: bool) -> None:
        """Add the event to the fleet calibration, at most one tail event per agent per hour.

        The top 1 % of the scale must describe the fleet, not the one agent that is misbehaving:
        a burst, a storm or a day-long ramp would otherwise flood the tail and make the next
        attack look ordinary. Quarantined events below the tail are not added.
        """
        calibrator = self._fleet.calibrator
        if statistic(raw_p) >= calibrator.tail_start:
            if t >= agent.calibration_quiet_until:
                agent.calibration_quiet_until = t + self.config.calibration_tail_spacing_s
                calibrator.add(raw_p, t)
        elif not quarantined:
            calibrator.add(raw_p, t)

    def _observe(self, ctx: EventContext) -> None:
        cfg = self.config
        agent = ctx.agent
        t = ctx.t
        key = ctx.session_key
        sessions = agent.sessions
        session = ctx.session
        if session is None:
            sessions.pop(key, None)
            session = sessions[key] = SessionState(t)
            while len(sessions) > cfg.max_sessions:
                del sessions[next(iter(sessions))]
            ctx.session = session
        elif key != agent.last_session:
            sessions[key] = sessions.pop(key)
        for observer in self._observers:
            observer(ctx)
        session.last_tool = ctx.tool
        if t > session.last_t:
            session.last_t = t
        session.n += 1
        caps = ctx.caps
        if caps is not None and not caps.isdisjoint(SENSITIVE_READ_CAPS):
            session.tainted = True
        agent.last_session = key
        if agent.clock is None or t > agent.clock:
            agent.clock = t
        if agent.first_seen is None or t < agent.first_seen:
            agent.first_seen = t
        agent.events_seen += 1
        agent.silence = None
        fleet = self._fleet
        if fleet.clock is None or t > fleet.clock:
            fleet.clock = t

    def _reasons(self, ctx: EventContext) -> tuple[Reason, ...]:
        cfg = self.config
        limit = cfg.reason_max_p
        items = [(p, name) for name, p in ctx.signals.items() if p <= limit]
        if not items:
            return ()
        items.sort()
        return tuple(
            self._family_of(name).explain(ctx, name, p) for p, name in items[: cfg.max_reasons]
        )

    def _family_of(self, name: str) -> Signal:
        family = self._by_name.get(name)
        if family is None:  # magnitude.<metric>
            return self._arguments
        return family

    def _record_alarm(self, ctx: EventContext, anomaly: float, reasons: tuple[Reason, ...]) -> None:
        cfg = self.config
        ev = ctx.event
        sev = severity(anomaly, cfg.alarm_threshold, cfg.alarm_saturation)
        session = ctx.session
        start = session.start if session is not None else ctx.t
        key = f"{ctx.session_key}@{start!r}"
        alarm = Alarm(
            key=key,
            t=ctx.t,
            score=anomaly,
            severity=sev,
            tool=ctx.tool,
            session_id=ev.session_id,
            event_id=ev.event_id,
            signals=tuple(r.signal for r in reasons),
            detail=reasons[0].detail if reasons else "",
        )
        ctx.agent.ledger.record(alarm, cfg.behavior_half_life_days * 86_400.0, cfg.max_alarms)

    # ----------------------------------------------------------------------------- scores

    def behavior_score(self, agent_id: str, now: datetime) -> BehaviorScore:
        """Behavior score (0-100, 100 = clean) of the agent at ``now``, with its top alarms."""
        cfg = self.config
        agent = self._agents.get(agent_id)
        if agent is None:
            return BehaviorScore(agent_id, 100.0, 0.0, (), 0.0, True, None, None)
        t_now = now.timestamp()
        half_life = cfg.behavior_half_life_days * 86_400.0
        contributions = agent.ledger.contributions(t_now, half_life)
        pen = penalty([c for c, _ in contributions])
        score = 100.0 * math.exp(-cfg.behavior_penalty_rate * pen)
        alarms = tuple(
            AlarmSummary(
                occurred_at=_utc(a.t),
                anomaly_score=a.score,
                contribution=c,
                session_id=a.session_id,
                event_id=a.event_id,
                tool_name=a.tool,
                signals=a.signals,
                detail=a.detail,
            )
            for c, a in contributions[:5]
            if c > 1e-6
        )
        clock = agent.clock
        ref = t_now if clock is None or t_now > clock else clock
        evidence = agent.tools.total * agent.decay.scale(ref)
        return BehaviorScore(
            agent_id=agent_id,
            score=score,
            penalty=pen,
            alarms=alarms,
            evidence_events=evidence,
            insufficient_evidence=evidence < cfg.min_evidence_events,
            last_event_at=_utc(clock) if clock is not None else None,
            silence=agent.silence,
        )

    def check_silence(self, now: datetime) -> list[SilenceAlert]:
        """Agents silent inside their usual active window at ``now`` (run periodically)."""
        cfg = self.config
        t_now = now.timestamp()
        alerts: list[SilenceAlert] = []
        for agent in self._agents.values():
            clock = agent.clock
            first = agent.first_seen
            if (
                clock is None
                or first is None
                or t_now - clock < _SILENCE_MIN_GAP_S
                or clock - first < cfg.silence_min_history_days * 86_400.0
            ):
                agent.silence = None
                continue
            profile = agent.rate.profile
            means = profile.means
            expected = expected_between(means, clock, t_now)
            if expected < cfg.silence_min_expected or profile.daily <= 0.0:
                agent.silence = None
                continue
            p = self._silence_p(agent, clock, t_now, expected / profile.daily)
            if p > cfg.silence_max_p:
                agent.silence = None
                continue
            alert = SilenceAlert(
                agent_id=agent.agent_id,
                last_event_at=_utc(clock),
                silent_seconds=t_now - clock,
                expected_events=expected,
                p_value=p,
                detail=(
                    f"no events for {(t_now - clock) / 3600:.1f} h while ≈ {expected:.0f} were "
                    f"expected from this agent's usual hours"
                ),
            )
            agent.silence = alert
            alerts.append(alert)
        return alerts

    def _silence_p(self, agent: AgentState, clock: float, t_now: float, days: float) -> float:
        """p-value of the open gap (see :mod:`~agentsentinel.behavior.signals.silence`)."""
        cfg = self.config
        profile = agent.rate.profile
        fleet = self._fleet
        own_scale = agent.decay.scale(clock)
        fleet_scale = fleet.decay.scale(fleet.clock) if fleet.clock is not None else 1.0
        day_scale = gap_p_value(
            agent.gaps,
            own_scale,
            fleet.gaps,
            fleet_scale,
            days,
            cfg.tail_mass,
            cfg.silence_fleet_strength,
        )
        if not mid_activity(profile.means, profile.max_mean, clock):
            return day_scale
        p = gap_p_value(
            agent.gaps_core,
            own_scale,
            fleet.gaps_core,
            fleet_scale,
            days,
            cfg.tail_mass,
            cfg.silence_fleet_strength,
        )
        if crossed_quiet(profile.means, profile.max_mean, clock, t_now) and day_scale > p:
            return day_scale
        return p

    # ----------------------------------------------------------------------------- state

    def export_agent_state(self, agent_id: str) -> bytes:
        """Versioned, compressed checkpoint of one agent (KeyError if the agent is unknown)."""
        return encode(AGENT_MAGIC, self._agents[agent_id].to_json())

    def import_agent_state(self, agent_id: str, blob: bytes) -> None:
        """Restore one agent's checkpoint (replaces any state held for it)."""
        payload = decode(AGENT_MAGIC, blob)
        try:
            state = AgentState.from_json(payload, self.config)
        except (KeyError, TypeError, ValueError) as exc:
            raise StateVersionError(f"incompatible agent state: {exc}") from exc
        if state.agent_id != agent_id:
            raise ValueError(f"state belongs to agent {state.agent_id!r}, not {agent_id!r}")
        self._agents[agent_id] = state

    def export_shared_state(self) -> bytes:
        """Versioned checkpoint of peer groups, fleet priors, sightings and calibration."""
        return encode(SHARED_MAGIC, self._fleet.to_json())

    def import_shared_state(self, blob: bytes) -> None:
        """Restore the shared checkpoint (replaces the current shared state)."""
        payload = decode(SHARED_MAGIC, blob)
        fleet = FleetState(self.config)
        try:
            fleet.load(payload)
        except (KeyError, TypeError, ValueError) as exc:
            raise StateVersionError(f"incompatible shared state: {exc}") from exc
        self._fleet = fleet

    # ----------------------------------------------------------------------------- baseline

    def agent_baseline_summary(self, agent_id: str) -> dict[str, Any]:
        """What the detector learned about an agent, as JSON (``GET /agents/{id}/baseline``)."""
        cfg = self.config
        agent = self._agents.get(agent_id)
        peer_key = self._peer_keys.get(agent_id, self._default_peer)
        if agent is None:
            return {
                "agent_id": agent_id,
                "peer_group": peer_key,
                "maturity": {"mature": False, "events_seen": 0},
                "tools": [],
                "transitions": [],
                "rate": None,
                "time_of_day": None,
                "errors": None,
            }
        clock = agent.clock
        scale = agent.decay.scale(clock) if clock is not None else 1.0
        width = cfg.bin_width_octaves
        n_events = agent.tools.total * scale
        tools = []
        for tool, count in agent.tools.top(len(agent.tools)):
            entry: dict[str, Any] = {
                "tool": tool,
                "calls": count * scale,
                "share": count / agent.tools.total if agent.tools.total else 0.0,
            }
            for feature, hist in agent.hists.get(tool, {}).items():
                name = feature[2:] if feature.startswith("m:") else feature
                entry[name] = {
                    "p50": math.exp2(hist.quantile(0.5) * width) - 1.0,
                    "p95": math.exp2(hist.quantile(0.95) * width) - 1.0,
                    "observations": hist.total * scale,
                }
            novelty = agent.novelty.get(tool)
            if novelty is not None and novelty.total > 0:
                entry["new_destination_rate"] = novelty.new / novelty.total
            definition = agent.definitions.get(tool)
            if definition is not None:
                entry["definition_hash"] = definition
            tools.append(entry)
        transitions: list[dict[str, Any]] = []
        for prev, counts in agent.successors.items():
            label = {START: "<session start>", TAINT: "<after sensitive read>"}.get(prev, prev)
            for nxt, c in counts.top(8):
                transitions.append(
                    {"from": label, "to": nxt, "count": c * scale, "share": c / counts.total}
                )
        transitions.sort(key=lambda d: -float(d["count"]))
        profile = agent.rate.profile
        burst = []
        for window in agent.rate.windows:
            mean, var, n = window.model(scale, cfg.nb_max_shape)
            burst.append(
                {
                    "window": window_label(window.width),
                    "mean": mean,
                    "sd": math.sqrt(var),
                    "buckets": n,
                }
            )
        tod_total = agent.tod.total
        tod = [v / tod_total if tod_total else 0.0 for v in agent.tod.bins]
        errors = agent.errors
        return {
            "agent_id": agent_id,
            "peer_group": peer_key,
            "maturity": {
                "events_seen": agent.events_seen,
                "effective_events": n_events,
                "sessions_effective": tod_total * scale,
                "first_seen": _utc(agent.first_seen).isoformat() if agent.first_seen else None,
                "last_event_at": _utc(clock).isoformat() if clock is not None else None,
                "mature": n_events >= cfg.min_evidence_events,
                "half_life_days": cfg.half_life_days,
            },
            "tools": tools,
            "transitions": transitions[:50],
            "rate": {
                "windows": burst,
                "calls_per_hour": {
                    "weekday_utc": profile.means[:24],
                    "weekend_utc": profile.means[24:SLOTS],
                },
                "cusum": profile.cusum,
            },
            "time_of_day": {"weekday_utc": tod[:24], "weekend_utc": tod[24:SLOTS]},
            "errors": {
                "rate": errors.errors / errors.calls if errors.calls else 0.0,
                "types": {k: v * scale for k, v in errors.types.top(10)},
            },
        }
