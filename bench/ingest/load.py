"""The load generator: a small fleet, distinct valid events, and the timed phases.

Kept light because it shares the machine's cores with the servers: request bodies are serialised
before the clock starts, one keep-alive ``httpx.AsyncClient`` per phase, plain asyncio.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np

API = "/api/v1"
JSON = "application/json"

# Tool repertoire of the bench agents: (name, description) as an MCP server would describe them.
TOOLS: tuple[tuple[str, str], ...] = (
    ("read_file", "Read a file from the workspace"),
    ("search_docs", "Full-text search over the knowledge base"),
    ("query_database", "Run a read-only SQL query"),
    ("http_get", "Fetch a URL"),
    ("summarize", "Summarise a text"),
    ("send_email", "Send an email to a recipient"),
    ("write_file", "Write a file in the workspace"),
    ("create_ticket", "Open a ticket in the tracker"),
)


@dataclass(frozen=True)
class BenchAgent:
    id: str
    name: str
    headers: dict[str, str]  # X-API-Key of the key used to post its events
    tools: tuple[str, ...]


@dataclass(frozen=True)
class SingleRequest:
    event_id: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class BatchRequest:
    event_ids: tuple[str, ...]
    body: bytes
    headers: dict[str, str]


@dataclass
class Tracker:
    """Event ids the API accepted (201/202), to check the database against at the end."""

    accepted: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)
            print(f"  note: {text}", file=sys.stderr)


def _hex_id(value: str) -> str:
    return value.replace("-", "").lower()


async def _post(client: httpx.AsyncClient, url: str, **kwargs: Any) -> httpx.Response:
    """POST once more on a fresh connection if the server closed the kept-alive one (it does so
    after an unhandled 500)."""
    try:
        return await client.post(url, **kwargs)
    except (httpx.ReadError, httpx.RemoteProtocolError):
        return await client.post(url, **kwargs)


async def setup_fleet(
    client: httpx.AsyncClient, admin_key: str, n_agents: int, tracker: Tracker, seed: int
) -> list[BenchAgent]:
    """Create agents with grants (admin key) and one agent-scoped key each."""
    rng = random.Random(seed)
    admin = {"X-API-Key": admin_key, "Content-Type": JSON}
    agents: list[BenchAgent] = []
    run = uuid.uuid4().hex[:6]
    for i in range(n_agents):
        name = f"bench-ingest-{run}-{i}"
        response = await _post(
            client,
            f"{API}/agents",
            headers=admin,
            json={
                "name": name,
                "model": "bench-model",
                "owner_team": "bench",
                "description": "synthetic agent of bench/ingest",
                "tags": ["bench"],
            },
        )
        if response.status_code != 201:
            raise RuntimeError(f"POST /agents -> {response.status_code}: {response.text[:500]}")
        agent_id = str(response.json()["id"])
        tools = tuple(name for name, _ in rng.sample(TOOLS, k=5))
        for tool in tools:
            description = dict(TOOLS)[tool]
            grant = await _post(
                client,
                f"{API}/agents/{agent_id}/grants",
                headers=admin,
                json={"tool_name": tool, "description": description},
            )
            if grant.status_code not in (200, 201):
                tracker.note(
                    f"POST /agents/{{id}}/grants -> {grant.status_code} "
                    f"{grant.text[:200]} (events are posted without grants)"
                )
                break
        key = await _post(
            client,
            f"{API}/keys",
            headers=admin,
            json={
                "name": f"{name}-key",
                "scope": "agent",
                "agent_id": agent_id,
            },
        )
        if key.status_code in (200, 201):
            headers = {"X-API-Key": str(key.json()["key"]), "Content-Type": JSON}
        else:
            tracker.note(
                f"POST /keys (agent scope) -> {key.status_code} {key.text[:200]} "
                "(events are posted with the admin key)"
            )
            headers = admin
        agents.append(BenchAgent(agent_id, name, headers, tools))
    return agents


class EventFactory:
    """Distinct valid events: random SHA-256 hashes, a client event_id, sessions of ~20 calls."""

    def __init__(self, agents: list[BenchAgent], seed: int) -> None:
        self.agents = agents
        self.rng = random.Random(seed)
        self._sessions: dict[str, tuple[str, int]] = {}

    def _hash(self) -> str:
        return hashlib.sha256(self.rng.randbytes(32)).hexdigest()

    def event(self, agent: BenchAgent) -> dict[str, Any]:
        rng = self.rng
        session, left = self._sessions.get(agent.id, ("", 0))
        if left <= 0:
            session, left = f"sess-{uuid.uuid4().hex[:16]}", rng.randint(5, 40)
        self._sessions[agent.id] = (session, left - 1)
        tool = rng.choice(agent.tools)
        event: dict[str, Any] = {
            "event_id": str(uuid.uuid4()),
            "agent_id": agent.id,
            "tool_name": tool,
            "input_hash": self._hash(),
            "output_hash": self._hash(),
            "duration_ms": int(rng.lognormvariate(4.0, 1.0)),
            "session_id": session,
            "input_bytes": int(rng.lognormvariate(6.0, 1.2)),
            "output_bytes": int(rng.lognormvariate(7.0, 1.5)),
            "source": "sdk",
        }
        if tool in ("send_email", "http_get", "write_file"):
            event["target_hash"] = self._hash()
        if rng.random() < 0.02:
            event["status"] = "error"
            event["error_type"] = "TimeoutError"
        return event

    def singles(self, n: int) -> list[SingleRequest]:
        out = []
        for _ in range(n):
            agent = self.rng.choice(self.agents)
            event = self.event(agent)
            out.append(
                SingleRequest(_hex_id(event["event_id"]), json.dumps(event).encode(), agent.headers)
            )
        return out

    def batches(self, n_events: int, size: int) -> list[BatchRequest]:
        """Per-agent batches (as the shim / LangChain handler send them), agents round-robin."""
        out = []
        for i in range(0, n_events, size):
            agent = self.agents[(i // size) % len(self.agents)]
            events = [self.event(agent) for _ in range(min(size, n_events - i))]
            out.append(
                BatchRequest(
                    tuple(_hex_id(e["event_id"]) for e in events),
                    json.dumps({"events": events}).encode(),
                    agent.headers,
                )
            )
        return out


# Phases -------------------------------------------------------------------------------------


def _client(base_url: str, concurrency: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60.0)


@dataclass
class LatencyStats:
    n: int
    wall_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of(cls, latencies_s: list[float], wall_s: float) -> LatencyStats:
        if not latencies_s:
            return cls(0, wall_s, float("nan"), float("nan"), float("nan"), float("nan"))
        arr = np.asarray(latencies_s) * 1000.0
        p50, p95, p99 = np.percentile(arr, [50, 95, 99])
        return cls(len(arr), wall_s, float(p50), float(p95), float(p99), float(arr.max()))


@dataclass
class SingleResult:
    concurrency: int
    requests: int
    warmup: int
    latency: LatencyStats
    statuses: dict[str, int]
    scored: int
    cpu: dict[str, float]
    # Open loop: the offered rate (events/s over all clients); None for a closed loop, where
    # each client sends its next request as soon as the previous one is answered.
    offered_rate: float | None = None

    @property
    def events_per_s(self) -> float:
        ok = sum(self.statuses.get(s, 0) for s in ("accepted", "pending", "duplicate"))
        return ok / self.latency.wall_s if self.latency.wall_s > 0 else 0.0

    def fraction(self, status: str) -> float:
        total = sum(self.statuses.values())
        return self.statuses.get(status, 0) / total if total else 0.0


@dataclass
class _Tally:
    """What the single-event phases record per answered request."""

    tracker: Tracker
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    scored: int = 0

    async def send(self, client: httpx.AsyncClient, req: SingleRequest, since: float) -> None:
        """POST one event; its latency counts from ``since``."""
        try:
            response = await client.post(f"{API}/events", content=req.body, headers=req.headers)
        except httpx.HTTPError as exc:
            self.statuses[f"error {type(exc).__name__}"] += 1
            return
        elapsed = time.perf_counter() - since
        if response.status_code != 201:
            self.statuses[f"http {response.status_code}"] += 1
            self.tracker.note(f"POST /events -> {response.status_code}: {response.text[:200]}")
            return
        body = json.loads(response.content)
        self.statuses[str(body.get("status"))] += 1
        if body.get("anomaly_score") is not None:
            self.scored += 1
        self.latencies.append(elapsed)
        self.tracker.accepted.add(req.event_id)


async def _run_singles(
    clients: list[httpx.AsyncClient],
    requests: list[SingleRequest],
    tracker: Tracker,
) -> tuple[list[float], Counter[str], int, float]:
    """One user per client (its own keep-alive connection), all drawing from one queue."""
    tally = _Tally(tracker)
    pending_iter: Iterator[SingleRequest] = iter(requests)

    async def user(client: httpx.AsyncClient) -> None:
        for req in pending_iter:  # shared iterator: each request is sent once
            await tally.send(client, req, time.perf_counter())

    started = time.perf_counter()
    await asyncio.gather(*(user(client) for client in clients))
    return tally.latencies, tally.statuses, tally.scored, time.perf_counter() - started


CpuProbe = Callable[[], Awaitable[dict[str, float]]]


def cpu_share(before: dict[str, float], after: dict[str, float], wall_s: float) -> dict[str, float]:
    """CPU used per process during a phase, in cores (1.0 = one core busy). ``machine`` is the
    whole machine; ``other`` is what the listed processes do not explain (other tenants)."""
    if wall_s <= 0:
        return {}
    shares = {k: (after[k] - before.get(k, 0.0)) / wall_s for k in after}
    if "machine" in shares:
        listed = sum(v for k, v in shares.items() if k != "machine")
        shares["other"] = max(0.0, shares["machine"] - listed)
    return shares


async def single_phase(
    base_url: str,
    factory: EventFactory,
    concurrency: int,
    n: int,
    warmup: int,
    tracker: Tracker,
    cpu: CpuProbe,
    rate: float | None = None,
) -> SingleResult:
    """``POST /events`` from ``concurrency`` clients: closed loop (each sends when answered), or
    open loop at ``rate`` events/s offered in all."""
    warm = factory.singles(warmup)
    measured = factory.singles(n)

    async def run(
        clients: list[httpx.AsyncClient], requests: list[SingleRequest]
    ) -> tuple[list[float], Counter[str], int, float]:
        if rate is None:
            return await _run_singles(clients, requests, tracker)
        return await _run_open_loop(clients, requests, rate, tracker)

    # One client (one connection) per concurrent user, as separate agents/processes would post:
    # a single httpx pool shared by 32 users costs the load generator about a core by itself on
    # this machine, which it then takes away from the servers it measures.
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(_client(base_url, 1)) for _ in range(concurrency)
        ]
        await run(clients, warm)
        before = await cpu()
        latencies, statuses, scored, wall = await run(clients, measured)
        after = await cpu()
    return SingleResult(
        concurrency,
        n,
        warmup,
        LatencyStats.of(latencies, wall),
        dict(statuses),
        scored,
        cpu_share(before, after, wall),
        offered_rate=rate,
    )


async def _run_open_loop(
    clients: list[httpx.AsyncClient],
    requests: list[SingleRequest],
    rate: float,
    tracker: Tracker,
) -> tuple[list[float], Counter[str], int, float]:
    """Each client sends on its own fixed schedule (``rate`` events/s over all clients, phases
    spread evenly), whatever the answers' latency. A request's latency is counted from its
    scheduled time, so a server that falls behind shows its queueing delay (no coordinated
    omission)."""
    tally = _Tally(tracker)
    n_clients = len(clients)
    period = n_clients / rate  # seconds between two requests of one client
    started = time.perf_counter() + 0.05

    async def user(k: int, client: httpx.AsyncClient) -> None:
        offset = started + k * period / n_clients
        for j, req in enumerate(requests[k::n_clients]):
            due = offset + j * period
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await tally.send(client, req, due)

    await asyncio.gather(*(user(k, client) for k, client in enumerate(clients)))
    return tally.latencies, tally.statuses, tally.scored, time.perf_counter() - started


async def probe_pipeline(
    base_url: str,
    factory: EventFactory,
    tracker: Tracker,
    timeout_s: float,
    alive: Callable[[], None],
) -> float:
    """Post single events until one comes back scored-and-stored (the worker is consuming)."""
    started = time.perf_counter()
    async with _client(base_url, 1) as client:
        while time.perf_counter() - started < timeout_s:
            alive()
            _, statuses, _, _ = await _run_singles([client], factory.singles(1), tracker)
            if statuses.get("accepted") or statuses.get("duplicate"):
                return time.perf_counter() - started
            await asyncio.sleep(0.2)
    raise RuntimeError(f"no event was acknowledged by a worker within {timeout_s:.0f}s")


@dataclass
class BatchResult:
    batch_size: int
    concurrency: int
    events: int
    accepted: int
    rejected: int
    http_errors: dict[str, int]
    request_latency: LatencyStats  # per batch request
    api_wall_s: float  # first request sent -> last response received
    persisted_wall_s: float | None  # first request sent -> last row visible in agent_events
    scored_rows: int
    cpu_api_phase: dict[str, float]
    cpu_total: dict[str, float]

    @property
    def api_events_per_s(self) -> float:
        return self.accepted / self.api_wall_s if self.api_wall_s > 0 else 0.0

    @property
    def persisted_events_per_s(self) -> float | None:
        if not self.persisted_wall_s:
            return None
        return self.accepted / self.persisted_wall_s


async def wait_rows(
    count: Callable[[], Awaitable[int]],
    target: int,
    alive: Callable[[], None],
    stall_s: float = 60.0,
    poll_s: float = 0.05,
) -> tuple[int, bool]:
    """Poll until ``count() >= target``; give up when the count stops moving for ``stall_s``."""
    last, last_change = -1, time.perf_counter()
    while True:
        n = await count()
        if n >= target:
            return n, True
        now = time.perf_counter()
        if n != last:
            last, last_change = n, now
        elif now - last_change > stall_s:
            return n, False
        alive()
        await asyncio.sleep(poll_s)


async def batch_phase(
    base_url: str,
    factory: EventFactory,
    n_events: int,
    size: int,
    concurrency: int,
    tracker: Tracker,
    count: Callable[[], Awaitable[int]],
    scored: Callable[[], Awaitable[int]],
    alive: Callable[[], None],
    cpu: CpuProbe,
) -> BatchResult:
    batches = factory.batches(n_events, size)
    baseline = await count()
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    accepted = rejected = 0
    queue: Iterator[BatchRequest] = iter(batches)

    async with _client(base_url, concurrency) as client:

        async def sender() -> None:
            nonlocal accepted, rejected
            for req in queue:
                started = time.perf_counter()
                try:
                    response = await client.post(
                        f"{API}/events/batch", content=req.body, headers=req.headers
                    )
                except httpx.HTTPError as exc:
                    errors[f"error {type(exc).__name__}"] += 1
                    continue
                latencies.append(time.perf_counter() - started)
                if response.status_code != 202:
                    errors[f"http {response.status_code}"] += 1
                    tracker.note(
                        f"POST /events/batch -> {response.status_code}: {response.text[:200]}"
                    )
                    continue
                body = json.loads(response.content)
                accepted += int(body["accepted"])
                rejected += int(body.get("rejected", 0))
                for item in body["results"]:
                    if item.get("status") == "accepted" and item.get("event_id"):
                        tracker.accepted.add(_hex_id(str(item["event_id"])))
                    elif item.get("status") != "accepted":
                        tracker.note(f"batch item rejected: {str(item.get('error'))[:200]}")

        cpu0 = await cpu()
        t0 = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        api_wall = time.perf_counter() - t0
        cpu1 = await cpu()
    n, done = await wait_rows(count, baseline + accepted, alive)
    persisted_wall = time.perf_counter() - t0 if done else None
    cpu2 = await cpu()
    if not done:
        tracker.note(
            f"batch phase: only {n - baseline} of {accepted} accepted events persisted "
            "(row count stalled for 60 s)"
        )
    return BatchResult(
        size,
        concurrency,
        n_events,
        accepted,
        rejected,
        dict(errors),
        LatencyStats.of(latencies, api_wall),
        api_wall,
        persisted_wall,
        await scored(),
        cpu_share(cpu0, cpu1, api_wall),
        cpu_share(cpu0, cpu2, persisted_wall or (time.perf_counter() - t0)),
    )
