"""decode / decode_into with every buffer type, failing and succeeding, then gc.collect().

A failed decode of a memoryview used to leave a cffi buffer exported from the view alive in
the error's traceback; the collector then freed the view under it (SIGSEGV).  Each test runs
in a child interpreter, so such a crash fails the test.
"""

from __future__ import annotations

from buffers import assert_survived, run_child

_SETUP = """
import gc
import struct
import spice_lz
import vectors
from buffers import INPUT_KINDS, OUTPUT_KINDS, as_input, as_output, fail_in_cycle

chosen = {}
for case in vectors.cases("lz"):
    if 64 < len(case.blob) <= 20000:
        chosen.setdefault(case.image_type, case)
chosen = list(chosen.values())


def claims_8000x8000(case):
    blob = bytearray(case.blob)
    row = spice_lz.ImageType[case.image_type].row_bytes(8000)
    struct.pack_into(">III", blob, 12, 8000, 8000, row)
    return bytes(blob)


def out_size(case):
    return case.width * case.height * (1 if case.image_type in ("A8", "XXXA") else 4)
"""


def test_failed_decodes_of_every_buffer_type_survive_the_collector() -> None:
    lines = assert_survived(
        run_child(
            _SETUP
            + """
errors = 0
for kind in INPUT_KINDS:
    for case in chosen:
        blob, pal = case.blob, case.palette
        for bad in (blob[: len(blob) // 2], blob[:-1], blob + b"\\0", claims_8000x8000(case)):
            if fail_in_cycle(lambda: spice_lz.decode(as_input(kind, bad), palette=pal), spice_lz.DecodeError):
                errors += 1
            for out in OUTPUT_KINDS:
                buf = as_output(out, out_size(case))
                row = out_size(case) // case.height
                call = lambda: spice_lz.decode_into(as_input(kind, bad), buf, row, palette=pal)
                if fail_in_cycle(call, spice_lz.DecodeError):
                    errors += 1
            gc.collect()
print(len(chosen), errors)
"""
        )
    )
    (count, errors) = map(int, lines[0].split())
    assert count == 11  # one case of each LZ image type
    assert errors == 8 * count * 4 * 6  # every bad blob failed with every input and output kind


def test_successful_decodes_of_every_buffer_type_match_bytes() -> None:
    lines = assert_survived(
        run_child(
            _SETUP
            + """
for case in chosen:
    want = spice_lz.decode(case.blob, palette=case.palette).pixels
    assert len(want) == out_size(case)
    for kind in INPUT_KINDS:
        img = spice_lz.decode(as_input(kind, case.blob), palette=case.palette)
        assert img.pixels == want, (kind, case.name)
        for out in OUTPUT_KINDS:
            buf = as_output(out, len(want))
            row = len(want) // case.height
            spice_lz.decode_into(as_input(kind, case.blob), buf, row, palette=case.palette)
            assert bytes(buf) == want, (kind, out, case.name)
        gc.collect()
print("ok", len(chosen))
"""
        )
    )
    assert lines == ["ok 11"]
