"""SCSI targets over an image file: a direct-access disk (SBC) and a CD-ROM (MMC).

``execute(cdb, data)`` runs one command: ``data`` is what the host sent (data-out
commands), the result holds the data-in bytes and GOOD or CHECK CONDITION; the sense of a
failed command is kept for REQUEST SENSE.  Out-of-range blocks, unknown opcodes, bad
fields and writes to a read-only medium fail with the matching sense, never an exception.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ScsiCdrom", "ScsiDisk", "ScsiResult", "ScsiTarget", "Sense"]

GOOD, CHECK_CONDITION = 0, 2
#: The most one READ or WRITE moves (a guest asking for more gets ILLEGAL REQUEST, not our memory).
MAX_TRANSFER = 16 << 20


@dataclass(frozen=True)
class Sense:
    key: int
    asc: int
    ascq: int = 0


NO_SENSE = Sense(0, 0)
INVALID_OPCODE = Sense(0x05, 0x20)
LBA_OUT_OF_RANGE = Sense(0x05, 0x21)
INVALID_FIELD = Sense(0x05, 0x24)
WRITE_PROTECTED = Sense(0x07, 0x27)
MEDIUM_ERROR = Sense(0x03, 0x11)
INCOMPATIBLE_MEDIUM = Sense(0x05, 0x30, 0x02)


@dataclass(frozen=True)
class ScsiResult:
    status: int
    data: bytes = b""


class ScsiTarget:
    """A block device on a file; ``block_size`` bytes per LBA."""

    peripheral_type = 0x00
    block_size = 512
    product = "Python disk"

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._fd = os.open(self.path, os.O_RDONLY if readonly else os.O_RDWR)
        size = os.fstat(self._fd).st_size
        if size < self.block_size:
            os.close(self._fd)
            raise ValueError(f"{self.path}: {size} bytes, smaller than one {self.block_size}-byte block")
        self.blocks = size // self.block_size
        self.sense = NO_SENSE

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    # ----------------------------------------------------------------- helpers
    def _fail(self, sense: Sense) -> ScsiResult:
        self.sense = sense
        return ScsiResult(CHECK_CONDITION)

    def _ok(self, data: bytes = b"", alloc: int | None = None) -> ScsiResult:
        self.sense = NO_SENSE
        return ScsiResult(GOOD, data if alloc is None else data[:alloc])

    def _range(self, lba: int, count: int) -> bool:
        return lba + count <= self.blocks

    # ---------------------------------------------------------------- commands
    def execute(self, cdb: bytes, data: bytes = b"") -> ScsiResult:
        if not cdb:
            return self._fail(INVALID_OPCODE)
        handler = getattr(self, f"_op_{cdb[0]:02x}", None)
        if handler is None:
            return self._fail(INVALID_OPCODE)
        need = _CDB_LEN.get(cdb[0] >> 5, 6)
        if len(cdb) < need:
            return self._fail(INVALID_FIELD)
        result: ScsiResult = handler(cdb, data)
        return result

    def _op_00(self, cdb: bytes, data: bytes) -> ScsiResult:  # TEST UNIT READY
        return self._ok()

    def _op_03(self, cdb: bytes, data: bytes) -> ScsiResult:  # REQUEST SENSE (fixed format)
        s = self.sense
        self.sense = NO_SENSE
        out = bytes([0x70, 0, s.key, 0, 0, 0, 0, 10, 0, 0, 0, 0, s.asc, s.ascq, 0, 0, 0, 0])
        return ScsiResult(GOOD, out[: cdb[4]])

    def _op_12(self, cdb: bytes, data: bytes) -> ScsiResult:  # INQUIRY
        alloc = struct.unpack_from(">H", cdb, 3)[0]
        if cdb[1] & 1:  # vital product data
            if cdb[2] == 0x00:
                return self._ok(bytes([self.peripheral_type, 0, 0, 2, 0x00, 0x80]), alloc)
            if cdb[2] == 0x80:
                serial = b"SPICEPY0001"
                return self._ok(bytes([self.peripheral_type, 0x80, 0, len(serial)]) + serial, alloc)
            return self._fail(INVALID_FIELD)
        if cdb[2]:
            return self._fail(INVALID_FIELD)
        out = bytes([self.peripheral_type, 0x80, 0x05, 0x02, 31, 0, 0, 0])
        out += b"spicepy ".ljust(8)[:8] + self.product.encode().ljust(16)[:16] + b"1.0 "
        return self._ok(out, alloc)

    def _op_1e(self, cdb: bytes, data: bytes) -> ScsiResult:  # PREVENT ALLOW MEDIUM REMOVAL
        return self._ok()

    def _op_1b(self, cdb: bytes, data: bytes) -> ScsiResult:  # START STOP UNIT
        return self._ok()

    def _op_35(self, cdb: bytes, data: bytes) -> ScsiResult:  # SYNCHRONIZE CACHE(10)
        if not self.readonly:
            os.fsync(self._fd)
        return self._ok()

    _op_91 = _op_35  # SYNCHRONIZE CACHE(16)

    def _op_2f(self, cdb: bytes, data: bytes) -> ScsiResult:  # VERIFY(10)
        lba, count = struct.unpack_from(">IxH", cdb, 2)
        return self._ok() if self._range(lba, count) else self._fail(LBA_OUT_OF_RANGE)

    def _op_25(self, cdb: bytes, data: bytes) -> ScsiResult:  # READ CAPACITY(10)
        last = min(self.blocks - 1, 0xFFFFFFFF)
        return self._ok(struct.pack(">II", last, self.block_size))

    def _op_9e(self, cdb: bytes, data: bytes) -> ScsiResult:  # SERVICE ACTION IN(16)
        if cdb[1] & 0x1F != 0x10:  # READ CAPACITY(16)
            return self._fail(INVALID_FIELD)
        alloc = struct.unpack_from(">I", cdb, 10)[0]
        return self._ok(struct.pack(">QI", self.blocks - 1, self.block_size).ljust(32, b"\0"), alloc)

    def _op_23(self, cdb: bytes, data: bytes) -> ScsiResult:  # READ FORMAT CAPACITIES
        alloc = struct.unpack_from(">H", cdb, 7)[0]
        out = struct.pack(">I", 8) + struct.pack(">I", min(self.blocks, 0xFFFFFFFF))
        out += bytes([0x02]) + self.block_size.to_bytes(3, "big")
        return self._ok(out, alloc)

    def _mode_pages(self, page: int) -> bytes | None:
        caching = bytes([0x08, 0x12]) + bytes(18)
        if page == 0x08:
            return caching
        if page == 0x3F:
            return caching
        return None

    def _op_1a(self, cdb: bytes, data: bytes) -> ScsiResult:  # MODE SENSE(6)
        pages = self._mode_pages(cdb[2] & 0x3F)
        if pages is None:
            return self._fail(INVALID_FIELD)
        wp = 0x80 if self.readonly else 0
        out = bytes([3 + len(pages), 0, wp, 0]) + pages
        return self._ok(out, cdb[4])

    def _op_5a(self, cdb: bytes, data: bytes) -> ScsiResult:  # MODE SENSE(10)
        pages = self._mode_pages(cdb[2] & 0x3F)
        if pages is None:
            return self._fail(INVALID_FIELD)
        wp = 0x80 if self.readonly else 0
        out = struct.pack(">HBBxxH", 6 + len(pages), 0, wp, 0) + pages
        return self._ok(out, struct.unpack_from(">H", cdb, 7)[0])

    def _read(self, lba: int, count: int) -> ScsiResult:
        if not self._range(lba, count):
            return self._fail(LBA_OUT_OF_RANGE)
        if count * self.block_size > MAX_TRANSFER:
            return self._fail(INVALID_FIELD)
        want = count * self.block_size
        got = os.pread(self._fd, want, lba * self.block_size)
        if len(got) != want:
            return self._fail(MEDIUM_ERROR)
        return self._ok(got)

    def _write(self, lba: int, count: int, data: bytes) -> ScsiResult:
        if self.readonly:
            return self._fail(WRITE_PROTECTED)
        if not self._range(lba, count):
            return self._fail(LBA_OUT_OF_RANGE)
        if len(data) != count * self.block_size:
            return self._fail(INVALID_FIELD)
        os.pwrite(self._fd, data, lba * self.block_size)
        return self._ok()

    def _op_28(self, cdb: bytes, data: bytes) -> ScsiResult:  # READ(10)
        lba, count = struct.unpack_from(">IxH", cdb, 2)
        return self._read(lba, count)

    def _op_a8(self, cdb: bytes, data: bytes) -> ScsiResult:  # READ(12)
        lba, count = struct.unpack_from(">II", cdb, 2)
        return self._read(lba, count)

    def _op_88(self, cdb: bytes, data: bytes) -> ScsiResult:  # READ(16)
        lba, count = struct.unpack_from(">QI", cdb, 2)
        return self._read(lba, count)

    def _op_2a(self, cdb: bytes, data: bytes) -> ScsiResult:  # WRITE(10)
        lba, count = struct.unpack_from(">IxH", cdb, 2)
        return self._write(lba, count, data)

    def _op_aa(self, cdb: bytes, data: bytes) -> ScsiResult:  # WRITE(12)
        lba, count = struct.unpack_from(">II", cdb, 2)
        return self._write(lba, count, data)

    def _op_8a(self, cdb: bytes, data: bytes) -> ScsiResult:  # WRITE(16)
        lba, count = struct.unpack_from(">QI", cdb, 2)
        return self._write(lba, count, data)


#: CDB length by opcode group (bits 7-5); groups 3, 6, 7 are reserved/vendor: 6 assumed.
_CDB_LEN = {0: 6, 1: 10, 2: 10, 4: 16, 5: 12}


class ScsiDisk(ScsiTarget):
    """A direct-access block device (512-byte blocks), read-write unless ``readonly``."""


class ScsiCdrom(ScsiTarget):
    """A CD-ROM (MMC) on an ISO image: 2048-byte blocks, always read-only."""

    peripheral_type = 0x05
    block_size = 2048
    product = "Python CD-ROM"

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, readonly=True)

    def _mode_pages(self, page: int) -> bytes | None:
        # capabilities page: reads CD-R/RW, DVD-ROM; eject; tray loader
        caps = bytes([0x2A, 0x14, 0x3F, 0x00, 0x00, 0x00, 0x29, 0x00]) + bytes(14)
        if page in (0x2A, 0x3F):
            return caps
        return None

    def _write(self, lba: int, count: int, data: bytes) -> ScsiResult:
        return self._fail(INVALID_OPCODE)

    def _op_43(self, cdb: bytes, data: bytes) -> ScsiResult:  # READ TOC/PMA/ATIP
        msf = bool(cdb[1] & 2)
        fmt = cdb[2] & 0x0F or (cdb[9] >> 6)
        alloc = struct.unpack_from(">H", cdb, 7)[0]
        if fmt == 1:  # session info: first session starts at LBA 0
            out = struct.pack(">HBB", 10, 1, 1) + bytes([0, 0x14, 1, 0]) + self._addr(0, msf)
            return self._ok(out, alloc)
        if fmt != 0:
            return self._fail(INVALID_FIELD)
        track = cdb[6]
        entries = b""
        if track <= 1:
            entries += bytes([0, 0x14, 1, 0]) + self._addr(0, msf)
        elif track not in (0xAA,):
            return self._fail(INVALID_FIELD)
        entries += bytes([0, 0x14, 0xAA, 0]) + self._addr(self.blocks, msf)
        out = struct.pack(">HBB", 2 + len(entries), 1, 1) + entries
        return self._ok(out, alloc)

    @staticmethod
    def _addr(lba: int, msf: bool) -> bytes:
        if not msf:
            return struct.pack(">I", lba)
        frames = lba + 150
        return bytes([0, frames // (75 * 60), frames // 75 % 60, frames % 75])

    def _op_46(self, cdb: bytes, data: bytes) -> ScsiResult:  # GET CONFIGURATION
        alloc = struct.unpack_from(">H", cdb, 7)[0]
        profile = 0x0008  # CD-ROM
        # feature 0 (profile list) with the one profile, current
        features = struct.pack(">HBB", 0x0000, 0x03, 4) + struct.pack(">HBx", profile, 1)
        # feature 1 (core): SCSI family interface; feature 3 (removable medium)
        features += struct.pack(">HBBI", 0x0001, 0x0B, 4, 1)
        features += struct.pack(">HBB", 0x0003, 0x0B, 4) + bytes([0x29, 0, 0, 0])
        out = struct.pack(">IxxH", 4 + len(features), profile) + features
        return self._ok(out, alloc)

    def _op_4a(self, cdb: bytes, data: bytes) -> ScsiResult:  # GET EVENT STATUS NOTIFICATION
        if not cdb[1] & 1:  # only polled operation
            return self._fail(INVALID_FIELD)
        alloc = struct.unpack_from(">H", cdb, 7)[0]
        if cdb[4] & 0x10:  # media class: no change, medium present
            out = struct.pack(">HBB", 6, 0x04, 0x10) + bytes([0, 0x02, 0, 0])
        else:
            out = struct.pack(">HBB", 2, 0x80, 0x10)  # no event class available
        return self._ok(out, alloc)

    def _op_51(self, cdb: bytes, data: bytes) -> ScsiResult:  # READ DISC INFORMATION
        alloc = struct.unpack_from(">H", cdb, 7)[0]
        # complete disc, last session complete, one session, one track, CD-ROM type
        out = struct.pack(">HBBBBBBB", 32, 0x0E, 1, 1, 1, 1, 0x20, 0x00).ljust(34, b"\0")
        return self._ok(out, alloc)
