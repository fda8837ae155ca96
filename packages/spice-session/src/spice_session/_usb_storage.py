"""USB mass storage, Bulk-Only Transport, in front of a SCSI target: disk images and ISOs.

The host sends a 31-byte CBW on the OUT endpoint, then moves data (IN for reads, OUT
for writes) and reads a 13-byte CSW.  An invalid CBW halts both bulk endpoints until the
class's Bulk-Only Mass Storage Reset, as the BOT spec asks.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field
from pathlib import Path

from spice_proto.usbredir import EpType, Status

from ._usb_device import DeviceInfo, EndpointInfo, Setup, VirtualDevice
from ._usb_scsi import MAX_TRANSFER, ScsiCdrom, ScsiDisk, ScsiTarget

__all__ = ["MassStorage", "usb_cdrom", "usb_disk"]

EP_IN, EP_OUT = 0x81, 0x02
_CBW = struct.Struct("<IIIBBB16s")
_CBW_SIG, _CSW_SIG = 0x43425355, 0x53425355
_PASS, _FAIL, _PHASE_ERROR = 0, 1, 2
_GET_MAX_LUN, _BOMS_RESET = 0xFE, 0xFF


class _Phase(enum.Enum):
    CBW = "cbw"
    DATA_IN = "data-in"
    DATA_OUT = "data-out"
    CSW = "csw"


@dataclass
class MassStorage(VirtualDevice):
    """A USB stick or CD drive serving ``target`` over Bulk-Only Transport."""

    target: ScsiTarget = field(default=None)  # type: ignore[assignment]
    phase: _Phase = _Phase.CBW
    _tag: int = 0
    _expected: int = 0
    _cdb: bytes = b""
    _data_in: bytes = b""
    _data_out: bytearray = field(default_factory=bytearray)
    _status: int = _PASS
    _moved: int = 0
    _needs_reset: bool = False

    def close(self) -> None:
        self.target.close()

    def class_request(self, setup: Setup, data: bytes) -> tuple[Status, bytes]:
        if setup.requesttype == 0xA1 and setup.request == _GET_MAX_LUN:
            return Status.SUCCESS, b"\0"
        if setup.requesttype == 0x21 and setup.request == _BOMS_RESET:
            self._reset_transport()
            return Status.SUCCESS, b""
        return Status.STALL, b""

    def reset(self) -> None:
        super().reset()
        self._reset_transport()

    def _reset_transport(self) -> None:
        self.phase = _Phase.CBW
        self._needs_reset = False
        self._data_in, self._data_out = b"", bytearray()
        self.halted.clear()

    def clear_halt(self, endpoint: int) -> None:
        if self._needs_reset:
            self.halted.add(endpoint)  # stays halted until the reset (BOT 6.6.1)

    # ------------------------------------------------------------------- bulk
    def bulk_out(self, endpoint: int, data: bytes) -> Status:
        if endpoint != EP_OUT or endpoint in self.halted:
            return Status.STALL
        if self.phase == _Phase.DATA_OUT:
            room = self._expected - len(self._data_out)
            self._data_out += data[:room]
            if len(data) > room:
                self._status = _PHASE_ERROR
            if len(self._data_out) >= self._expected:
                self._finish_out()
            return Status.SUCCESS
        if self.phase != _Phase.CBW:
            self._halt()
            return Status.STALL
        return self._command(data)

    def _halt(self) -> None:
        self._needs_reset = True
        self.halted.update((EP_IN, EP_OUT))

    def _command(self, raw: bytes) -> Status:
        if len(raw) != _CBW.size:
            self._halt()
            return Status.STALL
        sig, tag, length, flags, lun, cb_len, cb = _CBW.unpack(raw)
        if sig != _CBW_SIG or lun != 0 or not 1 <= cb_len <= 16:
            self._halt()
            return Status.STALL
        self._tag, self._expected, self._cdb = tag, length, cb[:cb_len]
        self._moved, self._status = 0, _PASS
        if length and flags & 0x80:
            result = self.target.execute(self._cdb)
            self._status = _PASS if result.status == 0 else _FAIL
            self._data_in = result.data[:length]
            self.phase = _Phase.DATA_IN
        elif length > MAX_TRANSFER:  # more than any write we accept: refuse before buffering it
            self._halt()
            return Status.STALL
        elif length:
            self._data_out = bytearray()
            self.phase = _Phase.DATA_OUT
        else:
            result = self.target.execute(self._cdb)
            self._status = _PASS if result.status == 0 else _FAIL
            self.phase = _Phase.CSW
        return Status.SUCCESS

    def _finish_out(self) -> None:
        result = self.target.execute(self._cdb, bytes(self._data_out))
        self._moved = len(self._data_out)
        if self._status == _PASS:
            self._status = _PASS if result.status == 0 else _FAIL
        self._data_out = bytearray()
        self.phase = _Phase.CSW

    def bulk_in(self, endpoint: int, length: int) -> tuple[Status, bytes] | None:
        if endpoint != EP_IN or endpoint in self.halted:
            return Status.STALL, b""
        if self.phase == _Phase.DATA_IN:
            chunk, self._data_in = self._data_in[:length], self._data_in[length:]
            self._moved += len(chunk)
            if not self._data_in or len(chunk) < length:
                self.phase = _Phase.CSW
            return Status.SUCCESS, chunk
        if self.phase == _Phase.CSW:
            residue = max(self._expected - self._moved, 0)
            self.phase = _Phase.CBW
            return Status.SUCCESS, struct.pack("<IIIB", _CSW_SIG, self._tag, residue, self._status)[:length]
        if self.phase == _Phase.DATA_OUT:
            self._halt()
            return Status.STALL, b""
        return None  # nothing to say until the next CBW


def _storage_info(product: str, serial: str, product_id: int) -> DeviceInfo:
    return DeviceInfo(
        vendor_id=0x1D6B,  # placeholder vendor: Linux Foundation
        product_id=product_id,
        device_version_bcd=0x0100,
        manufacturer="spice-python",
        product=product,
        serial=serial,
        interface_class=0x08,  # mass storage
        interface_subclass=0x06,  # SCSI transparent command set
        interface_protocol=0x50,  # Bulk-Only Transport
        endpoints=(EndpointInfo(EP_IN, EpType.BULK, 512), EndpointInfo(EP_OUT, EpType.BULK, 512)),
    )


def usb_disk(path: str | Path, *, readonly: bool = False) -> MassStorage:
    """A disk image as a USB stick (512-byte blocks); ``readonly`` refuses writes (write-protected)."""
    target = ScsiDisk(path, readonly=readonly)
    return MassStorage(_storage_info("Python USB disk", "5350494345505931", 0x0D15), target=target)


def usb_cdrom(path: str | Path) -> MassStorage:
    """An ISO image as a USB CD-ROM drive (2048-byte blocks, read-only)."""
    target = ScsiCdrom(path)
    return MassStorage(_storage_info("Python USB CD-ROM", "5350494345505932", 0x0CD0), target=target)
