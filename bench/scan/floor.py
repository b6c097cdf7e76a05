"""The floor of a cold ``sentinel scan``: CPU time of what any AST-based scanner of a tree must do,
next to where ours goes.

Run: ``python -m bench.scan.floor TREE`` (``--repeat``); ``bench.scan.run`` calls ``measure`` and
``phases`` for its README section. Every figure is CPU time (user + system, the process and its
children), min of ``--repeat`` runs, each in a fresh interpreter:

- ``python``: ``python -c pass``, the interpreter's own start-up;
- ``read_hash``: start-up, walk the tree, read and SHA-256 every file;
- ``parse``: start-up, walk, read and ``ast.parse`` every ``.py`` file, in one loop;
- ``ours_startup``: ``sentinel scan EMPTY_DIR --format json --no-cache``;
- ``ours_cold``: ``sentinel scan TREE --format json --no-cache`` (default jobs).

``phases`` splits one ``-j 1 --no-cache`` scan in one process: imports, walk + read +
extraction, assembly (resolution, classifier, posture rules), output filters and the json writer.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Final

OURS: Final = Path(sys.executable).parent / "sentinel"

_WALK = """
import os, sys
paths = []
for cur, dirs, files in os.walk(sys.argv[1]):
    dirs.sort()
    paths += [os.path.join(cur, n) for n in sorted(files)]
"""
_READ_HASH = (
    _WALK
    + """
import hashlib
for p in paths:
    with open(p, "rb") as f:
        hashlib.sha256(f.read()).digest()
"""
)
_PARSE = (
    _WALK
    + """
import ast
for p in paths:
    if p.endswith(".py"):
        with open(p, "rb") as f:
            ast.parse(f.read(), p)
"""
)
_PHASES = """
import json, sys, time
clock = time.process_time
marks = {}
start = clock()
from pathlib import Path
import agentsentinel_cli.main, agentsentinel_cli.commands.scan
from agentsentinel_cli.commands.filters import apply_filters
from agentsentinel_cli.config import load_config
from agentsentinel_cli.report.json_writer import render_json
import agentsentinel_cli.scan.resolve as resolve
from agentsentinel_cli.scan import scan
marks["imports"] = clock() - start
assemble = resolve.assemble
def timed(*args, **kwargs):
    began = clock()
    marks["walk, read, extract"] = began - start - marks["imports"]
    out = assemble(*args, **kwargs)
    marks["assemble"] = clock() - began
    return out
resolve.assemble = timed
tree = Path(sys.argv[1])
began = clock()
report = scan([tree], cache_dir=None, jobs=1)
rest = clock() - began - marks["assemble"] - marks["walk, read, extract"]
marks["walk, read, extract"] += rest  # stats and sorting
began = clock()
report, _ = apply_filters(report, load_config(None, start=tree), root=tree)
marks["filters"] = clock() - began
began = clock()
render_json(report)
marks["json writer"] = clock() - began
print(json.dumps(marks))
"""


def _cpu(cmd: list[str]) -> float:
    before = os.times()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    after = os.times()
    return (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )


def measure(tree: Path, repeat: int = 5) -> dict[str, float]:
    """Min CPU seconds of each floor step and of ours (see the module docstring)."""
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="scan-floor-") as empty:
        cmds = {
            "python": [python, "-c", "pass"],
            "read_hash": [python, "-c", _READ_HASH, str(tree)],
            "parse": [python, "-c", _PARSE, str(tree)],
            "ours_startup": [str(OURS), "scan", empty, "--format", "json", "--no-cache"],
            "ours_cold": [
                *[str(OURS), "scan", str(tree), "--format", "json", "--no-cache"],
                *["--fail-on", "none"],
            ],
        }
        return {name: min(_cpu(cmd) for _ in range(repeat)) for name, cmd in cmds.items()}


def phases(tree: Path, repeat: int = 3) -> dict[str, float]:
    """Min CPU seconds of each phase of a one-process scan (see the module docstring)."""
    runs = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", _PHASES, str(tree)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        for _ in range(repeat)
    ]
    return {name: min(run[name] for run in runs) for name in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tree", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for name, seconds in measure(args.tree, args.repeat).items():
        print(f"{name:14s} {seconds:.3f} s CPU")
    for name, seconds in phases(args.tree, args.repeat).items():
        print(f"phase {name:22s} {seconds:.3f} s CPU")


if __name__ == "__main__":
    main()
