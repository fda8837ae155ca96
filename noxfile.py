"""Developer and CI tasks.  ``nox -s tests`` is the one test command."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

ROOT = Path(__file__).parent
# Install order matters only for readability; pip resolves the local ranges.
PACKAGES = [
    "spice-proto",
    "spice-quic",
    "spice-lz",
    "spice-glz",
    "spice-net",
    "spice-session",
    "spice-server",
    "spice-cli",
]
CODECS = ["spice-quic", "spice-lz", "spice-glz"]
TEST_DEPS = [
    "pytest>=8",
    "pytest-trio>=0.8",
    "pytest-timeout>=2.3",
    "pytest-xdist>=3.5",  # the suite runs on both cores, one test module per worker at a time
    "hypothesis>=6.100",
    "trustme>=1.1",
    "numpy",
    "pillow",
    "av>=12",  # spice-session[video]: the VP8/VP9/H.264 stream tests
    "mypy>=1.10",  # tests/test_readme_types.py: the README examples type-check
    "mcp>=2.3",  # spice-cli[mcp]: spice mcp, driven by the SDK's own client
    "hypercorn[trio]>=0.17",
    "wsgidav>=4.3",  # spice-session[share]: folder sharing behind the webdav port
    "h11>=0.14",
    "pytesseract>=0.3.10",  # spice-session[ocr]: text waits through the binding
    "libusb1>=3.1",  # spice-session[usb]: physical USB devices (tested on a umockdev device)
]


def install_workspace(session: nox.Session, *extra: str) -> None:
    """Editable installs of all eight distributions (compiling the codecs) plus ``extra``."""
    editable: list[str] = []
    for name in PACKAGES:
        editable += ["-e", f"packages/{name}"]
    session.install(*editable, *extra)


# What an editable install bakes in, per package: metadata (dependencies, entry points), the
# build hook and the C sources it compiles.  Python under src/ is imported in place.
INSTALL_INPUTS = ["pyproject.toml", "*.py", "csrc/**/*"]
INSTALL_STAMP = "spice-install.json"


def _install_state(name: str) -> str:
    """A hash of what installing ``packages/<name>`` depends on (not its Python modules)."""
    root = ROOT / "packages" / name
    digest = hashlib.sha256()
    files = sorted({p for pattern in INSTALL_INPUTS for p in root.glob(pattern) if p.is_file()})
    for path in files:
        digest.update(f"{path.relative_to(root)}\0{path.stat().st_size}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _dist_info(venv: Path, name: str) -> Path | None:
    module = name.replace("-", "_")
    found = glob.glob(str(venv / "lib" / "python*" / "site-packages" / f"{module}-*.dist-info"))
    return Path(found[0]) if found else None


def _codec_outdated(name: str) -> bool:
    """A codec whose compiled module is missing or older than a C source (another venv may build it)."""
    root = ROOT / "packages" / name
    if name not in CODECS:
        return False
    built = list((root / "src" / name.replace("-", "_")).glob("_*.so"))
    inputs = [p for p in (root / "csrc").rglob("*") if p.is_file()] + [root / "cffi_build.py"]
    newest_input = max(p.stat().st_mtime for p in inputs)
    return not built or min(p.stat().st_mtime for p in built) < newest_input


def install_workspace_once(session: nox.Session) -> None:
    """:func:`install_workspace`, but only for packages that need it in this (reused) venv.

    A package is reinstalled when its pyproject.toml, build hook or C sources changed since this
    venv installed it, when its compiled codec is missing or older than its C sources, or when it
    is not installed; otherwise nothing runs (Python changes need no reinstall: editable installs).
    ``SPICE_REINSTALL=1`` reinstalls all eight.
    """
    location = getattr(session.virtualenv, "location", None)
    if not location:  # --no-venv
        install_workspace(session)
        return
    venv = Path(location)
    stamp = venv / INSTALL_STAMP
    try:
        recorded = json.loads(stamp.read_text())
    except (OSError, ValueError):
        recorded = {}
    state = {name: _install_state(name) for name in PACKAGES}
    force = os.environ.get("SPICE_REINSTALL", "") not in ("", "0")
    stale = [
        name
        for name in PACKAGES
        if force
        or recorded.get(name) != state[name]
        or _dist_info(venv, name) is None
        or _codec_outdated(name)
    ]
    if not stale:
        session.log(f"spice packages up to date in {venv} (SPICE_REINSTALL=1 reinstalls them)")
        return
    started = time.time() - 1
    editable: list[str] = []
    for name in stale:
        editable += ["-e", f"packages/{name}"]
    session.install(*editable)
    for name in stale:  # nox -R / --no-install skips the install: then nothing is recorded
        info = _dist_info(venv, name)
        if info is not None and info.stat().st_mtime >= started:
            recorded[name] = state[name]
    stamp.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")


@nox.session
def tests(session: nox.Session) -> None:
    """Unit tests and interop tests against real peers (SPICE_REQUIRE_INTEROP=1 makes a missing peer fail)."""
    install_workspace(session, *TEST_DEPS)
    # Modules, not single tests, are spread over the workers: a module's peers and fixtures stay
    # on one worker.  SPICE_TEST_WORKERS=0 runs everything in this process.
    workers = os.environ.get("SPICE_TEST_WORKERS", "2")
    session.run("pytest", "--timeout=600", "-n", workers, "--dist", "loadfile", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over every package."""
    # exceptiongroup: mypy checks as Python 3.10, where spice_session imports the backport.
    install_workspace(session, "mypy>=1.10", "exceptiongroup", *TEST_DEPS)
    session.run("mypy", "--strict")


