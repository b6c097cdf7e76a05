"""The per-event context every sub-signal reads, and the sub-signal contract.

A sub-signal is a small class with three steps, called in this order by the detector:

1. ``score(ctx)``: compute p-values from the current state without touching it, write each
   sub-signal's p into ``ctx.signals`` and return the group's p-value (the smallest of its
   sub-signals, Bonferroni-corrected) or ``None`` when the signal does not apply to the event.
2. ``observe(ctx)``: advance *context* that must follow reality even for quarantined events
   (trailing windows, the recent-error window, session hashes, fleet sightings).
3. ``learn(ctx)``: update the *models* of normal behaviour; skipped for quarantined events.

``explain(ctx, name, p)`` turns a sub-signal's p-value into a human reason (expected vs observed);
it is only called for the few top signals of an event and may recompute what it needs, since
state has not been modified yet at that point.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

from agentsentinel.behavior.events import BehaviorEvent, Reason

if TYPE_CHECKING:
    from agentsentinel.behavior.config import DetectorConfig
    from agentsentinel.behavior.state import AgentState, FleetState, PeerState, SessionState

START = "\x00start"  # pseudo-tool preceding the first call of a session
TAINT = "\x00taint"  # pseudo-tool: "this session has read sensitive data"


class EventContext:
    """Everything known about one event while it is scored and learned."""

    __slots__ = (
        "acknowledged_hash",
        "advanced",
        "agent",
        "caps",
        "drift",
        "event",
        "exfil",
        "fleet",
        "grants",
        "late",
        "magnitudes",
        "new_session",
        "p_tool",
        "peer",
        "prev_caps",
        "prev_tool",
        "q_tool",
        "repeats",
        "s_a",
        "s_s",
        "session",
        "session_key",
        "signals",
        "slot",
        "t",
        "tainted",
        "tool",
    )

    def __init__(
        self,
        event: BehaviorEvent,
        t: float,
        agent: AgentState,
        peer: PeerState,
        fleet: FleetState,
    ) -> None:
        self.event = event
        self.tool = event.tool_name
        self.t = t
        self.agent = agent
        self.peer = peer
        self.fleet = fleet
        self.grants: frozenset[str] | None = None
        self.caps: frozenset[str] | None = None
        self.s_a = 1.0
        self.s_s = 1.0
        self.session: SessionState | None = None
        self.session_key = ""
        self.new_session = True
        self.prev_tool = START
        self.prev_caps: frozenset[str] | None = None
        self.tainted = False
        self.exfil = False  # an external write with a target after a sensitive read
        self.slot = 0
        self.late = False
        self.signals: dict[str, float] = {}
        self.q_tool = 1.0
        self.p_tool = 1.0
        self.acknowledged_hash: str | None = None
        self.drift: tuple[int, str | None, str, int, int] | None = None
        self.magnitudes: (
            tuple[list[tuple[str, str, float]], list[tuple[str, str, float]]] | None
        ) = None
        self.repeats: tuple[int, int, str | None, str | None] | None = None
        self.advanced = False  # rate buckets already advanced to this event


class Signal(ABC):
    """One family of sub-signals (see the module docstring for the call order)."""

    #: Sub-signal names this family may write into ``ctx.signals``.
    names: tuple[str, ...] = ()

    def __init__(self, config: DetectorConfig) -> None:
        self.config = config

    @abstractmethod
    def score(self, ctx: EventContext) -> float | None:
        """Write sub-signal p-values into ``ctx.signals``; return the group p-value or None."""

    def observe(self, ctx: EventContext) -> None:
        """Advance context that must track every event, quarantined or not."""
        return None

    def learn(self, ctx: EventContext, w_a: float, w_s: float) -> None:
        """Update the models with forward weights ``w_a`` (agent) and ``w_s`` (shared)."""
        return None

    @abstractmethod
    def explain(self, ctx: EventContext, name: str, p: float) -> Reason:
        """Human-readable reason for sub-signal ``name`` with p-value ``p``."""


def bonferroni(ps: list[float]) -> float:
    """Smallest p-value times their number, capped at 1."""
    n = len(ps)
    if n == 1:
        return ps[0]
    p = min(ps) * n
    return p if p < 1.0 else 1.0


def fmt_count(x: float) -> str:
    """A decayed count, rounded for humans (``1,240``)."""
    return f"{x:,.0f}" if x >= 10 else f"{x:.1f}"


def fmt_pct(x: float) -> str:
    """A proportion as a percentage with sensible precision."""
    pct = 100.0 * x
    if pct >= 10:
        return f"{pct:.0f}%"
    if pct >= 1:
        return f"{pct:.1f}%"
    return f"{pct:.2g}%"
