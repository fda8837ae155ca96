"""The USB host side with virtual mass-storage devices, driven by an in-memory usbredir guest."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from spice_proto.usbredir import (
    AltSettingStatus,
    BulkPacket,
    CancelDataPacket,
    Cap,
    ConfigurationStatus,
    ControlPacket,
    DeviceConnect,
    DeviceDisconnect,
    DeviceDisconnectAck,
    EpInfo,
    EpType,
    FilterFilter,
    FilterReject,
    GetConfiguration,
    InterfaceInfo,
    IsoStreamStatus,
    Packet,
    Received,
    Reset,
    SetAltSetting,
    SetConfiguration,
    StartIsoStream,
    Status,
    UsbRedirParser,
    ep_index,
)
from spice_session import UsbRedirError
from spice_session._usb_host import UsbRedirHost
from spice_session._usb_scsi import ScsiCdrom, ScsiDisk
from spice_session._usb_storage import EP_IN, EP_OUT, usb_cdrom, usb_disk

GUEST_CAPS = frozenset(Cap) - {Cap.BULK_STREAMS, Cap.BULK_RECEIVING}


class Guest:
    """QEMU's side, in memory: sends requests to a UsbRedirHost and parses its answers."""

    def __init__(self, host: UsbRedirHost, caps: frozenset[int] = GUEST_CAPS) -> None:
        self.host = host
        self.parser = UsbRedirParser("guest", caps)
        self.next_id = 1
        self.parser.receive_data(host.start())
        self.hello = self.parser.next_packets()
        self.connect = self._feed(self.parser.hello("qemu test"))

    def _feed(self, raw: bytes) -> list[Received]:
        self.parser.receive_data(self.host.receive_data(raw))
        return self.parser.next_packets()

    def send(self, packet: Packet) -> list[Received]:
        pid, self.next_id = self.next_id, self.next_id + 1
        return self._feed(self.parser.encode(packet, pid))

    def one(self, packet: Packet) -> Packet:
        [got] = self.send(packet)
        return got.packet

    def control_in(
        self, request: int, value: int, index: int = 0, length: int = 255, rtype: int = 0x80
    ) -> ControlPacket:
        got = self.one(ControlPacket(0x80, request, rtype, 0, value, index, length))
        assert isinstance(got, ControlPacket)
        return got

    def scsi(
        self, cdb: bytes, length: int = 0, out: bytes = b"", tag: int = 0x1234
    ) -> tuple[bytes, tuple[int, int, int]]:
        """One BOT command: the data-in bytes and the CSW (tag, residue, status)."""
        flags = 0x80 if length and not out else 0
        cbw = struct.pack("<IIIBBB16s", 0x43425355, tag, length, flags, 0, len(cdb), cdb)
        assert self.one(BulkPacket(EP_OUT, 0, len(cbw), 0, cbw)) == BulkPacket(EP_OUT, Status.SUCCESS, 31)
        data = b""
        if out:
            got = self.one(BulkPacket(EP_OUT, 0, len(out), 0, out))
            assert isinstance(got, BulkPacket) and got.status == Status.SUCCESS
        elif length:
            got = self.one(BulkPacket(EP_IN, 0, length))
            assert isinstance(got, BulkPacket) and got.status == Status.SUCCESS
            data = got.data
        csw = self.one(BulkPacket(EP_IN, 0, 13))
        assert isinstance(csw, BulkPacket) and csw.status == Status.SUCCESS and len(csw.data) == 13
        sig, rtag, residue, status = struct.unpack("<IIIB", csw.data)
        assert sig == 0x53425355
        return data, (rtag, residue, status)


def disk(tmp_path: Path, blocks: int = 64, readonly: bool = False) -> tuple[Path, UsbRedirHost]:
    path = tmp_path / "disk.img"
    path.write_bytes(b"".join(bytes([i]) * 512 for i in range(blocks)))
    return path, UsbRedirHost(usb_disk(path, readonly=readonly))


