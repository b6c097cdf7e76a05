"""Ingest benchmark: events/s and latency of ``POST /events`` and ``POST /events/batch``.

    cd /work/main
    .venv/bin/python -m bench.ingest.run [--mode embedded|production|both] [--quick]

Starts the server itself (see ``servers.py``), creates a few agents with grants, then measures
single events at concurrency 1, 8 and 32 (closed loop: each client sends its next request when the
previous one is answered; warm-up excluded), then once more from 32 clients at a fixed offered rate
(open loop, ``--rate``; an additional row, latency counted from each request's scheduled time),
and batches of 500 at concurrency 4
(accepted at the API, and persisted end to end by polling ``agent_events``), and finally checks
that the rows in ``agent_events`` are exactly the events the API accepted. Prints a markdown table
and (``--write``, the default) replaces the "## Ingest" section of ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.ingest import load
from bench.ingest.servers import (
    REPO,
    RESULTS_DIR,
    Deployment,
    ServerFailure,
    embedded,
    proc_cpu_seconds,
    production,
)
from bench.readme import replace_section

README = REPO / "bench" / "README.md"
SECTION = "## Ingest"
COMMAND = "cd /work/main && .venv/bin/python -m bench.ingest.run --mode both"
TARGET_P99_MS = 25.0  # production, single event, 32 concurrent clients (from the issue)
TARGET_BATCH_EPS = 20_000.0  # batch: accepted, scored and persisted (from the issue)
CONCURRENCY = (1, 8, 32)
BATCH_SIZE = 500
BATCH_CONCURRENCY = 4
N_AGENTS = 8
OPEN_LOOP_CLIENTS = 32


@dataclass
class Plan:
    singles: int
    warmup: int
    batch_events: int
    quick: bool
    rate: float = 0.0  # open-loop row: events/s offered (0: not run)


@dataclass
class ModeResult:
    mode: str
    description: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    pipeline_ready_s: float | None = None
    singles: list[load.SingleResult] = field(default_factory=list)
    batch: load.BatchResult | None = None
    rows: int | None = None
    accepted: int | None = None
    missing: int | None = None
    extra: int | None = None
    scored_rows: int | None = None
    settled: bool | None = None
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def integrity_ok(self) -> bool:
        return (
            self.rows is not None
            and self.rows == self.accepted
            and self.missing == 0
            and self.extra == 0
        )


# Environment --------------------------------------------------------------------------------


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def environment() -> dict[str, Any]:
    cpu_model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    mem_gb = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().splitlines()[0].split()[1])
        mem_gb = round(kb / 1024 / 1024, 1)
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = bool(_git("status", "--porcelain"))
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model,
        "mem_gb": mem_gb,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_commit": (commit + (" (dirty tree)" if dirty else ""))
        if commit
        else "none (no commit yet; uncommitted tree)",
        "httpx": httpx.__version__,
    }


def _machine_busy_s() -> float:
    """Busy CPU-seconds of the whole machine (all cores) since boot."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def background_load(seconds: float = 3.0) -> float:
    """Cores the machine is busy with before the bench starts anything (other tenants)."""
    before = _machine_busy_s()
    time.sleep(seconds)
    return (_machine_busy_s() - before) / seconds


