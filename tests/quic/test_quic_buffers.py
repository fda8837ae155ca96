"""decode / decode_into with every buffer type, failing and succeeding, then gc.collect().

A failed decode_into a memoryview used to leave a cffi buffer exported from the view alive
in the error's traceback; the collector then freed the view under it (SIGSEGV).  Each test
runs in a child interpreter, so such a crash fails the test.
"""

from __future__ import annotations

from buffers import assert_survived, run_child

_SETUP = """
import gc
import struct
import spice_quic
import vectors
from buffers import INPUT_KINDS, OUTPUT_KINDS, as_input, as_output, fail_in_cycle

chosen = {}
for case in vectors.cases("quic"):
    if 256 < len(case.blob) <= 40000:
        chosen.setdefault(case.image_type, case)
chosen = list(chosen.values())


def bad_blobs(blob):
    huge = bytearray(blob)
    struct.pack_into("<II", huge, 12, 8000, 8000)
    return (blob[: len(blob) // 8 * 4], blob[:-4], blob[:-1], bytes(huge))
"""


def test_failed_decodes_of_every_buffer_type_survive_the_collector() -> None:
    lines = assert_survived(
        run_child(
            _SETUP
            + """
errors = 0
for kind in INPUT_KINDS:
    for case in chosen:
        size = case.width * case.height * 4
        for bad in bad_blobs(case.blob):
            if fail_in_cycle(lambda: spice_quic.decode(as_input(kind, bad)), spice_quic.DecodeError):
                errors += 1
            for out in OUTPUT_KINDS:
                buf = as_output(out, size)
                call = lambda: spice_quic.decode_into(as_input(kind, bad), buf, case.width * 4)
                if fail_in_cycle(call, spice_quic.DecodeError):
                    errors += 1
            gc.collect()
print(len(chosen), errors)
"""
        )
    )
    (count, errors) = map(int, lines[0].split())
    assert count == 5  # one case of each QUIC image type
    assert errors == 8 * count * 4 * 6  # every bad blob failed with every input and output kind


def test_successful_decodes_of_every_buffer_type_match_bytes() -> None:
    lines = assert_survived(
        run_child(
            _SETUP
            + """
for case in chosen:
    ref = spice_quic.decode(case.blob)
    want = bytes(ref.pixels)
    for kind in INPUT_KINDS:
        assert spice_quic.decode(as_input(kind, case.blob)).pixels == want, (kind, case.name)
        for out in OUTPUT_KINDS:
            buf = as_output(out, len(want))
            spice_quic.decode_into(as_input(kind, case.blob), buf, ref.stride)
            assert bytes(buf) == want, (kind, out, case.name)
        gc.collect()
print("ok", len(chosen))
"""
        )
    )
    assert lines == ["ok 5"]
