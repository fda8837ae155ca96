"""A/B: ``spice view`` from this tree against an older tree, both watching one demo server at once.

A viewer's CPU on the demo stream moves 10-15 % between rounds with the machine's state, more
than most single changes.  Two viewers watching the same server at the same time see the
same state, so their ratio is steady: this runs the tree's ``spice view`` (A) beside the
one of ``--base`` (B), a git revision checked out in a temporary worktree whose
spice-proto, spice-net, spice-session and spice-cli go first on B's ``PYTHONPATH`` (the
codecs are this tree's).  Each round starts both (the order alternating), waits
``--warmup`` seconds (past trio's start-up worker thread, which exits ~10.5 s after start),
then measures each process's per-thread run time for ``--seconds``.  Prints A/B per round
and the median; asserts nothing.  Not part of ``nox -s bench``: it needs a revision.

    python tools/ab_viewer.py --base REV [--rounds 8] [--seconds 10] [--warmup 12]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_viewer import SPICE, free_port, listening, run_together, start, stop, wait_for, xvfb_display

ROOT = Path(__file__).resolve().parent.parent
#: The packages a viewer's frame path runs through (the codecs are compiled: taken from this tree).
PYTHON_PACKAGES = ("spice-proto", "spice-net", "spice-session", "spice-cli")


def ab(base: str, rounds: int, seconds: float, warmup: float) -> None:
    if shutil.which("Xvfb") is None:
        print("skipped: missing Xvfb")
        return
    with tempfile.TemporaryDirectory(prefix="ab-viewer-") as tmp:
        tree = Path(tmp) / "base"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), base],
            check=True,
            capture_output=True,
        )
        try:
            _rounds(Path(tmp), tree, base, rounds, seconds, warmup)
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                check=False,
                capture_output=True,
            )


def _rounds(tmp: Path, tree: Path, base: str, rounds: int, seconds: float, warmup: float) -> None:
    base_path = ":".join(str(tree / "packages" / name / "src") for name in PYTHON_PACKAGES)
    print(
        f"\nspice view, this tree (A) against {base} (B), one demo server, {seconds:g} s after {warmup:g} s"
    )
    ratios = []
    marked = False
    with xvfb_display(tmp) as env:
        port = free_port()
        server = start([SPICE, "serve", "--listen", f"127.0.0.1:{port}", "--source", "demo"], tmp, "serve")
        argv = [sys.executable, "-m", "spice_cli", "view", "--no-audio", f"spice://127.0.0.1:{port}"]
        try:
            wait_for("spice serve", lambda: listening(port), server)
            for n in range(rounds):
                order = [("A", env), ("B", {**env, "PYTHONPATH": base_path})]
                if n % 2:
                    order.reverse()
                used = run_together({name: (argv, e) for name, e in order}, tmp, f"round{n}", warmup, seconds)
                ratio = used["A"][0] / used["B"][0]
                ratios.append(ratio)
                marks = {name: "*" if used[name][2] else "" for name in used}
                marked = marked or any(marks.values())
                print(
                    f"  round {n + 1} ({order[0][0]} first): A {used['A'][0]:.3f}{marks['A']} s, "
                    f"B {used['B'][0]:.3f}{marks['B']} s, A/B {ratio:.3f}",
                    flush=True,
                )
        finally:
            stop(server)
    spread = f"{min(ratios):.3f} to {max(ratios):.3f}"
    print(f"  A/B median of {len(ratios)} rounds: {statistics.median(ratios):.3f} ({spread})")
    if marked:
        print("  (* a thread of that viewer exited inside the window: only its part there counts)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the git revision to compare against")
    parser.add_argument("--rounds", type=int, default=8, help="rounds (default 8)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time a round (default 10)")
    parser.add_argument("--warmup", type=float, default=12.0, help="seconds before measuring (default 12)")
    args = parser.parse_args()
    ab(args.base, args.rounds, args.seconds, args.warmup)


if __name__ == "__main__":
    main()
