"""One Python-level fuzz loop over the codecs' and the session's public entry points.

``tools/fuzz.py`` runs it with codec extensions built with AddressSanitizer, the ASan
runtime preloaded and ``PYTHONMALLOC=malloc`` (so freed Python buffers are poisoned too).
Each execution mutates a golden vector, hands it to the entry point as one of the buffer
kinds a caller may pass (bytes, bytearray, memoryview, slices of bigger buffers, read-only
views, numpy arrays), decodes into each kind of writable output, keeps every failure in a
reference cycle and ``gc.collect()``s regularly: a decoder or a buffer outliving its owner
shows up as an ASan report or a crash.  Any exception other than the target's own error
type is a finding too (exit status 3).

    python tools/fuzz_python.py {quic,lz,glz,session} SECONDS SEED_DIR... [--seed N]

Prints one JSON line: ``{"target": ..., "executions": ..., "errors": ...}``.  The input
being tried is kept in ``--last FILE`` so a crash can be reproduced.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import struct
import sys
import time
import traceback
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

INPUT_KINDS = ("bytes", "bytearray", "memoryview", "view_slice", "bytearray_slice", "readonly", "numpy")
OUTPUT_KINDS = ("bytearray", "memoryview", "view_slice", "numpy", "numpy_view")
INTERESTING = (0, 1, 2, 3, 7, 8, 255, 256, 4095, 4096, 8000, 65535, 65536, 1 << 20, (1 << 31) - 1, 1 << 31)
#: Offsets and byte order of the width, height (and stride) fields of each codec's header.
SIZE_FIELDS = {"quic": ("<", (12, 16)), "lz": (">", (12, 16, 20)), "glz": (">", (9, 13, 17))}


def as_input(kind: str, data: bytes) -> Any:
    if kind == "bytes":
        return bytes(data)
    if kind == "bytearray":
        return bytearray(data)
    if kind == "memoryview":
        return memoryview(bytes(data))
    if kind == "view_slice":
        return memoryview(b"\x5a" * 5 + data + b"\xa5" * 3)[5 : 5 + len(data)]
    if kind == "bytearray_slice":
        return memoryview(bytearray(b"\x5a" * 3 + data + b"\xa5" * 5))[3 : 3 + len(data)]
    if kind == "readonly":
        return memoryview(bytearray(data)).toreadonly()
    return np.frombuffer(data, np.uint8).copy()


def as_output(kind: str, size: int) -> Any:
    if kind == "bytearray":
        return bytearray(size)
    if kind == "memoryview":
        return memoryview(bytearray(size))
    if kind == "view_slice":
        return memoryview(bytearray(size + 24))[16 : 16 + size]
    if kind == "numpy":
        return np.zeros(size, np.uint8)
    return memoryview(np.zeros(size, np.uint8))


class Mutator:
    """Byte-level mutations of seed blobs, with extra weight on the header's size fields."""

    def __init__(self, rng: random.Random, codec: str) -> None:
        self.rng = rng
        self.order, self.fields = SIZE_FIELDS[codec]

    def __call__(self, seed: bytes) -> bytes:
        rng = self.rng
        data = bytearray(seed)
        for _ in range(rng.randint(0, 4)):
            op = rng.randrange(7)
            if not data:
                data += bytes(rng.randrange(64))
            elif op == 0:  # flip a bit
                i = rng.randrange(len(data))
                data[i] ^= 1 << rng.randrange(8)
            elif op == 1:  # an interesting byte
                data[rng.randrange(len(data))] = rng.choice((0, 1, 0x7F, 0x80, 0xFE, 0xFF))
            elif op == 2:  # truncate
                del data[rng.randrange(len(data) + 1) :]
            elif op == 3:  # delete a range
                i = rng.randrange(len(data))
                del data[i : i + rng.randint(1, 64)]
            elif op == 4:  # duplicate a range
                i = rng.randrange(len(data))
                data[i:i] = data[i : i + rng.randint(1, 64)]
            elif op == 5:  # random bytes at the end
                data += rng.randbytes(rng.randint(1, 32))
            else:  # a size field of the header
                at = rng.choice(self.fields)
                if at + 4 <= len(data):
                    value = rng.choice(INTERESTING) if rng.random() < 0.7 else rng.getrandbits(32)
                    struct.pack_into(self.order + "I", data, at, value & 0xFFFFFFFF)
        return bytes(data)


def header_size(codec: str, blob: bytes) -> tuple[int, int]:
    """Width and height a (maybe mutated) blob's header claims, or 1x1 if it is too short."""
    order, fields = SIZE_FIELDS[codec]
    if len(blob) < fields[1] + 4:
        return 1, 1
    return struct.unpack_from(order + "I", blob, fields[0])[0], struct.unpack_from(
        order + "I", blob, fields[1]
    )[0]


