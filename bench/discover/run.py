"""Time ``sentinel discover --subnet 127.0.0.0/24`` with the default ports (target: <= 3 s).

Run: ``python -m bench.discover.run`` (prints min / median of 3 runs).
"""

from __future__ import annotations

import statistics
import time

from agentsentinel_cli.discover import DEFAULT_PORTS, DiscoverOptions, discover

RUNS = 3
SUBNET = "127.0.0.0/24"


def main() -> None:
    options = DiscoverOptions(processes=False, local_endpoints=False, subnet=SUBNET)
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        report = discover(options)
        times.append(time.perf_counter() - started)
    targets = report.stats["subnet"]["targets"]
    print(
        f"discover --subnet {SUBNET}, {len(DEFAULT_PORTS)} default ports ({targets} targets, "
        f"{report.stats['subnet']['open']} open): min {min(times):.2f} s, "
        f"median {statistics.median(times):.2f} s over {RUNS} runs"
    )


if __name__ == "__main__":
    main()
