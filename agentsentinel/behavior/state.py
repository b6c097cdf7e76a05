"""Detector state: per agent, per peer group and fleet-wide, and its versioned serialisation.

Per-agent state (:class:`AgentState`) is what the worker checkpoints per agent; peer groups and the
fleet (:class:`FleetState`: fleet tool counts, tool users, definition sightings, calibration and
every :class:`PeerState`) form the shared blob. Both are bounded: categories, successors,
targets, sessions, metrics and alarms are capped (see :class:`DetectorConfig`).

Blob format: ``MAGIC (4 bytes) | version (uint16, big endian) | zlib(JSON)``. JSON keeps Python
floats exactly (shortest repr round-trips), so a restored detector gives bit-identical scores;
dict insertion order is kept, which keeps every floating-point sum in the same order. Loading a
blob of another version raises :class:`StateVersionError` (a future version adds a migration
here rather than guessing).
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from typing import Any

from agentsentinel.behavior.behavior_score import AlarmLedger
from agentsentinel.behavior.categorical import DecayedCounts
from agentsentinel.behavior.combine import Calibrator
from agentsentinel.behavior.config import DetectorConfig
from agentsentinel.behavior.decay import ForwardDecay
from agentsentinel.behavior.events import SilenceAlert
from agentsentinel.behavior.histogram import LogHistogram
from agentsentinel.behavior.signals.destination import NoveltyCounts, RepeatCounts
from agentsentinel.behavior.signals.drift import Sighting
from agentsentinel.behavior.signals.errors import ErrorCounts
from agentsentinel.behavior.signals.rate import RateState, cusum_history
from agentsentinel.behavior.signals.time_of_day import SlotCounts

AGENT_MAGIC = b"ASBA"
SHARED_MAGIC = b"ASBS"
STATE_VERSION = 2  # 2: silence gaps in days of missed activity (was: expected calls)
_HEADER = struct.Struct(">4sH")


class StateVersionError(ValueError):
    """A state blob has another format or version than this detector understands."""


class SessionState:
    """Context of one open session (not a model: it follows every event)."""

    __slots__ = ("inputs", "last_t", "last_tool", "n", "outputs", "start", "tainted")

    def __init__(self, start: float) -> None:
        self.start = start
        self.last_t = start
        self.last_tool = ""
        self.tainted = False
        self.n = 0
        self.inputs: dict[str, int] = {}
        self.outputs: dict[str, int] = {}

    def to_json(self) -> list[object]:
        """Compact list form."""
        return [
            self.start,
            self.last_t,
            self.last_tool,
            self.tainted,
            self.n,
            self.inputs,
            self.outputs,
        ]

    @classmethod
    def from_json(cls, data: object) -> SessionState:
        """Inverse of :meth:`to_json`."""
        if not isinstance(data, list) or len(data) != 7:
            raise ValueError("malformed session")
        out = cls(float(data[0]))
        out.last_t = float(data[1])
        out.last_tool = str(data[2])
        out.tainted = bool(data[3])
        out.n = int(data[4])
        out.inputs = {str(k): int(v) for k, v in dict(data[5]).items()}
        out.outputs = {str(k): int(v) for k, v in dict(data[6]).items()}
        return out


class _Models:
    """The models an agent and a peer group both keep (pooled over members for a peer group)."""

    __slots__ = ("errors", "hists", "novelty", "repeats", "successors", "tod", "tools")

    def __init__(self) -> None:
        self.tools = DecayedCounts()
        self.successors: dict[str, DecayedCounts] = {}
        self.novelty: dict[str, NoveltyCounts] = {}
        self.repeats = RepeatCounts()
        self.hists: dict[str, dict[str, LogHistogram]] = {}
        self.tod = SlotCounts()
        self.errors = ErrorCounts()

    def rescale(self, f: float) -> None:
        """Multiply every decayed count by ``f`` (forward-decay renormalisation)."""
        self.tools.rescale(f)
        for counts in self.successors.values():
            counts.rescale(f)
        for novelty in self.novelty.values():
            novelty.new *= f
            novelty.total *= f
        self.repeats.rescale(f)
        for per_tool in self.hists.values():
            for hist in per_tool.values():
                hist.rescale(f)
        self.tod.rescale(f)
        self.errors.rescale(f)

    def _models_json(self) -> dict[str, Any]:
        return {
            "tools": self.tools.to_json(),
            "succ": {k: v.to_json() for k, v in self.successors.items()},
            "nov": {k: v.to_json() for k, v in self.novelty.items()},
            "rep": self.repeats.to_json(),
            "hist": {k: {f: h.to_json() for f, h in v.items()} for k, v in self.hists.items()},
            "tod": self.tod.to_json(),
            "err": self.errors.to_json(),
        }

    def _load_models(self, data: dict[str, Any]) -> None:
        self.tools = DecayedCounts.from_json(data["tools"])
        self.successors = {str(k): DecayedCounts.from_json(v) for k, v in data["succ"].items()}
        self.novelty = {str(k): NoveltyCounts.from_json(v) for k, v in data["nov"].items()}
        self.repeats = RepeatCounts.from_json(data["rep"])
        self.hists = {
            str(k): {str(f): LogHistogram.from_json(h) for f, h in v.items()}
            for k, v in data["hist"].items()
        }
        self.tod = SlotCounts.from_json(data["tod"])
        self.errors = ErrorCounts.from_json(data["err"])


class AgentState(_Models):
    """Everything the detector has learned about one agent."""

    __slots__ = (
        "agent_id",
        "calibration_quiet_until",
        "clock",
        "decay",
        "definitions",
        "events_seen",
        "first_seen",
        "gaps",
        "gaps_core",
        "last_session",
        "ledger",
        "probation",
        "rate",
        "sessions",
        "silence",
        "targets",
    )

    def __init__(self, agent_id: str, config: DetectorConfig) -> None:
        super().__init__()
        self.agent_id = agent_id
        self.decay = ForwardDecay(config.half_life_s)
        self.clock: float | None = None
        self.first_seen: float | None = None
        self.events_seen = 0
        self.targets: dict[str, None] = {}
        self.rate = RateState(config.rate_windows, config.nb_max_shape)
        self.definitions: dict[str, str] = {}
        self.sessions: dict[str, SessionState] = {}
        self.last_session = ""
        self.ledger = AlarmLedger()
        self.gaps = LogHistogram()  # day-scale gaps (see signals.silence)
        self.gaps_core = LogHistogram()  # gaps that started mid-activity
        self.silence: SilenceAlert | None = None  # derived by check_silence, not persisted
        self.calibration_quiet_until = -math.inf
        # tool -> [first quarantined at, sessions with quarantined calls, last such session]
        self.probation: dict[str, list[Any]] = {}

    def rescale(self, f: float) -> None:
        """Multiply every decayed count by ``f`` (forward-decay renormalisation)."""
        super().rescale(f)
        self.rate.rescale(f)
        self.gaps.rescale(f)
        self.gaps_core.rescale(f)

    def to_json(self) -> dict[str, Any]:
        """JSON-compatible form (see module docstring)."""
        return {
            "id": self.agent_id,
            "lm": self.decay.landmark,
            "clock": self.clock,
            "first": self.first_seen,
            "seen": self.events_seen,
            **self._models_json(),
            "tgt": list(self.targets),
            "rate": self.rate.to_json(),
            "defs": self.definitions,
            "sess": {k: v.to_json() for k, v in self.sessions.items()},
            "last_sess": self.last_session,
            "alarms": self.ledger.to_json(),
            "gaps": self.gaps.to_json(),
            "gaps_core": self.gaps_core.to_json(),
            "probation": self.probation,
            "cal_quiet": (
                None if math.isinf(self.calibration_quiet_until) else self.calibration_quiet_until
            ),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], config: DetectorConfig) -> AgentState:
        """Inverse of :meth:`to_json`."""
        out = cls(str(data["id"]), config)
        out.decay.landmark = _opt_float(data["lm"])
        out.clock = _opt_float(data["clock"])
        out.first_seen = _opt_float(data["first"])
        out.events_seen = int(data["seen"])
        out._load_models(data)
        out.targets = dict.fromkeys(str(t) for t in data["tgt"])
        out.rate.load(data["rate"])
        out.definitions = {str(k): str(v) for k, v in data["defs"].items()}
        out.sessions = {str(k): SessionState.from_json(v) for k, v in data["sess"].items()}
        out.last_session = str(data["last_sess"])
        out.ledger = AlarmLedger.from_json(data["alarms"])
        out.gaps = LogHistogram.from_json(data["gaps"])
        out.gaps_core = LogHistogram.from_json(data["gaps_core"])
        out.probation = {
            str(k): [float(v[0]), int(v[1]), str(v[2])] for k, v in data["probation"].items()
        }
        quiet = _opt_float(data["cal_quiet"])
        out.calibration_quiet_until = -math.inf if quiet is None else quiet
        return out


class PeerState(_Models):
    """Pooled models of one peer group (its members' learned events)."""

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

    def to_json(self) -> dict[str, Any]:
        """JSON-compatible form."""
        return self._models_json()

    @classmethod
    def from_json(cls, key: str, data: dict[str, Any]) -> PeerState:
        """Inverse of :meth:`to_json`."""
        out = cls(key)
        out._load_models(data)
        return out


class FleetState:
    """Fleet-wide priors, peer groups, definition sightings and the calibration sketch."""

    __slots__ = (
        "calibrator",
        "clock",
        "cusum",
        "decay",
        "definitions",
        "gaps",
        "gaps_core",
        "peers",
        "tool_users",
        "tools",
    )

    def __init__(self, config: DetectorConfig) -> None:
        self.decay = ForwardDecay(config.half_life_s)
        self.clock: float | None = None
        self.tools = DecayedCounts()
        self.tool_users: dict[str, list[str]] = {}
        self.definitions: dict[str, dict[str, Sighting]] = {}
        self.peers: dict[str, PeerState] = {}
        self.gaps = LogHistogram()
        self.gaps_core = LogHistogram()
        self.cusum = cusum_history()
        self.calibrator = Calibrator(
            config.calibration_half_life_days * 86_400.0,
            config.calibration_rebuild_every,
            config.calibration_prior_events,
        )

    def peer(self, key: str) -> PeerState:
        """The peer group ``key`` (created on first use)."""
        state = self.peers.get(key)
        if state is None:
            state = self.peers[key] = PeerState(key)
        return state

    def rescale(self, f: float) -> None:
        """Multiply every decayed count (not the calibration sketch) by ``f``."""
        self.tools.rescale(f)
        self.cusum.rescale(f)
        self.gaps.rescale(f)
        self.gaps_core.rescale(f)
        for peer in self.peers.values():
            peer.rescale(f)

    def to_json(self) -> dict[str, Any]:
        """JSON-compatible form."""
        return {
            "cusum": self.cusum.to_json(),
            "gaps": self.gaps.to_json(),
            "gaps_core": self.gaps_core.to_json(),
            "lm": self.decay.landmark,
            "clock": self.clock,
            "tools": self.tools.to_json(),
            "users": self.tool_users,
            "defs": {
                tool: {h: s.to_json() for h, s in reg.items()}
                for tool, reg in self.definitions.items()
            },
            "peers": {k: v.to_json() for k, v in self.peers.items()},
            "cal": self.calibrator.to_json(),
        }

    def load(self, data: dict[str, Any]) -> None:
        """Replace this state with :meth:`to_json` output."""
        self.decay.landmark = _opt_float(data["lm"])
        self.clock = _opt_float(data["clock"])
        self.tools = DecayedCounts.from_json(data["tools"])
        self.tool_users = {str(k): [str(a) for a in v] for k, v in data["users"].items()}
        self.definitions = {
            str(tool): {str(h): Sighting.from_json(s) for h, s in reg.items()}
            for tool, reg in data["defs"].items()
        }
        self.peers = {str(k): PeerState.from_json(str(k), v) for k, v in data["peers"].items()}
        self.cusum = cusum_history()
        self.cusum.load(data["cusum"])
        self.gaps = LogHistogram.from_json(data["gaps"])
        self.gaps_core = LogHistogram.from_json(data["gaps_core"])
        self.calibrator.load(data["cal"])


def _opt_float(value: object) -> float | None:
    if value is None:
        return None
    if not isinstance(value, (int, float)):
        raise ValueError("expected a number")
    return float(value)


def encode(magic: bytes, payload: dict[str, Any]) -> bytes:
    """Header + zlib-compressed compact JSON."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return _HEADER.pack(magic, STATE_VERSION) + zlib.compress(body.encode(), 6)


def decode(magic: bytes, blob: bytes) -> dict[str, Any]:
    """Check the header and return the JSON payload."""
    if len(blob) < _HEADER.size:
        raise StateVersionError("state blob too short")
    found, version = _HEADER.unpack_from(blob)
    if found != magic:
        raise StateVersionError(f"not a detector state blob of this kind ({found!r})")
    if version != STATE_VERSION:
        raise StateVersionError(f"state version {version} is not supported ({STATE_VERSION})")
    try:
        payload = json.loads(zlib.decompress(blob[_HEADER.size :]))
    except (zlib.error, ValueError) as exc:
        raise StateVersionError(f"corrupt state blob: {exc}") from exc
    if not isinstance(payload, dict):
        raise StateVersionError("corrupt state blob")
    return payload
