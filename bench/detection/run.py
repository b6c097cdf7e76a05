"""Detection-quality benchmark: our detector vs the reference rules on a synthetic fleet.

Run: ``.venv/bin/python -m bench.detection.run --seeds 5`` (writes ``bench/results/detection.md``).

Protocol (honest by construction):

1. **Dev seeds** (``--dev-seeds``, default 101 102) are generated and scored; the operating
   thresholds are fixed on them: the score at which 1 % (and 5 %) of benign evaluation-week
   sessions are flagged, for each detector, and the silence p-value at which 1 % (5 %) of benign
   agent-days get a silence alert.
2. **Test seeds** (1..N, disjoint from the dev seeds) are scored with those thresholds; every figure
   in the report is the mean ± sd over test seeds. Nothing is tuned on test seeds.

Each seed streams three weeks of history and one evaluation week, in event-time order, through
``Detector.process`` and through the reference rules; ``Detector.check_silence`` runs every
10 minutes of the evaluation week. Only evaluation-week events are scored.

Definitions: a session's score is the maximum of its events' scores; an attack *instance* is
detected when any of its events reaches the threshold (silence: when an alert for the agent fires
within 72 h, so that a stop before a weekend can be seen when work resumes); FPR is over benign
sessions (mature agents' usual work, held-out tasks, brand-new agents, the deployment), leaving out
the sessions an agent starts while an attack on it is under way or in the 6 h after it (its state is
then legitimately anomalous: they count on neither side); event ROC-AUC compares attack events with
events of benign sessions.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from agentsentinel.behavior import Detector, DetectorConfig
from bench.detection.fleet import (
    ATTACKS,
    BENIGN,
    DEPLOYMENT,
    HELDOUT,
    NEW_AGENT,
    START,
    Scenario,
    generate,
)
from bench.detection.metrics import mean_sd, rate, roc_auc, threshold_at_fpr
from bench.detection.reference import ReferenceRules

SILENCE_CHECK_S = 600.0
AFTERMATH_S = 6 * 3600.0
SILENCE_HORIZON_S = 3 * 86_400.0  # a Friday-evening stop is only visible on Monday
BENIGN_KINDS = (BENIGN, HELDOUT, NEW_AGENT, DEPLOYMENT)
EXCLUDED = "excluded"
EVENT_ATTACKS = tuple(a for a in ATTACKS if a != "silence")


@dataclass
class SeedResult:
    """Everything measured on one seed (plain arrays, cheap to pickle)."""

    seed: int
    # Per evaluation-week session: label and max score per detector.
    session_kind: list[str] = field(default_factory=list)
    session_ours: list[float] = field(default_factory=list)
    session_ref: list[float] = field(default_factory=list)
    # Per event (evaluation week): attack flag / benign-session flag and scores.
    event_attack: list[bool] = field(default_factory=list)
    event_kind: list[str] = field(default_factory=list)
    event_benign: list[bool] = field(default_factory=list)
    event_ours: list[float] = field(default_factory=list)
    event_ref: list[float] = field(default_factory=list)
    # Per attack instance: kind, and (time, score) of its events per detector.
    inst_kind: dict[int, str] = field(default_factory=dict)
    inst_start: dict[int, float] = field(default_factory=dict)
    inst_ours: dict[int, list[tuple[float, float]]] = field(default_factory=dict)
    inst_ref: dict[int, list[tuple[float, float]]] = field(default_factory=dict)
    # Silence: per benign agent-day min p; per silence instance (time, p) of alerts.
    silence_benign: list[float] = field(default_factory=list)
    silence_inst: dict[int, list[tuple[float, float]]] = field(default_factory=dict)
    # Behavior scores (ours, reference) by category.
    behavior: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    n_events: int = 0
    seconds_ours: float = 0.0


def evaluate_seed(seed: int, attacks_per_type: int) -> SeedResult:
    """Generate a seed's fleet and score it with both detectors."""
    scenario = generate(seed, attacks_per_type)
    detector = Detector(DetectorConfig(silence_max_p=1.0))
    for profile in scenario.profiles:
        detector.upsert_profile(profile)
    reference = ReferenceRules()
    out = SeedResult(seed=seed, n_events=len(scenario.events))
    eval_start, end = scenario.eval_start, scenario.end
    sessions: dict[str, list[int]] = defaultdict(list)
    ours: list[float] = []
    refs: list[float] = []
    times: list[float] = []
    kept: list[int] = []
    checks = _behavior_checkpoints(scenario)
    silence_alerts: list[tuple[str, float, float]] = []
    next_check = eval_start
    spent = 0.0
    for idx, item in enumerate(scenario.events):
        while next_check <= item.t and next_check < end:
            for alert in detector.check_silence(START + _td(next_check)):
                silence_alerts.append((alert.agent_id, next_check, alert.p_value))
            next_check += SILENCE_CHECK_S
        while checks and checks[0][0] <= item.t:
            _, agent_id, category = checks.pop(0)
            ours_b = detector.behavior_score(agent_id, START + _td(item.t)).score
            out.behavior.setdefault(category, []).append(
                (ours_b, reference.behavior_score(agent_id))
            )
        t0 = time.perf_counter()
        result = detector.process(item.event)
        spent += time.perf_counter() - t0
        ref_score = reference.score(item.event.agent_id, item.event.tool_name, item.t)
        if item.t >= eval_start:
            kept.append(idx)
            ours.append(result.anomaly_score)
            refs.append(ref_score)
            times.append(item.t)
            sessions[item.session].append(len(kept) - 1)
    while next_check < end:
        for alert in detector.check_silence(START + _td(next_check)):
            silence_alerts.append((alert.agent_id, next_check, alert.p_value))
        next_check += SILENCE_CHECK_S
    for _, agent_id, category in checks:
        out.behavior.setdefault(category, []).append(
            (
                detector.behavior_score(agent_id, START + _td(end)).score,
                reference.behavior_score(agent_id),
            )
        )
    out.seconds_ours = spent
    events = [scenario.events[i] for i in kept]
    kinds = {i.ident: i.kind for i in scenario.instances}
    # Sessions. A benign session of an agent that starts while an attack on that agent is under
    # way (or within AFTERMATH_S after it) is excluded from both sides: the agent's state is then
    # legitimately anomalous (its volume during and just after a slow ramp, its recent errors
    # after a storm), so neither a flag nor its absence says anything about false alarms.
    windows: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for inst in scenario.instances:
        windows[inst.agent_id].append((inst.start, max(inst.end, inst.start) + AFTERMATH_S))
    for members in sessions.values():
        labels = [events[m] for m in members]
        attack = [e for e in labels if e.attack_event]
        first = labels[0]
        if attack:
            kind = kinds[attack[0].instance]
        elif any(e.instance >= 0 for e in labels):
            kind = kinds[next(e.instance for e in labels if e.instance >= 0)]
        elif any(a <= first.t <= b for a, b in windows.get(first.event.agent_id, ())):
            kind = EXCLUDED
        elif any(e.label == DEPLOYMENT for e in labels):
            kind = DEPLOYMENT
        else:
            kind = first.label
        out.session_kind.append(kind)
        out.session_ours.append(max(ours[m] for m in members))
        out.session_ref.append(max(refs[m] for m in members))
    benign_session = {
        m
        for members, kind in zip(sessions.values(), out.session_kind, strict=True)
        if kind in BENIGN_KINDS
        for m in members
    }
    for j, item in enumerate(events):
        out.event_attack.append(item.attack_event)
        out.event_kind.append(kinds[item.instance] if item.instance >= 0 else item.label)
        out.event_benign.append(j in benign_session)
        out.event_ours.append(ours[j])
        out.event_ref.append(refs[j])
        if item.instance >= 0:
            out.inst_ours.setdefault(item.instance, []).append((times[j], ours[j]))
            out.inst_ref.setdefault(item.instance, []).append((times[j], refs[j]))
    for inst in scenario.instances:
        out.inst_kind[inst.ident] = inst.kind
        out.inst_start[inst.ident] = inst.start
    # Silence: benign agent-days (agent not silenced that day) and silence instances.
    by_agent_day: dict[tuple[str, int], float] = {}
    for agent_id, t, p in silence_alerts:
        key = (agent_id, int(t // 86_400))
        by_agent_day[key] = min(p, by_agent_day.get(key, 1.0))
    for profile in scenario.profiles:
        agent_id = profile.agent_id
        silent_from = scenario.silences.get(agent_id, math.inf)
        for day in range(int(eval_start // 86_400), int(end // 86_400)):
            if (day + 1) * 86_400 <= silent_from and (
                agent_id not in scenario.new_agents or day * 86_400 >= eval_start + 2 * 86_400
            ):
                out.silence_benign.append(by_agent_day.get((agent_id, day), 1.0))
    for inst in scenario.instances:
        if inst.kind == "silence":
            out.silence_inst[inst.ident] = [
                (t, p)
                for a, t, p in silence_alerts
                if a == inst.agent_id and inst.start <= t <= inst.start + SILENCE_HORIZON_S
            ]
    return out


def _td(seconds: float) -> object:
    from datetime import timedelta

    return timedelta(seconds=seconds)


def _behavior_checkpoints(scenario: Scenario) -> list[tuple[float, str, str]]:
    """When to read behavior scores: before the attacks, 2 h after each, new agents at the end."""
    points: list[tuple[float, str, str]] = []
    attacked = set()
    for inst in scenario.instances:
        attacked.add(inst.agent_id)
        if inst.kind in ("silence", "mimicry"):
            continue
        points.append((inst.start + 2 * 3600.0, inst.agent_id, "attacked agent, 2 h after"))
    for profile in scenario.profiles:
        agent_id = profile.agent_id
        if agent_id in scenario.new_agents:
            points.append((scenario.end - 1.0, agent_id, "brand-new agent, end of week"))
        else:
            points.append((scenario.eval_start - 1.0, agent_id, "mature agent, before any attack"))
    for inst in scenario.instances:
        if inst.kind == "silence":
            points.append((inst.start + 2 * 86_400.0, inst.agent_id, "silent agent, 2 days in"))
    points.sort()
    return points


# ----------------------------------------------------------------------------- aggregation


@dataclass
class Thresholds:
    """Operating points fixed on dev seeds."""

    ours: dict[float, float]
    ref: dict[float, float]
    silence: dict[float, float]  # p-value thresholds


def fix_thresholds(dev: list[SeedResult], fprs: tuple[float, ...]) -> Thresholds:
    """Thresholds at each target session FPR, pooled over dev seeds."""
    ours_neg = [
        s
        for r in dev
        for k, s in zip(r.session_kind, r.session_ours, strict=True)
        if k in BENIGN_KINDS
    ]
    ref_neg = [
        s
        for r in dev
        for k, s in zip(r.session_kind, r.session_ref, strict=True)
        if k in BENIGN_KINDS
    ]
    sil = [-p for r in dev for p in r.silence_benign]  # higher = more anomalous
    return Thresholds(
        ours={f: threshold_at_fpr(ours_neg, f) for f in fprs},
        ref={f: threshold_at_fpr(ref_neg, f) for f in fprs},
        silence={f: -threshold_at_fpr(sil, f) for f in fprs},
    )


def _detected(points: list[tuple[float, float]], thr: float, start: float) -> float | None:
    """Delay (s) to the first point at or above ``thr`` (None if never)."""
    hits = [t for t, s in points if s >= thr]
    return min(hits) - start if hits else None


def seed_metrics(r: SeedResult, th: Thresholds, fprs: tuple[float, ...]) -> dict[str, float]:
    """All per-seed figures, keyed by name."""
    m: dict[str, float] = {}
    kinds = np.array(r.session_kind)
    benign = np.isin(kinds, BENIGN_KINDS)
    attack = ~benign & (kinds != EXCLUDED)
    m["excluded_sessions"] = float(np.sum(kinds == EXCLUDED))
    m["benign_sessions"] = float(np.sum(benign))
    for name, sess, ev, thr, inst in (
        ("ours", r.session_ours, r.event_ours, th.ours, r.inst_ours),
        ("ref", r.session_ref, r.event_ref, th.ref, r.inst_ref),
    ):
        s = np.array(sess)
        e = np.array(ev)
        is_attack = np.array(r.event_attack)
        is_benign = np.array(r.event_benign)
        mimicry = kinds == "mimicry"
        per_kind = {
            kind: roc_auc(s[kinds == kind], s[benign])
            for kind in EVENT_ATTACKS
            if np.any(kinds == kind)
        }
        for kind, auc in per_kind.items():
            m[f"{name}.session_auc.{kind}"] = auc
        m[f"{name}.session_auc"] = float(
            np.mean([a for k, a in per_kind.items() if k != "mimicry"])
        )
        m[f"{name}.session_auc_pooled"] = roc_auc(s[attack & ~mimicry], s[benign])
        ev_mim = np.array(r.event_kind) == "mimicry"
        m[f"{name}.event_auc"] = roc_auc(e[is_attack & ~ev_mim], e[is_benign])
        for f in fprs:
            t = thr[f]
            m[f"{name}.fpr@{f}"] = rate(s[benign], t)
            for kind in (HELDOUT, NEW_AGENT, DEPLOYMENT, BENIGN):
                m[f"{name}.flag_{kind}@{f}"] = rate(s[kinds == kind], t)
            for kind in EVENT_ATTACKS:
                ids = [i for i, k in r.inst_kind.items() if k == kind]
                delays = [_detected(inst.get(i, []), t, r.inst_start[i]) for i in ids]
                found = [d for d in delays if d is not None]
                m[f"{name}.tpr.{kind}@{f}"] = len(found) / len(ids) if ids else float("nan")
                m[f"{name}.ttd.{kind}@{f}"] = statistics.median(found) if found else float("nan")
    for f in fprs:
        t = th.silence[f]
        ids = list(r.silence_inst)
        delays = []
        for i in ids:
            hits = [tt for tt, p in r.silence_inst[i] if p <= t]
            delays.append(min(hits) - r.inst_start[i] if hits else None)
        found = [d for d in delays if d is not None]
        m[f"ours.tpr.silence@{f}"] = len(found) / len(ids) if ids else float("nan")
        m[f"ours.ttd.silence@{f}"] = statistics.median(found) if found else float("nan")
        m[f"ours.silence_fpr@{f}"] = float(np.mean(np.array(r.silence_benign) <= t))
        m[f"ref.tpr.silence@{f}"] = 0.0
        m[f"ref.ttd.silence@{f}"] = float("nan")
    for category, pairs in r.behavior.items():
        m[f"ours.behavior.{category}"] = float(np.mean([o for o, _ in pairs]))
        m[f"ref.behavior.{category}"] = float(np.mean([x for _, x in pairs]))
    m["events"] = r.n_events
    m["ours.events_per_s"] = r.n_events / r.seconds_ours if r.seconds_ours else float("nan")
    return m


def _fmt_ttd(values: list[float]) -> str:
    vals = [v for v in values if not math.isnan(v)]
    if not vals:
        return "-"
    minutes = statistics.median(vals) / 60.0
    if minutes >= 120:
        return f"{minutes / 60:.1f} h"
    return f"{minutes:.1f} min"


def report(
    per_seed: list[dict[str, float]],
    th: Thresholds,
    dev_seeds: list[int],
    test_seeds: list[int],
    fprs: tuple[float, ...],
    elapsed: float,
) -> str:
    """The markdown report."""

    def col(key: str, pct: bool = False, digits: int = 3) -> str:
        return mean_sd([m.get(key, float("nan")) for m in per_seed], digits, pct)

    lo, hi = fprs
    lines = [
        "# Detection quality (synthetic fleet)",
        "",
        f"Test seeds {', '.join(map(str, test_seeds))}; thresholds fixed on dev seeds "
        f"{', '.join(map(str, dev_seeds))} (ours: {th.ours[lo]:.6f} at {lo:.0%} and "
        f"{th.ours[hi]:.6f} at {hi:.0%} benign-session FPR; reference: {th.ref[lo]:g} / "
        f"{th.ref[hi]:g}; silence p ≤ {th.silence[lo]:.2g} / {th.silence[hi]:.2g}). "
        f"Mean ± sd over test seeds. Runtime {elapsed:.0f} s.",
        "",
        "| metric | ours | reference |",
        "|---|---:|---:|",
        f"| session ROC-AUC, mean over attack types (except mimicry) | "
        f"{col('ours.session_auc')} | {col('ref.session_auc')} |",
        f"| session ROC-AUC, all attack sessions pooled (except mimicry) | "
        f"{col('ours.session_auc_pooled')} | {col('ref.session_auc_pooled')} |",
        f"| event ROC-AUC | {col('ours.event_auc')} | {col('ref.event_auc')} |",
    ]
    for f in fprs:
        lines.append(
            f"| benign sessions flagged at the {f:.0%} threshold (test) | "
            f"{col(f'ours.fpr@{f}', True)} | {col(f'ref.fpr@{f}', True)} |"
        )
    lines.append(
        f"| held-out benign tasks flagged (operating point, {lo:.0%}) | "
        f"{col(f'ours.flag_{HELDOUT}@{lo}', True)} | {col(f'ref.flag_{HELDOUT}@{lo}', True)} |"
    )
    lines.append(
        f"| brand-new agents' sessions flagged (operating point) | "
        f"{col(f'ours.flag_{NEW_AGENT}@{lo}', True)} | "
        f"{col(f'ref.flag_{NEW_AGENT}@{lo}', True)} |"
    )
    lines.append(
        f"| deployment (same definition change across the role) flagged | "
        f"{col(f'ours.flag_{DEPLOYMENT}@{lo}', True)} | "
        f"{col(f'ref.flag_{DEPLOYMENT}@{lo}', True)} |"
    )
    lines.append(
        f"| silence: benign agent-days alerted (operating point) | "
        f"{col(f'ours.silence_fpr@{lo}', True)} | n/a |"
    )
    lines += [
        "",
        f"Detection rate per attack type (instance detected when any of its events reaches the "
        f"threshold; time to detect = median delay from the attack's start, operating point "
        f"{lo:.0%}):",
        "",
        f"| attack | ours session AUC | ours TPR @{lo:.0%} FPR | ours TPR @{hi:.0%} | "
        f"ours time to detect | reference TPR @{lo:.0%} | reference TPR @{hi:.0%} | "
        f"reference time to detect |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind in ATTACKS:
        lines.append(
            f"| {kind.replace('_', ' ')} | {col(f'ours.session_auc.{kind}')} | "
            f"{col(f'ours.tpr.{kind}@{lo}', True)} | "
            f"{col(f'ours.tpr.{kind}@{hi}', True)} | "
            f"{_fmt_ttd([m.get(f'ours.ttd.{kind}@{lo}', math.nan) for m in per_seed])} | "
            f"{col(f'ref.tpr.{kind}@{lo}', True)} | {col(f'ref.tpr.{kind}@{hi}', True)} | "
            f"{_fmt_ttd([m.get(f'ref.ttd.{kind}@{lo}', math.nan) for m in per_seed])} |"
        )
    categories = sorted(
        {k.split("behavior.", 1)[1] for m in per_seed for k in m if k.startswith("ours.behavior.")}
    )
    lines += [
        "",
        "Behavior score (0-100, higher = cleaner), mean over agents and seeds:",
        "",
        "| agents | ours | reference |",
        "|---|---:|---:|",
    ]
    for cat in categories:
        lines.append(
            f"| {cat} | {col(f'ours.behavior.{cat}', digits=1)} | "
            f"{col(f'ref.behavior.{cat}', digits=1)} |"
        )
    lines += [
        "",
        f"Events per seed: {col('events', digits=0)}; benign evaluation sessions per seed: "
        f"{col('benign_sessions', digits=0)}; sessions excluded as overlapping an attack on the "
        f"same agent (from both sides): {col('excluded_sessions', digits=0)}; our detector inside "
        f"the harness: {col('ours.events_per_s', digits=0)} events/s.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="number of test seeds (1..N)")
    parser.add_argument("--dev-seeds", type=int, nargs="+", default=[101, 102, 103])
    parser.add_argument("--attacks-per-type", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("bench/results/detection.md"))
    parser.add_argument(
        "--dev-only",
        action="store_true",
        help="development loop: score the dev seeds only, with thresholds fixed on themselves",
    )
    args = parser.parse_args()
    if args.dev_only:
        fprs = (0.01, 0.05)
        t0 = time.perf_counter()
        with ProcessPoolExecutor(max_workers=args.workers) as pool:
            dev = list(
                pool.map(
                    evaluate_seed, args.dev_seeds, [args.attacks_per_type] * len(args.dev_seeds)
                )
            )
        thresholds = fix_thresholds(dev, fprs)
        per_seed = [seed_metrics(r, thresholds, fprs) for r in dev]
        print(
            report(
                per_seed, thresholds, args.dev_seeds, args.dev_seeds, fprs, time.perf_counter() - t0
            )
        )
        return
    test_seeds = list(range(1, args.seeds + 1))
    if set(test_seeds) & set(args.dev_seeds):
        parser.error("dev and test seeds must be disjoint")
    fprs = (0.01, 0.05)
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        dev_futures = [pool.submit(evaluate_seed, s, args.attacks_per_type) for s in args.dev_seeds]
        test_futures = [pool.submit(evaluate_seed, s, args.attacks_per_type) for s in test_seeds]
        dev = [f.result() for f in dev_futures]
        # Thresholds are fixed from the dev seeds alone, before any test result is looked at.
        thresholds = fix_thresholds(dev, fprs)
        test = [f.result() for f in test_futures]
    per_seed = [seed_metrics(r, thresholds, fprs) for r in test]
    text = report(per_seed, thresholds, args.dev_seeds, test_seeds, fprs, time.perf_counter() - t0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