def out_size(width: int, height: int) -> int:
    """A generous output buffer for a claimed size, capped (decode_into must say it is too small)."""
    return min(width * height * 4, 1 << 22)


class Quic:
    def __init__(self, rng: random.Random) -> None:
        import spice_quic

        self.rng = rng
        self.m = spice_quic
        self.error: type[BaseException] = spice_quic.DecodeError

    def calls(self, blob: bytes, codec: str, kind: str, out: str) -> list[Callable[[], object]]:
        rng = self.rng
        w, h = header_size("quic", blob)
        stride = rng.choice((w * 4, w * 4 + 8, -w * 4, w))
        return [
            lambda: self.m.decode(as_input(kind, blob)),
            lambda: self.m.decode_into(as_input(kind, blob), as_output(out, out_size(w, h)), stride),
        ]


class Lz:
    def __init__(self, rng: random.Random) -> None:
        import spice_lz

        self.rng = rng
        self.m = spice_lz
        self.error = spice_lz.DecodeError

    def calls(self, blob: bytes, codec: str, kind: str, out: str) -> list[Callable[[], object]]:
        rng = self.rng
        w, h = header_size("lz", blob)
        palette = [rng.getrandbits(24) for _ in range(rng.choice((1, 2, 16, 256)))]
        stride = rng.choice((w * 4, w * 4 + 8, w))
        return [
            lambda: self.m.decode(as_input(kind, blob), palette=palette),
            lambda: self.m.decode_into(
                as_input(kind, blob), as_output(out, out_size(w, h)), stride, palette=palette
            ),
        ]


class Glz:
    def __init__(self, rng: random.Random) -> None:
        import spice_glz

        self.rng = rng
        self.m = spice_glz
        self.error = spice_glz.DecodeError
        self.window = spice_glz.Window(1 << 22)
        types = spice_glz.ImageType
        self.formats = spice_glz.DirectFormats(
            {types.RGB16: "bgrx32", types.RGB24: "bgrx32", types.RGB32: "bgrx32", types.RGBA: "bgra32"}
        )

    def _target_at(
        self, blob: Any, out: Any, stride: int, rect: tuple[int, int, int, int], window: Any
    ) -> object:
        """decode_at through a DecodeTarget (the buffer exported once, as a client's surface is)."""
        with self.m.DecodeTarget(out, stride, formats=self.formats) as target:
            return target.decode_at(blob, *rect, window)

    def calls(self, blob: bytes, codec: str, kind: str, out: str) -> list[Callable[[], object]]:
        rng = self.rng
        w, h = header_size("glz", blob)
        if rng.random() < 0.002:
            self.window = self.m.Window(rng.choice((0, 1 << 10, 1 << 22)))
        window = self.window
        stride = rng.choice((w * 4, w * 4 + 8, w))
        return [
            lambda: self.m.decode(as_input(kind, blob), window=window),
            lambda: self.m.decode_into(
                as_input(kind, blob), as_output(out, out_size(w, h)), stride, window=window
            ),
            lambda: self.m.decode_zlib(
                as_input(kind, zlib.compress(blob)), window=window, glz_data_size=len(blob)
            ),
            lambda: self.m.decode_at(
                as_input(kind, blob),
                as_output(out, out_size(w + 3, h + 2)),
                stride + 12,
                rng.randrange(4),
                rng.randrange(3),
                w,
                h if rng.random() < 0.9 else h + 1,
                formats=self.formats,
                window=window,
            ),
            lambda: self._target_at(
                as_input(kind, blob),
                as_output(out, out_size(w + 3, h + 2)),
                stride + 12,
                (rng.randrange(4), rng.randrange(3), w, h if rng.random() < 0.9 else h + 1),
                window,
            ),
        ]


