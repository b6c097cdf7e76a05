"""Detector configuration: every knob, with its default and the reason for it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

DAY_S = 86_400.0

# Capability names produced by the shared tool classifier (agentsentinel.posture).
SENSITIVE_READ_CAPS = frozenset({"reads_private_data", "secrets_access"})
EXTERNAL_WRITE_CAPS = frozenset({"writes_external"})

#: p-value of the first call of an ungranted tool, by its riskiest capability. The smaller, the
#: louder. Tools whose capabilities are unknown get ``unknown_tool_risk_p``.
DEFAULT_CAPABILITY_RISK_P: Mapping[str, float] = {
    "destructive": 1e-5,
    "code_execution": 1e-5,
    "privilege_admin": 1e-5,
    "secrets_access": 1e-5,
    "financial": 1e-5,
    "writes_external": 3e-5,
    "infrastructure": 3e-5,
    "reads_private_data": 1e-4,
    "writes_internal": 3e-4,
    "reads_untrusted_content": 1e-3,
}


@dataclass(frozen=True)
class DetectorConfig:
    """Knobs of :class:`~agentsentinel.behavior.detector.Detector` (all have working defaults)."""

    # --- learning hygiene -------------------------------------------------------------------
    #: Half-life of every learned count, on event time (7-30 days is sensible).
    half_life_days: float = 14.0
    #: Events whose calibrated score reaches this are not learned from (attacks must not
    #: normalise themselves). Context (sessions, trailing windows) still advances.
    quarantine_threshold: float = 0.999
    #: A tool whose calls were quarantined in this many sessions, the first at least
    #: ``quarantine_release_s`` ago, is learned again: a persistent change (a new task) becomes
    #: the new normal after it has alerted repeatedly, while a one-off burst or attack never
    #: normalises itself.
    quarantine_release_sessions: int = 5
    quarantine_release_s: float = 7200.0
    #: Tolerance before an event counts as late (out of order) for the trailing-rate windows.
    late_tolerance_s: float = 5.0

    # --- peer groups ------------------------------------------------------------------------
    #: Profile fields that define the peer group ("grants" = the set of granted tool names).
    peer_group_fields: tuple[str, ...] = ("agent_type", "owner_team", "grants")

    # --- Dirichlet smoothing (tool rarity, transitions, time of day) ------------------------
    #: Prior weight of the peer group in an agent's model: ``a = strength + fraction * N_agent``,
    #: so the peer prior keeps at least ``fraction`` of the weight as the agent matures.
    agent_prior_strength: float = 5.0
    agent_prior_fraction: float = 0.2
    #: Prior weight of the fleet in a peer group's model.
    peer_prior_strength: float = 20.0
    #: Dirichlet-process concentration for never-seen tools at fleet level.
    fleet_new_tool_concentration: float = 1.0

    # --- ungranted tools --------------------------------------------------------------------
    #: How many observations the grant list is worth (floor of the ungranted p at cold start).
    grant_evidence: float = 10_000.0
    capability_risk_p: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_CAPABILITY_RISK_P)
    )
    unknown_tool_risk_p: float = 1e-3
    #: An ungranted call whose p is at most this (every risky capability above; not harmless or
    #: unknown tools) is a policy violation: always quarantined and recorded as an alarm.
    policy_violation_p: float = 1e-4
    #: Optional classifier for tools that no profile grants (name -> capability names).
    capability_lookup: Callable[[str], frozenset[str]] | None = None

    # --- transitions ------------------------------------------------------------------------
    #: Prior factor for never-seen sensitive-read -> external-write transitions.
    risky_transition_factor: float = 0.05
    max_successors: int = 32

    # --- destinations and repeats -----------------------------------------------------------
    destination_prior_strength: float = 5.0
    destination_peer_strength: float = 5.0
    destination_base_new_rate: float = 0.2
    max_targets: int = 384
    repeat_prior_strength: float = 20.0
    max_session_hashes: int = 24

    # --- magnitudes -------------------------------------------------------------------------
    bin_width_octaves: float = 1.0
    tail_mass: float = 0.1
    spread_floor_octaves: float = 0.5
    magnitude_peer_strength: float = 100.0
    #: Past this many observations of a tool+feature, the agent's own histogram stands alone.
    magnitude_peer_until: float = 2000.0
    max_metrics: int = 8

    # --- rates ------------------------------------------------------------------------------
    #: (window seconds, sub-buckets) of the trailing windows compared to the NB model.
    rate_windows: tuple[tuple[float, int], ...] = ((10.0, 10), (60.0, 6), (3600.0, 12))
    #: Largest NB shape: variance >= mean + mean^2 / max_shape (a floor on relative spread).
    nb_max_shape: float = 25.0
    cusum_k: float = 0.5
    cusum_leak: float = 0.85
    cusum_clip: float = 4.0
    #: Per-hour leak of the CUSUM in quiet slots (nights): no evidence either way, so the memory
    #: fades slower than in active hours and a ramp that runs overnight resumes where it was.
    cusum_quiet_leak: float = 0.95
    #: Hour slots whose expected count is below this are skipped by the CUSUM (nights).
    cusum_min_rate: float = 0.5

    # --- sessions, time of day, errors ------------------------------------------------------
    #: Weight of the uniform base under the peers' time-of-day profile (pseudo-sessions).
    tod_uniform_strength: float = 2.0
    #: Share of the peers' hour-of-day profile applied to both weekdays and weekends.
    tod_daytype_mix: float = 0.1
    session_gap_s: float = 1800.0
    max_sessions: int = 8
    error_window: int = 32
    error_prior_strength: float = 20.0

    # --- tool-definition drift --------------------------------------------------------------
    deployment_min_agents: int = 3
    deployment_window_s: float = 900.0
    #: A change that has not spread to enough agents after this long is a rug pull regardless.
    deployment_confirm_s: float = 6 * 3600.0
    #: p-value of a change seen on this agent alone while the deployment window is still open
    #: (peers may yet follow): weak evidence on its own, so a rug pull is ranked above routine
    #: traffic from its first call without alarming on a deployment's first adopters.
    definition_pending_p: float = 0.01

    # --- silence ----------------------------------------------------------------------------
    #: Report a silence when its p-value is at most this (5e-5 alerted ~1 % of benign agent-days
    #: on the dev seeds of the synthetic fleet of bench/detection).
    silence_max_p: float = 5e-5
    silence_min_expected: float = 3.0
    silence_fleet_strength: float = 100.0
    #: Agents younger than this (event time since their first event) are never reported silent.
    silence_min_history_days: float = 7.0

    # --- combination and calibration --------------------------------------------------------
    truncation_tau: float = 0.01
    calibration_half_life_days: float = 7.0
    calibration_prior_events: float = 500.0
    calibration_rebuild_every: int = 512
    #: Each agent adds at most one event to the calibration tail per this many seconds.
    calibration_tail_spacing_s: float = 3600.0
    #: Reasons are built for events scoring at least this (below, an event is unremarkable).
    reason_min_score: float = 0.95
    reason_max_p: float = 0.05
    max_reasons: int = 3

    # --- behavior score ---------------------------------------------------------------------
    alarm_threshold: float = 0.999
    alarm_saturation: float = 0.99999
    behavior_half_life_days: float = 3.0
    behavior_penalty_rate: float = 0.7
    max_alarms: int = 32
    min_evidence_events: float = 50.0

    # --- bounds -----------------------------------------------------------------------------
    max_tools_per_agent: int = 256

    def __post_init__(self) -> None:
        checks = {
            "half_life_days": self.half_life_days > 0,
            "quarantine_threshold": 0.0 < self.quarantine_threshold <= 1.0,
            "agent_prior_strength": self.agent_prior_strength > 0,
            "peer_prior_strength": self.peer_prior_strength > 0,
            "bin_width_octaves": self.bin_width_octaves > 0,
            "tail_mass": 0.0 < self.tail_mass < 1.0,
            "spread_floor_octaves": self.spread_floor_octaves > 0,
            "rate_windows": all(w > 0 and m >= 1 for w, m in self.rate_windows),
            "cusum_quiet_leak": 0.0 <= self.cusum_quiet_leak <= 1.0,
            "deployment_min_agents": self.deployment_min_agents >= 2,
            "definition_pending_p": 0.0 < self.definition_pending_p <= 1.0,
            "truncation_tau": 0.0 < self.truncation_tau < 1.0,
            "alarm_threshold": 0.0 < self.alarm_threshold < self.alarm_saturation < 1.0,
            "error_window": 1 <= self.error_window <= 62,
            "max_tools_per_agent": self.max_tools_per_agent >= 8,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"invalid detector configuration: {', '.join(bad)}")

    @property
    def half_life_s(self) -> float:
        """Model half-life in seconds."""
        return self.half_life_days * DAY_S
