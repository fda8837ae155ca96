"""Fuzz the decoders under AddressSanitizer: C harnesses with libFuzzer, Python entry points.

C harnesses (targets ``quic``, ``lz``, ``glz``): each codec package has
``fuzz/fuzz_<codec>.c`` defining ``LLVMFuzzerTestOneInput``; it is compiled with the
package's C sources using clang (``-fsanitize=fuzzer,address,undefined``), seeded with the
golden vectors (``../shared/vectors`` when present, and ``tests/vectors``) and run.

Python harnesses (``py-quic``, ``py-lz``, ``py-glz``, ``py-session``): the codecs' cffi
extensions are rebuilt with clang ``-fsanitize=address`` into a temporary package tree,
and ``tools/fuzz_python.py`` drives ``decode``/``decode_into`` (and the session's
DRAW_COPY image path) with mutated golden vectors in every buffer type, with the ASan
runtime preloaded, ``PYTHONMALLOC=malloc`` and regular ``gc.collect()``.

Every target runs ``--seconds``, two at a time (``--jobs``).  Crashing inputs go to
``fuzz-artifacts/<target>/``; the script exits non-zero if any target found one.

    python tools/fuzz.py --seconds 60 [quic lz glz py-quic py-lz py-glz py-session]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODECS = ["quic", "lz", "glz"]
PYTHON_TARGETS = ["py-quic", "py-lz", "py-glz", "py-session"]
TARGETS = CODECS + PYTHON_TARGETS
_asan_lock = threading.Lock()


def seed_dirs(codec: str | None = None) -> list[Path]:
    """Golden vector directories (of one codec, or their parents)."""
    candidates = [ROOT.parent / "shared" / "vectors", ROOT / "tests" / "vectors"]
    return [d / codec if codec else d for d in candidates if (d / (codec or "")).is_dir()]


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


def run_c(codec: str, seconds: int, workdir: Path) -> tuple[bool, int]:
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


def asan_runtime() -> str:
    """Path of clang's shared ASan runtime (to preload into Python)."""
    name = f"libclang_rt.asan-{platform.machine()}.so"
    out = subprocess.run(["clang", f"-print-file-name={name}"], capture_output=True, text=True, check=True)
    path = out.stdout.strip()
    if not Path(path).is_file():
        raise RuntimeError(f"clang has no {name} (got {path!r})")
    return path


def build_asan_packages(workdir: Path) -> Path:
    """The three codec packages, their cffi extensions compiled with ASan, in one tree."""
    tree = workdir / "asan-packages"
    with _asan_lock:
        if tree.is_dir():
            return tree
        env = {
            "CC": "clang",
            "LDSHARED": "clang -shared",
            "CFLAGS": "-g -O1 -fno-omit-frame-pointer -fsanitize=address",
            "LDFLAGS": "-fsanitize=address",
        }
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            for codec in CODECS:
                pkg = ROOT / "packages" / f"spice-{codec}"
                shutil.copytree(
                    pkg / "src" / f"spice_{codec}",
                    tree / f"spice_{codec}",
                    ignore=shutil.ignore_patterns("*.so"),
                )
                builder = _load_builder(pkg / "cffi_build.py")
                built = Path(builder.compile(tmpdir=str(workdir / f"asan-build-{codec}"), verbose=False))
                shutil.copy2(built, tree / f"spice_{codec}" / built.name)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    return tree


def _load_builder(path: Path) -> object:
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"_fuzz_builder_{path.parent.name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ffibuilder


def run_python(target: str, seconds: int, workdir: Path) -> tuple[bool, int]:
    """One Python harness (tools/fuzz_python.py) under ASan; (passed, executions)."""
    tree = build_asan_packages(workdir)
    artifacts = ROOT / "fuzz-artifacts" / target
    artifacts.mkdir(parents=True, exist_ok=True)
    last = artifacts / "last-input.bin"
    seed = random.randrange(1 << 32)
    env = dict(os.environ)
    env.update(
        LD_PRELOAD=asan_runtime(),
        ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:exitcode=86",
        PYTHONMALLOC="malloc",
        PYTHONPATH=os.pathsep.join(filter(None, [str(tree), env.get("PYTHONPATH")])),
    )
    name = target.removeprefix("py-")
    cmd = [sys.executable, str(ROOT / "tools" / "fuzz_python.py"), name, str(seconds)]
    cmd += [*map(str, seed_dirs()), "--seed", str(seed), "--last", str(last)]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 300)
    except subprocess.TimeoutExpired:
        sys.stderr.write(f"fuzz {target}: hung (seed {seed}); input in {last}\n")
        return False, 0
    report = "AddressSanitizer" in proc.stderr or "Fatal Python error" in proc.stderr
    try:
        count = int(json.loads(proc.stdout.strip().splitlines()[-1])["executions"])
    except (IndexError, ValueError, KeyError):
        count = 0
    if proc.returncode != 0 or report:
        sys.stderr.write(proc.stderr[-8000:])
        sys.stderr.write(f"\nfuzz {target}: exit status {proc.returncode} (seed {seed}); input in {last}\n")
        return False, count
    last.unlink(missing_ok=True)
    return True, count


def run(target: str, seconds: int, workdir: Path) -> tuple[bool, int]:
    if target in PYTHON_TARGETS:
        return run_python(target, seconds, workdir)
    return run_c(target, seconds, workdir)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60, help="per target")
    parser.add_argument("--jobs", type=int, default=2, help="targets run at the same time")
    parser.add_argument("targets", nargs="*", default=TARGETS, help=f"some of {' '.join(TARGETS)}")
    args = parser.parse_args()
    if shutil.which("clang") is None:
        print("fuzz: clang is required (apt-get install clang)", file=sys.stderr)
        return 2
    unknown = [t for t in args.targets if t not in TARGETS]
    missing = [
        c for c in args.targets if c in CODECS and not (ROOT / "packages" / f"spice-{c}" / "fuzz").is_dir()
    ]
    if unknown or missing:
        print(f"fuzz: no harness for {' '.join(unknown + missing)}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max(1, args.jobs)) as pool:
        if any(t in PYTHON_TARGETS for t in args.targets):
            build_asan_packages(Path(tmp))  # once, before the harnesses start
        results = list(pool.map(lambda t: run(t, args.seconds, Path(tmp)), args.targets))
    for target, (passed, execs) in zip(args.targets, results, strict=True):
        print(f"fuzz {target}: {'ok' if passed else 'CRASH'}, {execs} executions in {args.seconds}s")
    return 0 if all(passed for passed, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
