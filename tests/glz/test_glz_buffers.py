"""decode / decode_into with every buffer type, failing and succeeding, then gc.collect().

A failed decode of a memoryview used to leave a cffi buffer exported from the view alive in
the error's traceback; the collector then freed the view under it (SIGSEGV).  Each test runs
in a child interpreter, so such a crash fails the test.
"""

from __future__ import annotations

from buffers import assert_survived, run_child

_SETUP = """
import gc
import spice_glz
import vectors
from buffers import INPUT_KINDS, OUTPUT_KINDS, as_input, as_output, fail_in_cycle

(seq,) = [s for s in vectors.glz_sequences() if s[0].name.startswith("glz/mixed_")]
first, second = seq[0].blob, seq[1].blob  # the second copies from the first
size = seq[1].width * seq[1].height * 4
stride = seq[1].width * 4
failing = [second, first[:40], first[: len(first) // 2], first[:-1], first + b"\\0"]
"""


def test_failed_decodes_of_every_buffer_type_survive_the_collector() -> None:
    lines = assert_survived(
        run_child(
            _SETUP
            + """
errors = 0
for kind in INPUT_KINDS:
    for blob in failing:
        window = spice_glz.Window()
        call = lambda: spice_glz.decode(as_input(kind, blob), window=window)
        if fail_in_cycle(call, spice_glz.DecodeError):
            errors += 1
        for out in OUTPUT_KINDS:
            call = lambda: spice_glz.decode_into(
                as_input(kind, blob), as_output(out, size), stride, window=window
            )
            if fail_in_cycle(call, spice_glz.DecodeError):
                errors += 1
        del window
        gc.collect()
print(errors)
"""
        )
    )
    assert lines == [str(8 * 5 * 6)]  # every failing blob failed, with every input and output kind


def test_successful_decodes_of_every_buffer_type_match_bytes() -> None:
    lines = assert_survived(
        run_child(
            _SETUP
            + """
expected = []
window = spice_glz.Window()
for case in seq:
    img = spice_glz.decode(case.blob, window=window)
    expected.append(bytes(img.pixels))
for kind in INPUT_KINDS:
    for out in OUTPUT_KINDS:
        window, window_into = spice_glz.Window(), spice_glz.Window()
        for case, want in zip(seq, expected):
            img = spice_glz.decode(as_input(kind, case.blob), window=window)
            assert bytes(img.pixels) == want, (kind, case.name)
            buf = as_output(out, len(want))
            spice_glz.decode_into(as_input(kind, case.blob), buf, case.width * 4, window=window_into)
            assert bytes(buf) == want, (kind, out, case.name)
        gc.collect()
print("ok", len(seq))
"""
        )
    )
    assert lines == ["ok 9"]