def test_hello_is_answered_with_the_device(tmp_path: Path) -> None:
    _, host = disk(tmp_path)
    guest = Guest(host)
    assert guest.hello[0].packet.caps == host.parser.caps  # type: ignore[union-attr]
    kinds = [type(r.packet) for r in guest.connect]
    assert kinds == [InterfaceInfo, EpInfo, DeviceConnect]
    iface, eps, conn = (r.packet for r in guest.connect)
    assert isinstance(iface, InterfaceInfo) and (iface.interfaces[0].cls, iface.interfaces[0].protocol) == (
        8,
        0x50,
    )
    assert isinstance(eps, EpInfo)
    assert (
        eps.endpoints[ep_index(EP_IN)].type == EpType.BULK
        and eps.endpoints[ep_index(EP_IN)].max_packet_size == 512
    )
    assert eps.endpoints[ep_index(0x83)].type == EpType.INVALID
    assert isinstance(conn, DeviceConnect) and conn.device_version_bcd == 0x0100 and conn.speed == 2


def test_descriptors_and_configuration(tmp_path: Path) -> None:
    guest = Guest(disk(tmp_path)[1])
    dev = guest.control_in(6, 0x0100, length=18)
    assert dev.status == Status.SUCCESS and dev.length == 18 and dev.data[:2] == b"\x12\x01"
    assert struct.unpack_from("<HH", dev.data, 8) == (0x1D6B, 0x0D15)
    head = guest.control_in(6, 0x0200, length=9)
    total = struct.unpack_from("<H", head.data, 2)[0]
    assert total == 32 and len(head.data) == 9  # truncated to wLength
    full = guest.control_in(6, 0x0200, length=total)
    assert full.data[9 + 5 : 9 + 8] == bytes([8, 6, 0x50])
    serial = guest.control_in(6, 0x0303, length=255)
    assert serial.data[2:].decode("utf-16-le") == "5350494345505931"
    assert guest.control_in(6, 0x0305).status == Status.STALL  # no string 5
    assert guest.control_in(0xFE, 0, rtype=0xA1, length=1).data == b"\0"  # GET MAX LUN
    assert guest.one(SetConfiguration(1)) == ConfigurationStatus(Status.SUCCESS, 1)
    assert guest.one(GetConfiguration()) == ConfigurationStatus(Status.SUCCESS, 1)
    assert guest.one(SetConfiguration(7)) == ConfigurationStatus(Status.STALL, 1)
    assert guest.one(SetAltSetting(0, 1)) == AltSettingStatus(Status.STALL, 0, 1)
    assert host_configs(guest) == [1]


def host_configs(guest: Guest) -> list[int]:
    return guest.host.configurations


def test_scsi_read_write_and_capacity(tmp_path: Path) -> None:
    path, host = disk(tmp_path)
    guest = Guest(host)
    data, csw = guest.scsi(bytes([0x12, 0, 0, 0, 36, 0]), 36, tag=77)
    assert csw == (77, 0, 0) and data[0] == 0 and data[1] == 0x80 and b"spicepy" in data
    data, csw = guest.scsi(bytes([0x25]) + bytes(9), 8)
    assert struct.unpack(">II", data) == (63, 512) and csw[2] == 0
    data, _ = guest.scsi(bytes([0x9E, 0x10]) + bytes(8) + struct.pack(">I", 32) + bytes(2), 32)
    assert struct.unpack_from(">QI", data) == (63, 512)
    data, csw = guest.scsi(struct.pack(">BBIBHB", 0x28, 0, 5, 0, 2, 0), 1024)
    assert data == bytes([5]) * 512 + bytes([6]) * 512 and csw[1:] == (0, 0)
    payload = b"W" * 1024
    _, csw = guest.scsi(struct.pack(">BBIBHB", 0x2A, 0, 10, 0, 2, 0), 1024, out=payload)
    assert csw[1:] == (0, 0)
    assert path.read_bytes()[10 * 512 : 12 * 512] == payload
    data, _ = guest.scsi(struct.pack(">BBQIBB", 0x88, 0, 10, 2, 0, 0), 1024)  # READ(16)
    assert data == payload
    # out of range: CHECK CONDITION then REQUEST SENSE says ILLEGAL REQUEST / LBA out of range
    data, csw = guest.scsi(struct.pack(">BBIBHB", 0x28, 0, 63, 0, 2, 0), 1024)
    assert data == b"" and csw[1:] == (1024, 1)
    sense, _ = guest.scsi(bytes([0x03, 0, 0, 0, 18, 0]), 18)
    assert (sense[2], sense[12]) == (0x05, 0x21)
    _, csw = guest.scsi(bytes([0xEE]) + bytes(5))  # unknown opcode
    assert csw[2] == 1
    sense, _ = guest.scsi(bytes([0x03, 0, 0, 0, 18, 0]), 18)
    assert (sense[2], sense[12]) == (0x05, 0x20)
    mode, _ = guest.scsi(bytes([0x1A, 0, 0x3F, 0, 192, 0]), 192)
    assert mode[2] & 0x80 == 0  # writable
    _, csw = guest.scsi(bytes([0x35]) + bytes(9))  # SYNCHRONIZE CACHE
    assert csw[2] == 0