@nox.session
def build(session: nox.Session) -> None:
    """Wheels and sdists of all eight into dist/; each wheel then installs alone into a fresh venv."""
    session.install("build>=1.2", "virtualenv")
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    for name in PACKAGES:
        session.run("python", "-m", "build", "--outdir", str(dist), f"packages/{name}")
    for name in PACKAGES:
        module = name.replace("-", "_")
        wheel = glob.glob(str(dist / f"{module}-*.whl"))
        if len(wheel) != 1:
            session.error(f"expected one wheel for {name}, found {wheel}")
        with tempfile.TemporaryDirectory() as tmp:
            venv = Path(tmp, "venv")
            session.run("python", "-m", "virtualenv", "-q", str(venv))
            py = str(venv / "bin" / "python")
            # Local siblings come from dist/, third-party deps from the index.
            session.run(py, "-m", "pip", "install", "-q", "--find-links", str(dist), wheel[0], external=True)
            session.run(
                py, "-c", f"import {module}; print({module}.__name__, {module}.__version__)", external=True
            )
            if name in CODECS:
                out = session.run(py, "-m", "pip", "list", "--format=freeze", external=True, silent=True)
                others = sorted(
                    line.split("==")[0].lower()
                    for line in str(out).splitlines()
                    if line
                    and not line.lower().startswith((name, "cffi", "pycparser", "pip", "setuptools", "wheel"))
                )
                if others:
                    session.error(f"{name} pulled in more than cffi: {others}")


@nox.session
def bench(session: nox.Session) -> None:
    """Throughput benchmarks (codecs, canvas, server); prints tables, asserts nothing about time."""
    # the test dependencies too: several benchmarks drive the tests' peers (tests/peers,
    # tests/hostile: pytest, trustme) and time the PyAV video codecs
    install_workspace(session, *TEST_DEPS)
    for script in sorted(glob.glob("tools/bench_*.py")):
        session.run("python", script, *session.posargs)


@nox.session
def fuzz(session: nox.Session) -> None:
    """Fuzz under ASan (SPICE_FUZZ_SECONDS per harness, default 60, two at a time): each codec's
    C decoder with libFuzzer (+UBSan), and the Python entry points (codecs' decode/decode_into,
    the session's image path) with every buffer type, against ASan builds of the codecs.

    The C harnesses (``packages/spice-*/fuzz/``) need clang only; the Python ones
    (``tools/fuzz_python.py``) run in this session's virtualenv with the packages installed.
    """
    install_workspace(session, "numpy", "setuptools")
    seconds = os.environ.get("SPICE_FUZZ_SECONDS", "60")
    session.run("python", "tools/fuzz.py", "--seconds", seconds, *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """API reference of all eight packages as HTML in docs/_build (pdoc)."""
    install_workspace(session, "pdoc>=14")
    modules = [name.replace("-", "_") for name in PACKAGES]
    session.run("pdoc", "--output-directory", "docs/_build", *modules)


@nox.session
def connect(session: nox.Session) -> None:
    """Run ``spice connect`` with the given arguments (a spice:// URI); installs only what changed."""
    install_workspace_once(session)
    session.run("spice", "connect", *(session.posargs or ["--help"]))


#: Where ``nox -s demo`` writes its headless screenshot (build/ is ignored by git).
DEMO_SCREENSHOT = ROOT / "build" / "spice-demo.png"


@nox.session
def demo(session: nox.Session) -> None:
    """Run ``spice demo``: demo server and viewer, or headless a screenshot in build/spice-demo.png.

    Installs only what changed since the last run (see :func:`install_workspace_once`).
    """
    install_workspace_once(session)
    args = list(session.posargs)
    if not any(arg == "--screenshot" or arg.startswith("--screenshot=") for arg in args):
        DEMO_SCREENSHOT.parent.mkdir(exist_ok=True)
        args += ["--screenshot", str(DEMO_SCREENSHOT.relative_to(ROOT))]
    session.run("spice", "demo", *args)
