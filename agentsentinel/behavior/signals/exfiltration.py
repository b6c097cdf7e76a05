"""Exfiltration: a sensitive read followed by an external write to a never-seen destination.

Neither half of the pattern is rare on its own. Agents read private data and write outside the
organisation all day, and tools with a fixed set of recipients still reach a new one now and then
(a new supplier, a new colleague). What is the shape of exfiltration is the *conjunction*: in a
session that has read sensitive data (the previous call, or any earlier call, had
``reads_private_data`` / ``secrets_access``), an external write (``writes_external``) that is both
an unusual transition and aimed at a destination this agent+tool has never reached.

For such an event (an external write carrying a ``target_hash`` in a tainted session) the two
sub-signals are scored as usual — ``transition`` with its risk prior
(:mod:`~agentsentinel.behavior.signals.transition`) and ``destination`` with its Good-Turing
novelty rate (:mod:`~agentsentinel.behavior.signals.destination`) — but they form **one family**,
``exfiltration``, instead of two, with Fisher's combination of the pair:

    p = x * (1 - ln x),    x = p_transition * p_destination,

the exact null distribution of ``-2 ln(p1 p2)`` (chi-square with 4 degrees of freedom) for two
independent p-values. Under normal behaviour the two are independent given the tool: which tool
follows a read is the agent's task structure, whether the recipient is new is the tool's
population of destinations. So:

* risky transition (p = 1e-3) to a new destination of a fixed-recipient tool (p = 0.03):
  ``p ~ 3e-4`` — stronger than either alone, while two separate families would keep only the
  transition (the destination is above the truncation point of the cross-family combination) and
  pay for one more family in the Šidák correction;
* the benign twins stay quiet: a usual transition to a new destination gives
  ``p = 0.03 * (1 - ln 0.03) ~ 0.13`` (a new recipient after a read is ordinary work), and a
  risky transition to a known destination gives ``p_t * (1 - ln p_t)`` (weaker than ``p_t``: the
  destination, which the attack needs, speaks against it).

Each input keeps its own conformal floor (``1/(n+1)`` with its own evidence), so a fresh agent or
fleet is quiet here as everywhere; the combination can go below either floor only because it rests
on two independent bodies of evidence.
"""

from __future__ import annotations

import math

from agentsentinel.behavior.events import Reason
from agentsentinel.behavior.signals.context import EventContext, Signal
from agentsentinel.behavior.stats import chi2_sf_even


def fisher_pair(p1: float, p2: float) -> float:
    """Fisher's combination of two independent p-values: ``x (1 - ln x)`` with ``x = p1 p2``."""
    x = p1 * p2
    if x >= 1.0:
        return 1.0
    return chi2_sf_even(-2.0 * math.log(max(x, 1e-300)), 4)


class Exfiltration(Signal):
    """Sub-signal ``exfiltration`` (runs after ``transition`` and ``destination``)."""

    names = ("exfiltration",)

    def score(self, ctx: EventContext) -> float | None:
        """Fisher's combination of the risky transition and the destination novelty."""
        if not ctx.exfil:
            return None
        signals = ctx.signals
        p = fisher_pair(signals.get("transition", 1.0), signals.get("destination", 1.0))
        signals["exfiltration"] = p
        return p

    def explain(self, ctx: EventContext, name: str, p: float) -> Reason:
        """Both halves of the conjunction with their own p-values."""
        p_t = ctx.signals.get("transition", 1.0)
        p_d = ctx.signals.get("destination", 1.0)
        where = "a never-seen destination" if p_d < 1.0 else "a known destination"
        return Reason(
            signal=name,
            detail=(
                f"external write {ctx.tool} to {where} after a sensitive read in this session "
                f"(transition p = {p_t:.2g}, destination p = {p_d:.2g})"
            ),
            expected="external writes after sensitive reads go to known destinations",
            observed=f"{ctx.tool} to {where}",
            p_value=p,
        )