class CpuProbe:
    """Cumulative CPU seconds per role: server processes, their Postgres backends and Redis,
    the load generator, and the whole machine. A pid that exits keeps its last value."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.seen: dict[str, dict[int, float]] = {}

    async def __call__(self) -> dict[str, float]:
        sample = {p.name: p.cpu_seconds() for p in self.deployment.processes}
        try:
            services = await self.deployment.rows.service_pids()
        except Exception:
            services = {}
        for name, pids in services.items():
            seen = self.seen.setdefault(name, {})
            for pid in pids:
                seconds = proc_cpu_seconds(pid)
                if seconds is not None:
                    seen[pid] = seconds
            sample[name] = sum(seen.values())
        sample["loadgen"] = time.process_time()
        sample["machine"] = _machine_busy_s()
        return sample


# One mode -----------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def deploy(mode: str, stamp: str, args: argparse.Namespace) -> AsyncIterator[Deployment]:
    if mode == "embedded":
        async with embedded(stamp) as dep:
            yield dep
    else:
        async with production(stamp, args.pg_dsn, args.redis_url, args.workers) as dep:
            yield dep


async def run_mode(mode: str, plan: Plan, stamp: str, args: argparse.Namespace) -> ModeResult:
    result = ModeResult(mode)
    tracker = load.Tracker()
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    if task is not None:  # SIGTERM unwinds like Ctrl-C: servers stopped, database dropped
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        async with deploy(mode, stamp, args) as dep:
            result.description, result.versions = dep.description, dep.versions
            await _measure(dep, plan, result, tracker)
    except ServerFailure as exc:
        result.error = str(exc)
        print(f"\n[{mode}] SERVER FAILURE: {exc}", file=sys.stderr)
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        print(f"\n[{mode}] FAILED: {result.error}", file=sys.stderr)
        traceback.print_exc()
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        result.notes = tracker.notes
    return result


def _log(mode: str, text: str) -> None:
    print(f"[{mode}] {text}", file=sys.stderr, flush=True)


async def _measure(dep: Deployment, plan: Plan, result: ModeResult, tracker: load.Tracker) -> None:
    mode = dep.mode
    cpu = CpuProbe(dep)
    _log(mode, f"server up at {dep.base_url}; creating {N_AGENTS} agents")
    async with httpx.AsyncClient(base_url=dep.base_url, timeout=30.0) as client:
        agents = await load.setup_fleet(client, dep.admin_key, N_AGENTS, tracker, seed=7)
    factory = load.EventFactory(agents, seed=11)
    result.pipeline_ready_s = await load.probe_pipeline(
        dep.base_url, factory, tracker, 60.0, dep.ensure_alive
    )
    _log(mode, f"pipeline acknowledged an event after {result.pipeline_ready_s:.2f}s")

    for concurrency in CONCURRENCY:
        _log(
            mode,
            f"POST /events concurrency {concurrency}: {plan.warmup} warm-up + "
            f"{plan.singles} measured",
        )
        single = await load.single_phase(
            dep.base_url, factory, concurrency, plan.singles, plan.warmup, tracker, cpu
        )
        dep.ensure_alive()
        result.singles.append(single)
        lat = single.latency
        _log(
            mode,
            f"  {single.events_per_s:,.0f} ev/s p50 {lat.p50_ms:.1f} p95 "
            f"{lat.p95_ms:.1f} p99 {lat.p99_ms:.1f} ms {single.statuses}",
        )

    if plan.rate > 0:
        per_client = plan.rate / OPEN_LOOP_CLIENTS
        _log(
            mode,
            f"POST /events open loop: {OPEN_LOOP_CLIENTS} clients x {per_client:g} ev/s "
            f"({plan.rate:g} ev/s offered): {plan.warmup} warm-up + {plan.singles} measured",
        )
        open_loop = await load.single_phase(
            dep.base_url,
            factory,
            OPEN_LOOP_CLIENTS,
            plan.singles,
            plan.warmup,
            tracker,
            cpu,
            rate=plan.rate,
        )
        dep.ensure_alive()
        result.singles.append(open_loop)
        lat = open_loop.latency
        _log(
            mode,
            f"  {open_loop.events_per_s:,.0f} ev/s p50 {lat.p50_ms:.1f} p95 "
            f"{lat.p95_ms:.1f} p99 {lat.p99_ms:.1f} ms {open_loop.statuses}",
        )

    # Pending single events land later: start the batch phase from a settled table.
    n, settled = await load.wait_rows(dep.rows.count, len(tracker.accepted), dep.ensure_alive)
    if not settled:
        tracker.note(f"after single events: {n} rows for {len(tracker.accepted)} accepted")

    _log(
        mode,
        f"POST /events/batch: {plan.batch_events:,} events, batches of {BATCH_SIZE}, "
        f"concurrency {BATCH_CONCURRENCY}",
    )
    batch = await load.batch_phase(
        dep.base_url,
        factory,
        plan.batch_events,
        BATCH_SIZE,
        BATCH_CONCURRENCY,
        tracker,
        dep.rows.count,
        dep.rows.scored,
        dep.ensure_alive,
        cpu,
    )
    result.batch = batch
    persisted = batch.persisted_events_per_s
    _log(
        mode,
        f"  accepted {batch.api_events_per_s:,.0f} ev/s at the API, persisted "
        f"{f'{persisted:,.0f} ev/s' if persisted else 'INCOMPLETE'}",
    )

    n, settled = await load.wait_rows(
        dep.rows.count, len(tracker.accepted), dep.ensure_alive, stall_s=30.0
    )
    ids = await dep.rows.ids()
    result.rows, result.settled = len(ids), settled
    result.accepted = len(tracker.accepted)
    result.missing = len(tracker.accepted - ids)
    result.extra = len(ids - tracker.accepted)
    result.scored_rows = await dep.rows.scored()
    _log(
        mode,
        f"integrity: {result.rows} rows / {result.accepted} accepted, missing "
        f"{result.missing}, extra {result.extra}, scored {result.scored_rows}",
    )


# Report -------------------------------------------------------------------------------------


def _num(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:,.{digits}f}"


def _cpu(shares: dict[str, float]) -> str:
    parts = [f"{k} {v:.2f}" for k, v in shares.items() if k != "machine"]
    if "machine" in shares:
        parts.append(f"(machine {shares['machine']:.2f})")
    return " · ".join(parts)


def _status_mix(single: load.SingleResult) -> str:
    text = f"{single.fraction('accepted'):.1%} / {single.fraction('pending'):.1%}"
    others = {k: v for k, v in single.statuses.items() if k not in ("accepted", "pending")}
    if others:
        text += " (" + ", ".join(f"{k}: {v}" for k, v in sorted(others.items())) + ")"
    return text


def _closed_loop(result: ModeResult, concurrency: int) -> load.SingleResult | None:
    return next(
        (s for s in result.singles if s.concurrency == concurrency and s.offered_rate is None),
        None,
    )


def _p99_verdict(result: ModeResult) -> str:
    single = _closed_loop(result, 32)
    if result.mode != "production" or single is None:
        return ""
    ok = single.latency.p99_ms <= TARGET_P99_MS
    return f"p99 ≤ {TARGET_P99_MS:.0f} ms: {'✅ holds' if ok else '❌ missed'}"


def _batch_verdict(result: ModeResult) -> str:
    batch = result.batch
    if batch is None:
        return ""
    rate = batch.persisted_events_per_s
    if rate is None:
        return f"≥ {TARGET_BATCH_EPS:,.0f} ev/s: ❌ not all events persisted"
    if rate < TARGET_BATCH_EPS:
        return f"≥ {TARGET_BATCH_EPS:,.0f} ev/s: ❌ missed"
    if batch.scored_rows < batch.accepted:
        return f"≥ {TARGET_BATCH_EPS:,.0f} ev/s: ⚠️ rate met but events not scored"
    return f"≥ {TARGET_BATCH_EPS:,.0f} ev/s: ✅ holds"


def table(results: list[ModeResult]) -> str:
    head = (
        "| Mode | Test | Volume | Throughput | p50 ms | p95 ms | p99 ms | accepted / pending "
        "| CPU cores used (by process) | Target |"
    )
    lines = [head, "|" + "---|" * 10]
    for r in results:
        if r.error and not r.singles and r.batch is None:
            lines.append(f"| {r.mode} | **failed** | | | | | | | | see notes |")
            continue
        for s in r.singles:
            lat = s.latency
            if s.offered_rate is not None:
                lines.append(
                    f"| {r.mode} | `POST /events`, **open loop**: {s.concurrency} clients x "
                    f"{s.offered_rate / s.concurrency:g} ev/s ({s.offered_rate:g} ev/s offered; "
                    "latency from the scheduled send time) "
                    f"| {s.requests:,} req | {_num(s.events_per_s, 0)} ev/s | {_num(lat.p50_ms)} "
                    f"| {_num(lat.p95_ms)} | {_num(lat.p99_ms)} | {_status_mix(s)} | {_cpu(s.cpu)} "
                    "| (not the target's closed-loop test) |"
                )
                continue
            target = _p99_verdict(r) if s.concurrency == 32 else ""
            lines.append(
                f"| {r.mode} | `POST /events`, {s.concurrency} client{'s' * (s.concurrency > 1)} "
                f"| {s.requests:,} req | {_num(s.events_per_s, 0)} ev/s | {_num(lat.p50_ms)} "
                f"| {_num(lat.p95_ms)} | {_num(lat.p99_ms)} | {_status_mix(s)} | {_cpu(s.cpu)} "
                f"| {target} |"
            )
        b = r.batch
        if b is not None:
            lat = b.request_latency
            lines.append(
                f"| {r.mode} | `POST /events/batch` x{b.batch_size}, {b.concurrency} clients: "
                f"accepted at the API | {b.accepted:,} ev | {_num(b.api_events_per_s, 0)} ev/s "
                f"| {_num(lat.p50_ms)} | {_num(lat.p95_ms)} | {_num(lat.p99_ms)} | 202 "
                f"(rejected {b.rejected}) | {_cpu(b.cpu_api_phase)} | |"
            )
            lines.append(
                f"| {r.mode} | … persisted end to end (first request → last row) "
                f"| {b.accepted:,} ev | {_num(b.persisted_events_per_s, 0)} ev/s | | | | "
                f"| {_cpu(b.cpu_total)} | {_batch_verdict(r) if r.mode == 'production' else ''} |"
            )
        if r.rows is not None:
            verdict = "✅ no loss, no duplicates" if r.integrity_ok else "❌ mismatch"
            lines.append(
                f"| {r.mode} | rows in `agent_events` vs accepted events | {r.rows:,} / "
                f"{r.accepted:,} | missing {r.missing}, extra {r.extra} | | | | "
                f"scored rows: {r.scored_rows:,} | | {verdict} |"
            )
    return "\n".join(lines)


def targets(results: list[ModeResult]) -> list[str]:
    out = []
    prod = next((r for r in results if r.mode == "production"), None)
    if prod is None or (prod.error and not prod.singles):
        return [
            "Production targets not measured in this run (production mode "
            f"{'failed' if prod else 'not run'})."
        ]
    single = _closed_loop(prod, 32)
    if single is not None:
        out.append(
            f"- Production single-event p99 ≤ {TARGET_P99_MS:.0f} ms at 32 concurrent clients: "
            f"measured {_num(single.latency.p99_ms)} ms → "
            f"{'**holds**' if single.latency.p99_ms <= TARGET_P99_MS else '**does not hold**'}."
        )
    b = prod.batch
    if b is not None:
        rate = b.persisted_events_per_s
        scored = b.scored_rows >= b.accepted
        holds = rate is not None and rate >= TARGET_BATCH_EPS and scored
        out.append(
            f"- Production batch ≥ {TARGET_BATCH_EPS:,.0f} events/s accepted, scored and "
            f"persisted: accepted {_num(b.api_events_per_s, 0)} ev/s at the API, persisted "
            f"{_num(rate, 0)} ev/s end to end"
            + (
                ""
                if scored
                else "; events were **not scored** (anomaly_score null: no detector "
                "wired into the worker yet)"
            )
            + f" → {'**holds**' if holds else '**does not hold**'}."
        )
    return out


def render(results: list[ModeResult], env: dict[str, Any], plan: Plan) -> str:
    lines = [
        SECTION,
        "",
        f"Measured {env['date']} · git {env['git_commit']} · "
        f"{'`--quick` run' if plan.quick else 'full run'}.",
        "",
        f"Reproduce: `{COMMAND}{' --quick' if plan.quick else ''}`",
        "",
        f"Machine: {env['cpu_count']} CPU cores ({env['cpu_model']}), {env['mem_gb']} GB RAM, "
        f"Python {env['python']}, {env['platform']}; background load before the run "
        f"{env.get('background_load_cores', '?')} cores. "
        + "; ".join(
            f"{r.mode}: {r.description} " + ", ".join(f"{k} {v}" for k, v in r.versions.items())
            for r in results
            if r.description
        )
        + ".",
        "",
        f"Load: {N_AGENTS} agents with 5 tools each (granted through the API) and one "
        "agent-scoped key each; every "
        "request is a distinct valid event (random SHA-256 hashes, client `event_id`, sessions, "
        f"sizes, target hashes). Single events: {plan.warmup:,} warm-up requests (excluded) then "
        f"{plan.singles:,} measured requests per concurrency level, one keep-alive "
        "`httpx.AsyncClient` (one connection) per concurrent client; closed loop (a client "
        "sends its next request when the previous one is answered, so by Little's law the mean "
        "latency is clients / throughput)"
        + (
            f", plus an **open-loop** row: {OPEN_LOOP_CLIENTS} clients each sending on a fixed "
            f"schedule ({plan.rate:g} ev/s offered in all), latency counted from the scheduled "
            "send time. "
            if plan.rate > 0
            else ". "
        )
        + f"Batches: {plan.batch_events:,} events in per-agent "
        f'batches of {BATCH_SIZE}, {BATCH_CONCURRENCY} concurrent clients; "persisted" polls '
        "`count(*)` of `agent_events` every 50 ms until every accepted event is there. "
        "The load generator runs on the same machine and competes for the same cores as the "
        "server, Postgres and Redis. CPU figures are cores busy during the measured phase "
        "(1.00 = one core): the server processes, `postgres` (backends of the bench database), "
        "`redis` (the whole redis-server), `loadgen` (this script), `other` (the rest of the "
        f"machine: other tenants) and the machine total, out of {env['cpu_count']}.",
        "",
        table(results),
        "",
        "Targets (from the issue; not changed here):",
        "",
        *targets(results),
    ]
    notes = [(r.mode, n) for r in results for n in r.notes]
    errors = [(r.mode, r.error) for r in results if r.error]
    if notes or errors:
        lines += ["", "Observed during the run:", ""]
        lines += [f"- {mode}: {note}" for mode, note in notes]
        lines += [f"- {mode}: run failed: {(err or '').splitlines()[0]}" for mode, err in errors]
    return "\n".join(lines) + "\n"


def write_readme(section: str) -> None:
    replace_section(SECTION, section, README)


# CLI ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ingest.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--mode", choices=("embedded", "production", "both"), default="both")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="300 requests per level and 20,000 batch events (smoke run)",
    )
    parser.add_argument(
        "--write",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="replace the '## Ingest' section of bench/README.md (default: on)",
    )
    parser.add_argument(
        "--pg-dsn",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="maintenance database used to CREATE/DROP the throwaway database",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument(
        "--rate",
        type=float,
        default=320.0,
        help=f"open-loop row: events/s offered by {OPEN_LOOP_CLIENTS} clients on a fixed "
        "schedule (default 320, i.e. 10 ev/s each; 0 skips it)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="`sentinel worker` processes in production mode"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = (
        Plan(singles=300, warmup=60, batch_events=20_000, quick=True, rate=args.rate)
        if args.quick
        else Plan(singles=2_000, warmup=200, batch_events=100_000, quick=False, rate=args.rate)
    )
    modes = ["embedded", "production"] if args.mode == "both" else [args.mode]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    env = environment()
    env["background_load_cores"] = round(background_load(), 2)
    if env["background_load_cores"] > 0.25:
        print(
            f"warning: the machine is already busy ({env['background_load_cores']:.2f} cores) "
            "before the bench starts: figures will be depressed and noisy",
            file=sys.stderr,
        )
    results: list[ModeResult] = []
    try:
        for mode in modes:
            results.append(asyncio.run(run_mode(mode, plan, stamp, args)))
    except (KeyboardInterrupt, asyncio.CancelledError):  # Ctrl-C, or SIGTERM (cancels the run)
        print("\ninterrupted: servers stopped, temporary data removed", file=sys.stderr)
        return 130
    section = render(results, env, plan)
    print()
    print(section)
    raw = RESULTS_DIR / f"ingest-{stamp}.json"
    raw.write_text(
        json.dumps(
            {"environment": env, "plan": asdict(plan), "results": [asdict(r) for r in results]},
            indent=2,
            default=str,
        )
    )
    print(f"raw results: {raw.relative_to(REPO)}", file=sys.stderr)
    if args.write:
        write_readme(section)
        print(f"updated {README.relative_to(REPO)} ({SECTION})", file=sys.stderr)
    return 0 if all(r.error is None and r.integrity_ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
