"""Virtual USB devices: what a device tells the usbredir guest, and its standard requests.

A :class:`VirtualDevice` answers the standard control requests (descriptors, status,
configuration) from its :class:`DeviceInfo`; subclasses add class requests and bulk
endpoints.  Nothing here does I/O: :mod:`spice_session._usb` drives a device.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from spice_proto.usbredir import (
    SLOTS,
    DeviceConnect,
    Endpoint,
    EpInfo,
    EpType,
    Interface,
    InterfaceInfo,
    Speed,
    Status,
    ep_index,
)

from ._usbredir_filter import FilterRule, FilterVerdict, check_filter

__all__ = ["DeviceInfo", "EndpointInfo", "Setup", "VirtualDevice"]

_GET_STATUS, _CLEAR_FEATURE, _SET_FEATURE, _GET_DESCRIPTOR = 0, 1, 3, 6
_DESC_DEVICE, _DESC_CONFIG, _DESC_STRING, _DESC_QUALIFIER = 1, 2, 3, 6


@dataclass(frozen=True)
class Setup:
    """A control request's setup packet."""

    requesttype: int
    request: int
    value: int
    index: int
    length: int

    @property
    def is_in(self) -> bool:
        return bool(self.requesttype & 0x80)

    @property
    def kind(self) -> int:
        """0 standard, 1 class, 2 vendor."""
        return self.requesttype >> 5 & 3


@dataclass(frozen=True)
class EndpointInfo:
    address: int
    type: EpType
    max_packet_size: int
    interval: int = 0


@dataclass(frozen=True)
class DeviceInfo:
    """The identity and the one configuration / interface of a simple device."""

    vendor_id: int
    product_id: int
    device_version_bcd: int
    manufacturer: str
    product: str
    serial: str
    interface_class: int
    interface_subclass: int
    interface_protocol: int
    endpoints: tuple[EndpointInfo, ...]
    speed: Speed = Speed.HIGH
    max_packet_size0: int = 64
    #: Class descriptors that follow the interface descriptor (a HID descriptor...).
    class_descriptors: bytes = b""
    #: The device descriptor's class, subclass and protocol (0: given per interface; a hub,
    #: or 0xEF/2/1 for a composite device with interface associations, says them here).
    device_class: int = 0
    device_subclass: int = 0
    device_protocol: int = 0

    def device_descriptor(self) -> bytes:
        return struct.pack(
            "<BBHBBBBHHHBBBB",
            18, _DESC_DEVICE, 0x0200, self.device_class, self.device_subclass, self.device_protocol,
            self.max_packet_size0,
            self.vendor_id, self.product_id, self.device_version_bcd, 1, 2, 3, 1,
        )  # fmt: skip

    def config_descriptor(self) -> bytes:
        iface = struct.pack(
            "<BBBBBBBBB", 9, 4, 0, 0, len(self.endpoints),
            self.interface_class, self.interface_subclass, self.interface_protocol, 0,
        )  # fmt: skip
        eps = b"".join(
            struct.pack("<BBBBHB", 7, 5, e.address, e.type, e.max_packet_size, e.interval)
            for e in self.endpoints
        )
        body = iface + self.class_descriptors + eps
        return struct.pack("<BBHBBBBB", 9, _DESC_CONFIG, 9 + len(body), 1, 1, 0, 0x80, 50) + body

    def qualifier_descriptor(self) -> bytes:
        return struct.pack("<BBHBBBBBB", 10, _DESC_QUALIFIER, 0x0200, 0, 0, 0, self.max_packet_size0, 1, 0)

    def string(self, index: int) -> bytes | None:
        if index == 0:
            return struct.pack("<BBH", 4, _DESC_STRING, 0x0409)
        texts = {1: self.manufacturer, 2: self.product, 3: self.serial}
        if index not in texts:
            return None
        raw = texts[index].encode("utf-16-le")[:252]
        return bytes((2 + len(raw), _DESC_STRING)) + raw

    def connect_packet(self) -> DeviceConnect:
        return DeviceConnect(
            self.speed,
            self.device_class,
            self.device_subclass,
            self.device_protocol,
            self.vendor_id,
            self.product_id,
            self.device_version_bcd,
        )

    def interface_packet(self) -> InterfaceInfo:
        return InterfaceInfo(
            (Interface(0, self.interface_class, self.interface_subclass, self.interface_protocol),)
        )

    def ep_packet(self) -> EpInfo:
        slots = [Endpoint() for _ in range(SLOTS)]
        for ep0 in (0x00, 0x80):
            slots[ep_index(ep0)] = Endpoint(EpType.CONTROL, 0, 0, self.max_packet_size0)
        for e in self.endpoints:
            slots[ep_index(e.address)] = Endpoint(e.type, e.interval, 0, e.max_packet_size)
        return EpInfo(tuple(slots))

    def interfaces(self) -> tuple[tuple[int, int, int], ...]:
        """(class, subclass, protocol) of each interface, for usb-filter rules."""
        return ((self.interface_class, self.interface_subclass, self.interface_protocol),)

    def filter_verdict(self, rules: Sequence[FilterRule]) -> FilterVerdict:
        """What usb-filter ``rules`` say of this device (its class, then its interfaces)."""
        return check_filter(
            rules,
            device_class=self.device_class,
            vendor_id=self.vendor_id,
            product_id=self.product_id,
            device_version_bcd=self.device_version_bcd,
            interfaces=self.interfaces(),
        )


