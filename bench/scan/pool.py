"""Worker pool of ``sentinel scan``: ``-j 1`` against ``-j 2`` and the default, by tree size.

Run: ``python -m bench.scan.pool`` from the repository root (``--sizes``, ``--repeat``). For each
size it generates a tree (``bench/scan/tree.py``, seed 7) and times ``sentinel scan TREE --format
json --no-cache`` as a subprocess with each job setting, interleaved (one run of each setting per
round, so a change of machine load hits every setting alike). It prints, per size and setting,
the CPU time of the run (user + system of the process and its workers) and its wall time, min
and median. ``PARALLEL_MIN_FILES`` (``agentsentinel_cli.scan.engine``) is the smallest tree
where the pool's wall time beats ``-j 1``'s; its CPU time is always higher (start-up of the
workers, results pickled back). Print only: the figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Final

from bench.scan.tree import generate

OURS: Final = Path(sys.executable).parent / "sentinel"


def _once(tree: Path, jobs: list[str]) -> tuple[float, float]:
    """(CPU seconds of the process and its children, wall seconds) of one scan."""
    before = os.times()
    started = time.perf_counter()
    subprocess.run(
        [
            str(OURS),
            "scan",
            str(tree),
            "--format",
            "json",
            "--fail-on",
            "none",
            "--no-cache",
            *jobs,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - started
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="25,50,100,200,500,2000")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    settings = {"-j 1": ["-j", "1"], "-j 2": ["-j", "2"], "default": []}
    print(f"cores: {os.cpu_count()}; load average: {os.getloadavg()[0]:.2f}")
    print("| files | jobs | CPU min s | CPU median s | wall min s | wall median s |")
    print("|---:|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="scan-pool-") as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            tree = Path(tmp) / f"tree-{size}"
            generate(tree, files=size)
            runs: dict[str, list[tuple[float, float]]] = {name: [] for name in settings}
            for _ in range(args.repeat):
                for name, flags in settings.items():
                    runs[name].append(_once(tree, flags))
            for name, timed in runs.items():
                cpu = [c for c, _ in timed]
                wall = [w for _, w in timed]
                print(
                    f"| {size} | {name} | {min(cpu):.2f} | {statistics.median(cpu):.2f} | "
                    f"{min(wall):.2f} | {statistics.median(wall):.2f} |"
                )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