def test_read_only_disk_refuses_writes(tmp_path: Path) -> None:
    path, host = disk(tmp_path, readonly=True)
    before = path.read_bytes()
    guest = Guest(host)
    mode, _ = guest.scsi(bytes([0x1A, 0, 0x3F, 0, 192, 0]), 192)
    assert mode[2] & 0x80  # write-protected
    _, csw = guest.scsi(struct.pack(">BBIBHB", 0x2A, 0, 0, 0, 1, 0), 512, out=b"X" * 512)
    assert csw[2] == 1
    sense, _ = guest.scsi(bytes([0x03, 0, 0, 0, 18, 0]), 18)
    assert (sense[2], sense[12]) == (0x07, 0x27)  # DATA PROTECT, WRITE PROTECTED
    assert path.read_bytes() == before


def test_invalid_cbw_halts_until_reset(tmp_path: Path) -> None:
    guest = Guest(disk(tmp_path)[1])
    assert guest.one(BulkPacket(EP_OUT, 0, 5, 0, b"junk!")) == BulkPacket(EP_OUT, Status.STALL, 0)
    assert guest.one(BulkPacket(EP_IN, 0, 13)) == BulkPacket(EP_IN, Status.STALL, 0)
    # clearing the halt alone does not help (BOT reset recovery needs the class reset)
    guest.one(ControlPacket(0x00, 1, 0x02, 0, 0, EP_IN, 0))
    assert guest.one(BulkPacket(EP_IN, 0, 13)) == BulkPacket(EP_IN, Status.STALL, 0)
    reset = guest.one(ControlPacket(0x00, 0xFF, 0x21, 0, 0, 0, 0))
    assert isinstance(reset, ControlPacket) and reset.status == Status.SUCCESS
    _, csw = guest.scsi(bytes(6))  # TEST UNIT READY works again
    assert csw[2] == 0


def test_pending_in_is_answered_after_the_cbw_and_can_be_cancelled(tmp_path: Path) -> None:
    guest = Guest(disk(tmp_path)[1])
    assert guest.send(BulkPacket(EP_IN, 0, 13)) == []  # nothing to send yet: held
    cbw = struct.pack("<IIIBBB16s", 0x43425355, 9, 0, 0, 0, 6, bytes(6))
    got = guest.send(BulkPacket(EP_OUT, 0, 31, 0, cbw))
    assert [type(r.packet) for r in got] == [BulkPacket, BulkPacket]
    assert got[1].id == 1 and got[1].packet.data[:8] == struct.pack("<II", 0x53425355, 9)  # type: ignore[union-attr]
    assert guest.send(BulkPacket(EP_IN, 0, 13)) == []
    pid = guest.next_id - 1
    got = guest.parser.encode(CancelDataPacket(), pid)
    guest.parser.receive_data(guest.host.receive_data(got))
    assert guest.parser.next_packets() == [Received(pid, BulkPacket(EP_IN, Status.CANCELLED, 0))]


def test_reset_unsupported_streams_and_disconnect(tmp_path: Path) -> None:
    guest = Guest(disk(tmp_path)[1])
    guest.one(SetConfiguration(1))
    assert guest.send(Reset()) == []
    assert guest.one(GetConfiguration()) == ConfigurationStatus(Status.SUCCESS, 0)
    assert guest.one(StartIsoStream(0x83, 8, 4)) == IsoStreamStatus(Status.INVAL, 0x83)
    raw = guest.host.disconnect()
    guest.parser.receive_data(raw)
    assert guest.parser.next_packets() == [Received(0, DeviceDisconnect())]
    assert guest.send(DeviceDisconnectAck()) == [] and guest.host.disconnected
    # requests for a device that is gone fail cleanly
    assert guest.one(BulkPacket(EP_IN, 0, 13)) == BulkPacket(EP_IN, Status.IOERROR, 0)


