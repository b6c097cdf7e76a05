"""Detector speed and state size: ``Detector.process`` events/s on one core, bytes per agent.

Run: ``.venv/bin/python -m bench.detector.run`` (``--events`` / ``--agents`` / ``--tools`` to vary).

The stream is realistic rather than flattering: agents with 50 granted tools used with a Zipf
mix, sessions of a few calls seconds apart, every optional field filled (input/output hashes,
durations, sizes, targets, an amount on some tools, definition hashes, ~2 % errors), several
weeks of event time. Events are built before the clock starts; the timed part is only
``process``, on the process's CPU time (other tenants of the machine do not slow it down).
State size is the length of ``export_agent_state`` (the checkpoint the worker stores), measured
after the run.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from agentsentinel.behavior import AgentProfile, BehaviorEvent, Detector

CAPS = (
    frozenset(),
    frozenset({"reads_private_data"}),
    frozenset({"writes_external"}),
    frozenset({"writes_internal"}),
    frozenset({"destructive"}),
    frozenset({"financial"}),
)


def _h(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def build_stream(
    n_events: int, n_agents: int, n_tools: int, seed: int
) -> tuple[list[AgentProfile], list[BehaviorEvent]]:
    """Profiles and a time-ordered event stream (see module docstring)."""
    rng = random.Random(seed)
    tools = [f"tool_{i:02d}" for i in range(n_tools)]
    weights = [1.0 / (i + 1) for i in range(n_tools)]
    profiles = [
        AgentProfile(
            agent_id=f"agent-{a}",
            agent_type="llm_agent",
            owner_team=f"team-{a % 3}",
            granted_tools={t: CAPS[i % len(CAPS)] for i, t in enumerate(tools)},
        )
        for a in range(n_agents)
    ]
    start = datetime(2025, 3, 3, tzinfo=UTC)
    clocks = [start + timedelta(seconds=rng.uniform(0, 3600)) for _ in range(n_agents)]
    events: list[BehaviorEvent] = []
    sess = [0] * n_agents
    while len(events) < n_events:
        a = rng.randrange(n_agents)
        sess[a] += 1
        t = clocks[a]
        length = 1 + int(rng.expovariate(1 / 7))
        for _ in range(length):
            tool = rng.choices(tools, weights)[0]
            i = tools.index(tool)
            metrics = {"amount": round(rng.lognormvariate(5, 1), 2)} if i % 6 == 5 else {}
            err = rng.random() < 0.02
            events.append(
                BehaviorEvent(
                    agent_id=f"agent-{a}",
                    tool_name=tool,
                    occurred_at=t,
                    session_id=f"s-{a}-{sess[a]}",
                    input_hash=_h(a, tool, rng.randrange(200)),
                    output_hash=_h("o", a, tool, rng.randrange(200)),
                    duration_ms=int(rng.lognormvariate(6, 1.2)),
                    status="error" if err else "ok",
                    error_type="timeout" if err else None,
                    input_bytes=int(rng.lognormvariate(7, 1)),
                    output_bytes=int(rng.lognormvariate(8, 1.5)),
                    target_hash=_h("t", a, tool, rng.randrange(30)) if i % 3 == 0 else None,
                    tool_definition_hash=_h("def", tool),
                    metrics=metrics,
                )
            )
            t += timedelta(seconds=rng.expovariate(1 / 8))
        clocks[a] = t + timedelta(seconds=rng.expovariate(1 / 1800))
    events = events[:n_events]
    events.sort(key=lambda e: e.occurred_at)
    return profiles, events


def run(n_events: int, n_agents: int, n_tools: int, repeats: int, seed: int) -> dict[str, object]:
    """Time ``process`` over the stream ``repeats`` times; measure checkpoint sizes.

    The rate is computed on the process's CPU time (one core), so other load on the machine does
    not lower it; wall-clock rates are reported beside it.
    """
    profiles, events = build_stream(n_events, n_agents, n_tools, seed)
    rates = []
    wall_rates = []
    detector = Detector()
    for _ in range(repeats):
        detector = Detector()
        for profile in profiles:
            detector.upsert_profile(profile)
        process = detector.process
        gc.collect()
        gc.disable()
        t0 = time.process_time()
        w0 = time.perf_counter()
        for event in events:
            process(event)
        elapsed = time.process_time() - t0
        wall = time.perf_counter() - w0
        gc.enable()
        rates.append(n_events / elapsed)
        wall_rates.append(n_events / wall)
    sizes = [len(detector.export_agent_state(p.agent_id)) for p in profiles]
    span = events[-1].occurred_at - events[0].occurred_at
    return {
        "events": n_events,
        "agents": n_agents,
        "tools_per_agent": n_tools,
        "event_time_span_days": round(span.total_seconds() / 86400, 1),
        "events_per_s_median": round(statistics.median(rates)),
        "events_per_s_all": [round(r) for r in rates],
        "events_per_s_wall_median": round(statistics.median(wall_rates)),
        "us_per_event": round(1e6 / statistics.median(rates), 1),
        "agent_state_bytes_max": max(sizes),
        "agent_state_bytes_mean": round(statistics.mean(sizes)),
        "shared_state_bytes": len(detector.export_shared_state()),
    }


def main() -> None:
    """CLI entry point: prints a JSON result and a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--tools", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print only the JSON result")
    args = parser.parse_args()
    result = run(args.events, args.agents, args.tools, args.repeats, args.seed)
    if args.json:
        print(json.dumps(result))
        return
    print(json.dumps(result, indent=2))
    print()
    print(
        "| events/s (1 core, CPU time, median) | wall-clock events/s | µs/event | "
        "agent state, max / mean | shared state |"
    )
    print("|---:|---:|---:|---:|---:|")
    print(
        f"| {result['events_per_s_median']:,} | {result['events_per_s_wall_median']:,} | "
        f"{result['us_per_event']} | "
        f"{result['agent_state_bytes_max']:,} B / {result['agent_state_bytes_mean']:,} B | "
        f"{result['shared_state_bytes']:,} B |"
    )


if __name__ == "__main__":
    main()
