"""Fuzz the codec decoders with libFuzzer under AddressSanitizer and UBSan.

Each codec package has ``fuzz/fuzz_<codec>.c`` defining ``LLVMFuzzerTestOneInput``;
this script compiles it with the package's C sources using clang
(``-fsanitize=fuzzer,address,undefined``), seeds the corpus with the golden
vectors (``../shared/vectors`` when present, else ``tests/vectors``) and runs it
for ``--seconds``.  Crashes are written to ``fuzz-artifacts/<codec>/``; the
script exits non-zero if any fuzzer found one.

    python tools/fuzz.py --seconds 60 [quic lz glz]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODECS = ["quic", "lz", "glz"]


def seed_dirs(codec: str) -> list[Path]:
    candidates = [ROOT.parent / "shared" / "vectors" / codec, ROOT / "tests" / "vectors" / codec]
    return [d for d in candidates if d.is_dir()]


def build(codec: str, workdir: Path) -> Path:
    pkg = ROOT / "packages" / f"spice-{codec}"
    harness = pkg / "fuzz" / f"fuzz_{codec}.c"
    sources = sorted((pkg / "csrc").glob("*.c"))
    exe = workdir / f"fuzz_{codec}"
    cmd = [
        "clang", "-g", "-O1", "-fno-omit-frame-pointer",
        "-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=undefined",
        "-I", str(pkg / "csrc"), str(harness), *map(str, sources), "-o", str(exe),
    ]  # fmt: skip
    subprocess.run(cmd, check=True)
    return exe


def run(codec: str, seconds: int, workdir: Path) -> tuple[bool, int]:
    exe = build(codec, workdir)
    corpus = workdir / f"corpus_{codec}"
    corpus.mkdir()
    for d in seed_dirs(codec):
        for f in d.glob("*.bin"):
            if f.stat().st_size <= 1 << 20 and not f.name.endswith(".palette.bin"):
                shutil.copy(f, corpus / f.name)
    artifacts = ROOT / "fuzz-artifacts" / codec
    artifacts.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [
            str(exe), str(corpus), f"-max_total_time={seconds}", "-max_len=262144",
            "-rss_limit_mb=4096", "-timeout=10", f"-artifact_prefix={artifacts}/", "-print_final_stats=1",
        ],
        capture_output=True, text=True,
    )  # fmt: skip
    log = proc.stderr
    execs = re.search(r"stat::number_of_executed_units:\s*(\d+)", log)
    count = int(execs.group(1)) if execs else 0
    if proc.returncode != 0:
        sys.stderr.write(log[-8000:])
    return proc.returncode == 0, count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("codecs", nargs="*", default=CODECS)
    args = parser.parse_args()
    if shutil.which("clang") is None:
        print("fuzz: clang is required (apt-get install clang)", file=sys.stderr)
        return 2
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for codec in args.codecs:
            if not (ROOT / "packages" / f"spice-{codec}" / "fuzz" / f"fuzz_{codec}.c").exists():
                print(f"fuzz: no harness for {codec}", file=sys.stderr)
                ok = False
                continue
            passed, execs = run(codec, args.seconds, Path(tmp))
            print(f"fuzz {codec}: {'ok' if passed else 'CRASH'}, {execs} executions in {args.seconds}s")
            ok = ok and passed
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