def test_guest_filters(tmp_path: Path) -> None:
    guest = Guest(disk(tmp_path)[1])
    assert guest.send(FilterFilter("0x08,-1,-1,-1,1")) == []  # mass storage allowed
    assert guest.host.rejected is None
    assert [r.packet for r in guest.send(FilterFilter("0x08,-1,-1,-1,0|-1,-1,-1,-1,1"))] == [
        DeviceDisconnect()
    ]
    assert "deny" in (guest.host.rejected or "")
    guest = Guest(disk(tmp_path)[1])
    guest.send(FilterReject())
    assert guest.host.rejected is not None and not guest.host.connected
    guest = Guest(disk(tmp_path)[1])
    with pytest.raises(UsbRedirError, match="invalid filter"):
        guest.send(FilterFilter("nonsense"))


def test_cdrom_toc_configuration_and_2048_byte_blocks(tmp_path: Path) -> None:
    iso = tmp_path / "disc.iso"
    iso.write_bytes(b"".join(bytes([i]) * 2048 for i in range(20)))
    guest = Guest(UsbRedirHost(usb_cdrom(iso)))
    data, _ = guest.scsi(bytes([0x12, 0, 0, 0, 36, 0]), 36)
    assert data[0] == 0x05  # CD-ROM
    cap, _ = guest.scsi(bytes([0x25]) + bytes(9), 8)
    assert struct.unpack(">II", cap) == (19, 2048)
    block, _ = guest.scsi(struct.pack(">BBIBHB", 0x28, 0, 3, 0, 1, 0), 2048)
    assert block == bytes([3]) * 2048
    toc, csw = guest.scsi(bytes([0x43, 0, 0, 0, 0, 0, 0, 0, 12, 0]), 12)
    assert csw[2] == 0 and toc[2:4] == b"\x01\x01" and toc[6] == 1
    full, _ = guest.scsi(bytes([0x43, 0, 0, 0, 0, 0, 0, 0, 20, 0]), 20)
    assert full[14] == 0xAA and struct.unpack_from(">I", full, 16)[0] == 20  # lead-out at the end
    conf, csw = guest.scsi(bytes([0x46, 0, 0, 0, 0, 0, 0, 0, 64, 0]), 64)
    assert csw[2] == 0 and struct.unpack_from(">H", conf, 6)[0] == 0x0008  # current profile CD-ROM
    _, csw = guest.scsi(struct.pack(">BBIBHB", 0x2A, 0, 0, 0, 1, 0), 2048, out=bytes(2048))
    assert csw[2] == 1


def test_scsi_targets_refuse_short_cdbs_and_tiny_images(tmp_path: Path) -> None:
    img = tmp_path / "d.img"
    img.write_bytes(bytes(4096))
    target = ScsiDisk(img)
    assert target.execute(bytes([0x28, 0, 0])).status == 2  # READ(10) needs 10 bytes
    assert target.execute(b"").status == 2
    img.write_bytes(bytes(100))
    with pytest.raises(ValueError, match="smaller than one"):
        ScsiCdrom(img)


def test_hostile_transfer_sizes_are_refused_without_buffering(tmp_path: Path) -> None:
    path = tmp_path / "big.img"
    with path.open("wb") as f:
        f.truncate(64 << 20)  # sparse 64 MiB
    guest = Guest(UsbRedirHost(usb_disk(path)))
    # READ(16) of the whole disk in one command: ILLEGAL REQUEST, nothing read
    data, csw = guest.scsi(struct.pack(">BBQIBB", 0x88, 0, 0, (64 << 20) // 512, 0, 0), 0xFFFFFFFF)
    assert data == b"" and csw[2] == 1
    sense, _ = guest.scsi(bytes([0x03, 0, 0, 0, 18, 0]), 18)
    assert (sense[2], sense[12]) == (0x05, 0x24)
    # a CBW announcing 4 GiB of write data halts instead of waiting to buffer it
    cbw = struct.pack(
        "<IIIBBB16s", 0x43425355, 1, 0xFFFFFFFF, 0, 0, 10, struct.pack(">BBIBHB", 0x2A, 0, 0, 0, 0xFFFF, 0)
    )
    assert guest.one(BulkPacket(EP_OUT, 0, 31, 0, cbw)) == BulkPacket(EP_OUT, Status.STALL, 0)
    assert guest.one(BulkPacket(EP_OUT, 0, 4, 0, b"data")) == BulkPacket(EP_OUT, Status.STALL, 0)