class Session:
    """DRAW_COPY messages carrying mutated QUIC / LZ / GLZ images, decoded from a message body
    (so the images are views into it) and handled by a display channel."""

    def __init__(self, rng: random.Random) -> None:
        import spice_proto as im
        import spice_proto as sp
        import spice_session as ss

        self.rng = rng
        self.sp, self.ss, self.im = sp, ss, im
        self.error: tuple[type[BaseException], ...] = ()  # handle() must raise nothing
        self.state: Any = None

    def _new_state(self, rng: random.Random) -> None:
        sp = self.sp
        self.state = self.ss.Display(1 << 16, 1 << 22).channel(0)
        fmt = rng.choice((sp.SurfaceFmt.FMT_32_xRGB, sp.SurfaceFmt.FMT_32_ARGB, sp.SurfaceFmt.FMT_16_565))
        self.state.handle(sp.DisplaySurfaceCreate(0, 320, 240, fmt, sp.SurfaceFlags.PRIMARY))

    def _image(self, codec: str, blob: bytes, rng: random.Random) -> Any:
        im = self.im
        w, h = header_size(codec, blob)
        if rng.random() < 0.1:
            w, h = rng.choice(INTERESTING), rng.choice(INTERESTING)
        w, h = w & 0xFFFFFFFF, h & 0xFFFFFFFF
        flags = self.sp.ImageFlags.CACHE_ME if rng.random() < 0.1 else self.sp.ImageFlags(0)
        common = {"id": rng.randrange(4), "width": w, "height": h, "flags": flags}
        if codec == "quic":
            return im.QuicImage(data=blob, **common)
        if codec == "lz":
            if len(blob) > 11 and 1 <= blob[11] <= 5:
                palette = im.Palette(rng.randrange(4), tuple(range(rng.choice((1, 2, 16, 256)))))
                return im.LzPltImage(data=blob, palette=palette, **common)
            return im.LzRgbImage(data=blob, **common)
        if rng.random() < 0.2:
            return im.ZlibGlzRgbImage(glz_data_size=len(blob), data=zlib.compress(blob), **common)
        return im.GlzRgbImage(data=blob, **common)

    def calls(self, blob: bytes, codec: str, kind: str, out: str) -> list[Callable[[], object]]:
        sp, rng = self.sp, self.rng
        if self.state is None or rng.random() < 0.01:
            self._new_state(rng)
        try:
            image = self._image(codec, blob, rng)
            box = sp.Rect(rng.randrange(-8, 300), rng.randrange(-8, 200), 0, 0)
            box = sp.Rect(
                box.left, box.top, box.left + min(image.width, 4096), box.top + min(image.height, 4096)
            )
            src = sp.Rect(0, 0, min(image.width, 4096), min(image.height, 4096))
            body = sp.DisplayDrawCopy(0, box, sp.Clip(), image, src).encode()
        except (ValueError, OverflowError, struct.error):
            return []  # not encodable (e.g. a negative rectangle): nothing to feed
        state = self.state
        wire = body if kind != "memoryview" else memoryview(body)

        def draw() -> object:
            message = sp.DisplayDrawCopy.decode(wire)
            return state.handle(message)

        return [draw]


TARGETS: dict[str, Callable[[random.Random], Any]] = {"quic": Quic, "lz": Lz, "glz": Glz, "session": Session}


def load_seeds(dirs: list[str], codec: str) -> list[bytes]:
    seeds = []
    for d in dirs:
        for f in sorted(Path(d, codec).glob("*.bin")):
            if not f.name.endswith(".palette.bin") and f.stat().st_size <= 1 << 16:
                seeds.append(f.read_bytes())
    return seeds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=sorted(TARGETS))
    parser.add_argument("seconds", type=float)
    parser.add_argument("seed_dirs", nargs="+")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--last", help="file that holds the input being tried")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    codecs = ["quic", "lz", "glz"] if args.target == "session" else [args.target]
    seeds = {c: load_seeds(args.seed_dirs, c) for c in codecs}
    if not all(seeds.values()):
        print(f"fuzz_python: no seeds for {args.target} in {args.seed_dirs}", file=sys.stderr)
        return 2
    mutators = {c: Mutator(rng, c) for c in codecs}
    target = TARGETS[args.target](rng)
    last = os.open(args.last, os.O_WRONLY | os.O_CREAT, 0o644) if args.last else -1
    kept: list[object] = []
    executions = errors = 0
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        codec = codecs[executions % len(codecs)]
        pool = seeds[codec]
        # GLZ images refer to earlier ones: walk the seeds in order most of the time
        seed = pool[executions // len(codecs) % len(pool)] if rng.random() < 0.7 else rng.choice(pool)
        blob = mutators[codec](seed) if rng.random() < 0.9 else seed
        if last >= 0:
            os.ftruncate(last, 0)
            os.pwrite(last, blob, 0)
        kind = INPUT_KINDS[executions % len(INPUT_KINDS)]
        out = OUTPUT_KINDS[rng.randrange(len(OUTPUT_KINDS))]
        for call in target.calls(blob, codec, kind, out):
            try:
                kept.append(call())
            except target.error as exc:
                errors += 1
                kept.append(exc)  # its traceback holds the frames that handled the buffers
            except Exception:
                traceback.print_exc()
                print(
                    f"fuzz_python: {args.target}: unexpected exception (input in {args.last})",
                    file=sys.stderr,
                )
                return 3
        executions += 1
        if len(kept) >= 64:
            kept.append(kept)  # one unreachable cycle: only the collector frees it
            kept = []
            gc.collect()
    gc.collect()
    print(json.dumps({"target": args.target, "executions": executions, "errors": errors}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