@dataclass
class VirtualDevice:
    """A device whose standard requests come from ``info``; override the hooks for the rest."""

    info: DeviceInfo
    configuration: int = 0
    halted: set[int] = field(default_factory=set)
    #: Whether its hooks block on I/O (a physical device): the session then calls them in a
    #: worker thread and polls it for held INs and interrupt transfers.
    blocking: ClassVar[bool] = False
    #: Whether it serves isochronous streams (``iso_in`` / ``iso_out``).
    iso: ClassVar[bool] = True

    def control(self, setup: Setup, data: bytes) -> tuple[Status, bytes]:
        """Answer one control request: (status, IN data)."""
        if setup.kind == 0:
            status, reply = self.standard_request(setup)
        else:
            status, reply = self.class_request(setup, data)
        return status, reply[: setup.length] if setup.is_in else b""

    def standard_request(self, setup: Setup) -> tuple[Status, bytes]:
        if setup.request == _GET_DESCRIPTOR and setup.is_in:
            kind, index = setup.value >> 8, setup.value & 0xFF
            found: bytes | None = None
            if kind == _DESC_DEVICE:
                found = self.info.device_descriptor()
            elif kind == _DESC_CONFIG and index == 0:
                found = self.info.config_descriptor()
            elif kind == _DESC_STRING:
                found = self.info.string(index)
            elif kind == _DESC_QUALIFIER and self.info.speed == Speed.HIGH:
                found = self.info.qualifier_descriptor()
            return (Status.SUCCESS, found) if found is not None else (Status.STALL, b"")
        if setup.request == _GET_STATUS and setup.is_in:
            halted = (setup.requesttype & 0x1F) == 2 and setup.index in self.halted
            return Status.SUCCESS, struct.pack("<H", 1 if halted else 0)
        if setup.request == _CLEAR_FEATURE and (setup.requesttype & 0x1F) == 2 and setup.value == 0:
            self.halted.discard(setup.index)
            self.clear_halt(setup.index)
            return Status.SUCCESS, b""
        if setup.request in (_CLEAR_FEATURE, _SET_FEATURE):
            return Status.SUCCESS, b""
        return Status.STALL, b""

    def class_request(self, setup: Setup, data: bytes) -> tuple[Status, bytes]:
        return Status.STALL, b""

    def clear_halt(self, endpoint: int) -> None:
        """An endpoint's halt was cleared by the host."""

    def set_configuration(self, configuration: int) -> Status:
        if configuration not in (0, 1):
            return Status.STALL
        self.configuration = configuration
        return Status.SUCCESS

    def set_alt_setting(self, interface: int, alt: int) -> Status:
        return Status.SUCCESS if (interface, alt) == (0, 0) else Status.STALL

    def get_alt_setting(self, interface: int) -> int | None:
        """The interface's alternate setting, ``None`` for an interface the device lacks."""
        return 0 if interface == 0 else None

    def reset(self) -> None:
        self.configuration = 0
        self.halted.clear()

    def bulk_out(self, endpoint: int, data: bytes) -> Status:
        return Status.STALL

    def bulk_in(self, endpoint: int, length: int) -> tuple[Status, bytes] | None:
        """IN data of at most ``length`` bytes, or ``None`` while the device has nothing to send."""
        return Status.STALL, b""

    def interrupt_in(self, endpoint: int) -> bytes | None:
        """The next transfer an interrupt IN endpoint has ready, or ``None``."""
        return None

    def interrupt_out(self, endpoint: int, data: bytes) -> Status:
        return Status.STALL

    def iso_in(self, endpoint: int) -> bytes | None:
        """The next packet (one (micro)frame) of an iso IN stream, or ``None``."""
        return None

    def iso_out(self, endpoint: int, data: bytes) -> Status:
        return Status.STALL

    def endpoint_type(self, endpoint: int) -> EpType | None:
        """The type of one of the device's own endpoints (not endpoint 0), else ``None``."""
        return next((e.type for e in self.info.endpoints if e.address == endpoint), None)
