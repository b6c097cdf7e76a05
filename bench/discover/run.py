"""Time ``sentinel discover --subnet 127.0.0.0/24`` with the default ports (target: <= 3 s).

    cd /work/main && .venv/bin/python -m bench.discover.run

Runs the real command (``sentinel discover --subnet 127.0.0.0/24 --no-processes --no-local
--format json``) as a subprocess three times, so the figure is what a user waits for, start-up
included; reports min and median wall time with the sweep's own counters, and (``--write``, the
default) replaces the "## Discover" section of ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from agentsentinel_cli.discover import DEFAULT_PORTS

from bench.readme import replace_section

REPO = Path(__file__).resolve().parents[2]
SENTINEL = Path(sys.executable).parent / "sentinel"
RUNS = 3
SUBNET = "127.0.0.0/24"
TARGET_S = 3.0
SECTION = "## Discover"
COMMAND = "cd /work/main && .venv/bin/python -m bench.discover.run"


def _run_once() -> tuple[float, dict[str, object]]:
    argv = [
        str(SENTINEL),
        "discover",
        "--subnet",
        SUBNET,
        "--no-processes",
        "--no-local",
        "--format",
        "json",
        "--fail-on",
        "none",
    ]
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, check=False, cwd=REPO)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"sentinel discover exited {done.returncode}: {done.stderr.decode()}")
    return elapsed, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    times: list[float] = []
    report: dict[str, object] = {}
    for _ in range(RUNS):
        elapsed, report = _run_once()
        times.append(elapsed)
    stats = report.get("stats", {})
    subnet = stats.get("subnet", {}) if isinstance(stats, dict) else {}
    best, median = min(times), statistics.median(times)
    rev = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO
    ).stdout.strip()
    verdict = "holds" if median <= TARGET_S else "does not hold"
    section = (
        f"{SECTION}\n\n"
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · git {rev} · {os.cpu_count()} CPU "
        f"cores, Python {platform.python_version()}.\n\n"
        f"Reproduce: `{COMMAND}`\n\n"
        f"`sentinel discover --subnet {SUBNET} --no-processes --no-local --format json`, run as a "
        f"subprocess (start-up included), {RUNS} runs; {len(DEFAULT_PORTS)} default ports "
        f"({', '.join(map(str, DEFAULT_PORTS))}), so {subnet.get('targets', '?')} TCP connects, "
        f"then protocol probes on the {subnet.get('open', '?')} open ports found.\n\n"
        "| Test | min s | median s | Target |\n|---|---:|---:|---|\n"
        f"| `--subnet {SUBNET}` | {best:.2f} | {median:.2f} | ≤ {TARGET_S:.0f} s: {verdict} |\n"
    )
    print(section)
    if args.write:
        replace_section(SECTION, section)


if __name__ == "__main__":
    main()
