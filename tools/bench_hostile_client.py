"""The client against a hostile server: exit code, peak RSS and time of ``spice screenshot`` per scenario.

Runs each scenario of ``tests/hostile/client_scenarios.py`` (an evil server in a thread,
the client in a subprocess; peak RSS is the child's ``ru_maxrss``).  Prints a table;
asserts nothing (``tests/hostile/test_client_budgets.py`` holds the bounds).

    python tools/bench_hostile_client.py [--only SUBSTRING]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from hostile.client import run_spice
from hostile.client_scenarios import SCENARIOS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run the scenarios whose name contains this")
    args = parser.parse_args()
    print(f"{'scenario':<52} {'exit':>4} {'peak RSS':>10} {'time':>7}")
    for name, scenario in SCENARIOS.items():
        if args.only not in name:
            continue
        script, options = scenario()
        with tempfile.TemporaryDirectory() as tmp:
            outcome = run_spice(script, "screenshot", *options, tmp_path=Path(tmp))
        print(
            f"{name:<52} {outcome.returncode:>4} {outcome.peak_rss_mib:>6.0f} MiB {outcome.seconds:>6.1f}s",
            flush=True,
        )


if __name__ == "__main__":
    main()
