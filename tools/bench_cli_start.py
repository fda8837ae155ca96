"""How long ``spice --help``, ``spice --version`` and ``spice view --help`` take to start and end.

CPU seconds (user + system of the child) and wall time, mean of ``--runs`` runs.  With
``--before SRC`` (a ``src`` directory holding another spice_cli, e.g. from ``git archive
HEAD~N packages/spice-cli/src | tar -x -C /tmp/old``) that version runs too, alternated
with this one, for a same-run comparison.  Asserts nothing about speed.

    python tools/bench_cli_start.py [--runs 20] [--before /tmp/old/packages/spice-cli/src]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import byte_compile

SPICE = str(Path(sys.executable).with_name("spice"))
COMMANDS = (["--help"], ["--version"], ["view", "--help"])


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--before", metavar="SRC", help="the src directory of the spice_cli to compare with")
    opts = parser.parse_args()
    byte_compile(opts.before)
    versions = {"now": dict(os.environ)}
    if opts.before:
        versions = {"before": {**os.environ, "PYTHONPATH": opts.before}, **versions}
    for words in COMMANDS:
        totals = {name: [0.0, 0.0] for name in versions}
        for _ in range(opts.runs):
            for name, env in versions.items():
                cpu0, wall0 = _child_cpu(), time.perf_counter()
                subprocess.run([SPICE, *words], env=env, stdout=subprocess.DEVNULL, check=True)
                totals[name][0] += _child_cpu() - cpu0
                totals[name][1] += time.perf_counter() - wall0
        for name, (cpu, wall) in totals.items():
            print(
                f"spice {' '.join(words):<12} {name:>6}: {cpu / opts.runs * 1000:5.0f} ms CPU"
                f" {wall / opts.runs * 1000:6.0f} ms wall"
            )


if __name__ == "__main__":
    main()
