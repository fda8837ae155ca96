"""Developer and CI tasks.  ``nox -s tests`` is the one test command."""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
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
    "hypothesis>=6.100",
    "trustme>=1.1",
    "numpy",
    "pillow",
    "av>=12",  # spice-session[video]: the VP8/VP9/H.264 stream tests
]


def install_workspace(session: nox.Session, *extra: str) -> None:
    """Editable installs of all eight distributions (compiling the codecs) plus ``extra``."""
    editable: list[str] = []
    for name in PACKAGES:
        editable += ["-e", f"packages/{name}"]
    session.install(*editable, *extra)


@nox.session
def tests(session: nox.Session) -> None:
    """Unit tests and interop tests against real peers (SPICE_REQUIRE_INTEROP=1 makes a missing peer fail)."""
    install_workspace(session, *TEST_DEPS)
    session.run("pytest", "--timeout=600", *session.posargs)


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
    install_workspace(session, "numpy", "pillow")
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
    """Install the packages and run ``spice connect`` with the given arguments (a spice:// URI)."""
    install_workspace(session)
    session.run("spice", "connect", *(session.posargs or ["--help"]))


@nox.session
def demo(session: nox.Session) -> None:
    """Install the packages and run ``spice demo``: demo server and viewer (or a screenshot, headless)."""
    install_workspace(session)
    session.run("spice", "demo", *session.posargs)
