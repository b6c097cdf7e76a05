"""Forward exponential decay on event time.

Counts decay with a half-life ``h`` measured on ``occurred_at``, never on the wall clock. Instead
of multiplying every stored count by ``2^(-dt/h)`` at each event (O(state)), an observation at
time ``t`` is stored with the *forward* weight ``2^((t - landmark)/h)`` (Cormode et al., "Forward
decay", ICDE 2009). The decayed value of a sum at time ``T`` is the stored sum times
``2^((landmark - T)/h)``; ratios of stored sums need no correction at all. This makes every update
O(1) and makes the state independent of arrival order: a late event simply carries the smaller
weight of its own time, i.e. it is decayed relative to the latest event time.

When weights grow large (``> 2^RENORMALISE_LOG2``) the owner rescales its stored sums once and moves
the landmark forward, which keeps float64 far from overflow and precision loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

RENORMALISE_LOG2 = 24.0
_MAX_LOG2 = 1000.0  # exponents are clamped: absurd timestamps must not overflow a float


def _exp2(x: float) -> float:
    if x > _MAX_LOG2:
        x = _MAX_LOG2
    elif x < -_MAX_LOG2:
        x = -_MAX_LOG2
    return math.exp2(x)


@dataclass(slots=True)
class ForwardDecay:
    """A landmark and a half-life; see the module docstring."""

    half_life_s: float
    landmark: float | None = None

    def weight(self, t: float) -> float:
        """Stored weight of one observation made at time ``t`` (seconds since the epoch)."""
        landmark = self.landmark
        if landmark is None:
            self.landmark = landmark = t
        x = (t - landmark) / self.half_life_s
        if -_MAX_LOG2 <= x <= _MAX_LOG2:
            return math.exp2(x)
        return _exp2(x)

    def scale(self, now: float) -> float:
        """Multiplier turning stored sums into decayed counts as of ``now``."""
        landmark = self.landmark
        if landmark is None:
            return 1.0
        x = (landmark - now) / self.half_life_s
        if -_MAX_LOG2 <= x <= _MAX_LOG2:
            return math.exp2(x)
        return _exp2(x)

    def needs_renormalising(self, t: float) -> bool:
        """True when weights at ``t`` are large enough to warrant a rescale."""
        return (
            self.landmark is not None and (t - self.landmark) / self.half_life_s > RENORMALISE_LOG2
        )

    def renormalise(self, t: float) -> float:
        """Move the landmark to ``t``; returns the factor every stored sum must be multiplied by."""
        factor = self.scale(t)
        self.landmark = t
        return factor
