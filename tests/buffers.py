"""Every kind of buffer a caller may hand a decoder, and a child-process runner.

Memory-safety tests run their body in a fresh interpreter (:func:`run_child`): a
use-after-free that segfaults then fails the one test instead of killing pytest.
A failed decode is kept in a reference cycle with its traceback (:func:`fail_in_cycle`),
as an event queue or a logging handler may keep it, so ``gc.collect()`` is what frees
it, in whatever order the collector picks.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

TESTS = Path(__file__).resolve().parent

#: Input (blob) kinds: everything ``memoryview()`` accepts that a caller may plausibly pass.
INPUT_KINDS = (
    "bytes",
    "bytearray",
    "memoryview",
    "memoryview_slice",
    "bytearray_slice",
    "readonly_view",
    "numpy",
    "numpy_view",
)
#: Writable output kinds for ``decode_into``.
OUTPUT_KINDS = ("bytearray", "memoryview", "memoryview_slice", "numpy", "numpy_view")


def as_input(kind: str, data: bytes) -> Any:
    """``data`` as a fresh object of the given kind (nothing else refers to it)."""
    if kind == "bytes":
        return bytes(data)
    if kind == "bytearray":
        return bytearray(data)
    if kind == "memoryview":
        return memoryview(bytes(data))
    if kind == "memoryview_slice":  # a view into the middle of a bigger immutable buffer
        return memoryview(b"\x5a" * 7 + data + b"\xa5" * 5)[7 : 7 + len(data)]
    if kind == "bytearray_slice":  # ... and of a mutable one
        return memoryview(bytearray(b"\x5a" * 3 + data + b"\xa5" * 9))[3 : 3 + len(data)]
    if kind == "readonly_view":
        return memoryview(bytearray(data)).toreadonly()
    if kind == "numpy":
        return np.frombuffer(data, np.uint8).copy()
    if kind == "numpy_view":
        return memoryview(np.frombuffer(data, np.uint8).copy())
    raise ValueError(kind)


def as_output(kind: str, size: int) -> Any:
    """A fresh zeroed writable buffer of ``size`` bytes of the given kind."""
    if kind == "bytearray":
        return bytearray(size)
    if kind == "memoryview":
        return memoryview(bytearray(size))
    if kind == "memoryview_slice":
        return memoryview(bytearray(size + 24))[16 : 16 + size]
    if kind == "numpy":
        return np.zeros(size, np.uint8)
    if kind == "numpy_view":
        return memoryview(np.zeros(size, np.uint8))
    raise ValueError(kind)


def fail_in_cycle(call: Callable[[], object], error: type[BaseException]) -> str | None:
    """Run ``call``; if it raises ``error``, leave the exception in a reference cycle
    (exception -> traceback -> this frame -> exception) and return its message."""
    try:
        call()
    except error as exc:
        kept = exc  # noqa: F841 - the cycle through this frame is the point
        return str(exc)
    return None


def run_child(body: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Run ``body`` (Python source; ``tests/`` importable) in a new interpreter."""
    prelude = f"import sys\nsys.path.insert(0, {str(TESTS)!r})\n"
    return subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", prelude + textwrap.dedent(body)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_survived(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """The child exited normally and the collector complained about nothing; its output lines."""
    assert proc.returncode == 0, f"child exited with {proc.returncode}:\n{proc.stderr[-4000:]}"
    assert "Exception ignored" not in proc.stderr, proc.stderr[-4000:]
    return proc.stdout.splitlines()


def measure_child(body: str, timeout: float = 240) -> dict[str, float]:
    """Run ``body`` in a new interpreter after its imports are done; how much its peak RSS
    grew (``resource.getrusage`` ru_maxrss, MiB) and how long it took (s)."""
    code = f"""
import json, resource, time
def _peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
{textwrap.dedent(body)}
_before, _start = _peak(), time.perf_counter()
run()
print(json.dumps({{"rss_growth_mib": _peak() - _before, "seconds": time.perf_counter() - _start,
                  "peak_mib": _peak()}}))
"""
    lines = assert_survived(run_child(code, timeout))
    result: dict[str, float] = json.loads(lines[-1])
    return result
