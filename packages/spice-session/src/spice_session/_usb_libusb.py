"""Physical USB devices through libusb (python-libusb1: the ``spice-session[usb]`` extra).

:func:`open_usb_device` finds a device by vendor and product id, claims its interfaces
(detaching kernel drivers) and gives a :class:`LibusbDevice`: a device whose hooks forward
the guest's control, bulk and interrupt transfers to the real one with synchronous libusb
calls.  Its hooks block (``blocking``), so the session calls them in a worker thread and
polls it for bulk IN and interrupt IN data.  Isochronous endpoints are not forwarded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from spice_proto.usbredir import (
    DEFAULT_MAX_PACKET,
    SLOTS,
    Endpoint,
    EpInfo,
    EpType,
    Interface,
    InterfaceInfo,
    Speed,
    Status,
    ep_index,
)

from ._usb_device import DeviceInfo, EndpointInfo, Setup, VirtualDevice
from ._usbredir import UsbRedirError

__all__ = ["LibusbDevice", "UsbDeviceError", "open_usb_device", "parse_device_id"]

#: How long a poll waits for bulk / interrupt IN data (ms); control and OUT transfers wait longer.
POLL_TIMEOUT_MS = 5
TRANSFER_TIMEOUT_MS = 5000
#: The longest bulk IN read forwarded (bytes): libusb allocates the asked length up front, and
#: a guest's 32-bit bulk length may ask for 4 GB; the reply must fit in one usbredir packet.
MAX_BULK_IN = DEFAULT_MAX_PACKET
_SPEEDS = {1: Speed.LOW, 2: Speed.FULL, 3: Speed.HIGH, 4: Speed.SUPER, 5: Speed.SUPER}


class UsbDeviceError(UsbRedirError):
    """A physical USB device that cannot be found, opened or claimed (or libusb1 is missing)."""


def parse_device_id(text: str) -> tuple[int, int]:
    """``"VID:PID"`` (hex, as lsusb prints them) as two ints."""
    found = re.fullmatch(r"(?:0x)?([0-9a-fA-F]{1,4}):(?:0x)?([0-9a-fA-F]{1,4})", text.strip())
    if found is None:
        raise UsbDeviceError(f"USB device {text!r}: expected VID:PID in hex, e.g. 046d:c077")
    return int(found.group(1), 16), int(found.group(2), 16)


def _usb1() -> Any:
    try:
        import usb1  # type: ignore[import-untyped]  # python-libusb1 ships no type information
    except ImportError:
        raise UsbDeviceError(
            "physical USB devices need python-libusb1: pip install 'spice-session[usb]'"
        ) from None
    return usb1


@dataclass(frozen=True)
class PhysicalInfo(DeviceInfo):
    """What a physical device tells the guest: every interface and endpoint of its active
    configuration (the base class describes one interface)."""

    all_interfaces: tuple[Interface, ...] = ()
    #: (endpoint, interface number) of each endpoint.
    owners: tuple[tuple[int, int], ...] = ()

    def interface_packet(self) -> InterfaceInfo:
        return InterfaceInfo(self.all_interfaces)

    def ep_packet(self) -> EpInfo:
        slots = [Endpoint() for _ in range(SLOTS)]
        for ep0 in (0x00, 0x80):
            slots[ep_index(ep0)] = Endpoint(EpType.CONTROL, 0, 0, self.max_packet_size0)
        owner = dict(self.owners)
        for e in self.endpoints:
            slots[ep_index(e.address)] = Endpoint(e.type, e.interval, owner[e.address], e.max_packet_size)
        return EpInfo(tuple(slots))

    def interfaces(self) -> tuple[tuple[int, int, int], ...]:
        return tuple((i.cls, i.subclass, i.protocol) for i in self.all_interfaces)


@dataclass
class LibusbDevice(VirtualDevice):
    """A real device behind libusb; every request goes to it."""

    handle: Any = None
    #: The libusb context :func:`open_usb_device` opened for it (closed with it).
    context: Any = None
    poll_timeout_ms: int = POLL_TIMEOUT_MS
    claimed: list[int] = field(default_factory=list)
    _alts: dict[int, int] = field(default_factory=dict)
    blocking: ClassVar[bool] = True
    iso: ClassVar[bool] = False  # isochronous transfers are not forwarded (yet)

    # -------------------------------------------------------------- control
    def control(self, setup: Setup, data: bytes) -> tuple[Status, bytes]:
        usb1 = _usb1()
        try:
            if setup.is_in:
                got = self.handle.controlRead(
                    setup.requesttype, setup.request, setup.value, setup.index, setup.length,
                    timeout=TRANSFER_TIMEOUT_MS,
                )  # fmt: skip
                return Status.SUCCESS, bytes(got)
            self.handle.controlWrite(
                setup.requesttype, setup.request, setup.value, setup.index, data, timeout=TRANSFER_TIMEOUT_MS
            )
            return Status.SUCCESS, b""
        except usb1.USBError as exc:
            return _status(usb1, exc), b""

    def set_configuration(self, configuration: int) -> Status:
        """Set it only when it changes (a configured device keeps its state, as usbredirhost does)."""
        usb1 = _usb1()
        try:
            if self.handle.getConfiguration() != configuration:
                self._release()
                self.handle.setConfiguration(configuration)
                self._claim()
        except usb1.USBError as exc:
            return _status(usb1, exc)
        self.configuration = configuration
        return Status.SUCCESS

    def set_alt_setting(self, interface: int, alt: int) -> Status:
        if interface not in self.claimed:
            return Status.INVAL
        usb1 = _usb1()
        try:
            if self._alts.get(interface, 0) != alt:
                self.handle.setInterfaceAltSetting(interface, alt)
        except usb1.USBError as exc:
            return _status(usb1, exc)
        self._alts[interface] = alt
        return Status.SUCCESS

    def get_alt_setting(self, interface: int) -> int | None:
        return self._alts.get(interface, 0) if interface in self.claimed else None

    def reset(self) -> None:
        super().reset()
        usb1 = _usb1()
        try:
            self.handle.resetDevice()
        except usb1.USBError:
            pass  # the guest sees the device's next transfers fail
        self._alts.clear()

    def clear_halt(self, endpoint: int) -> None:
        usb1 = _usb1()
        try:
            self.handle.clearHalt(endpoint)
        except usb1.USBError:
            pass

    def standard_request(self, setup: Setup) -> tuple[Status, bytes]:  # pragma: no cover
        raise AssertionError("control() forwards every request")

    # ------------------------------------------------------- bulk, interrupt
    def bulk_out(self, endpoint: int, data: bytes) -> Status:
        return self._write(self.handle.bulkWrite, endpoint, data)

    def bulk_in(self, endpoint: int, length: int) -> tuple[Status, bytes] | None:
        if length > MAX_BULK_IN:
            return Status.INVAL, b""
        return self._read(self.handle.bulkRead, endpoint, length)

    def interrupt_in(self, endpoint: int) -> bytes | None:
        size = next((e.max_packet_size for e in self.info.endpoints if e.address == endpoint), 0)
        got = self._read(self.handle.interruptRead, endpoint, size)
        return None if got is None or got[0] != Status.SUCCESS else got[1]

    def interrupt_out(self, endpoint: int, data: bytes) -> Status:
        return self._write(self.handle.interruptWrite, endpoint, data)

    def _write(self, call: Any, endpoint: int, data: bytes) -> Status:
        usb1 = _usb1()
        try:
            call(endpoint, data, timeout=TRANSFER_TIMEOUT_MS)
        except usb1.USBError as exc:
            return _status(usb1, exc)
        return Status.SUCCESS

    def _read(self, call: Any, endpoint: int, length: int) -> tuple[Status, bytes] | None:
        """Data, or ``None`` when nothing came within the poll timeout (the IN stays held)."""
        usb1 = _usb1()
        try:
            return Status.SUCCESS, bytes(call(endpoint, length, timeout=self.poll_timeout_ms))
        except usb1.USBErrorTimeout as exc:
            received = bytes(getattr(exc, "received", b""))
            return (Status.SUCCESS, received) if received else None
        except usb1.USBError as exc:
            return _status(usb1, exc), b""

    # ---------------------------------------------------------------- claim
    def _claim(self) -> None:
        for number in sorted({i.number for i in self._info().all_interfaces}):
            self.handle.claimInterface(number)
            self.claimed.append(number)

    def _release(self) -> None:
        usb1 = _usb1()
        while self.claimed:
            try:
                self.handle.releaseInterface(self.claimed.pop())
            except usb1.USBError:
                pass

    def _info(self) -> PhysicalInfo:
        assert isinstance(self.info, PhysicalInfo)
        return self.info

    def close(self) -> None:
        """Release the interfaces (kernel drivers are reattached by libusb) and close."""
        if self.handle is not None:
            self._release()
            self.handle.close()
            self.handle = None
        if self.context is not None:
            self.context.close()
            self.context = None


def _status(usb1: Any, exc: Exception) -> Status:
    if isinstance(exc, usb1.USBErrorPipe):
        return Status.STALL
    if isinstance(exc, usb1.USBErrorTimeout):
        return Status.TIMEOUT
    if isinstance(exc, usb1.USBErrorOverflow):
        return Status.BABBLE
    if isinstance(exc, usb1.USBErrorInvalidParam):
        return Status.INVAL
    return Status.IOERROR


def _physical_info(device: Any) -> PhysicalInfo:
    """The device's identity and the interfaces / endpoints of its first configuration."""
    ids = f"{device.getVendorID():04x}:{device.getProductID():04x}"
    config = next(iter(device), None)
    if config is None:
        raise UsbDeviceError(f"USB device {ids} has no configuration")
    interfaces: list[Interface] = []
    endpoints: list[EndpointInfo] = []
    owners: list[tuple[int, int]] = []
    for iface in config:
        for alt in iface:
            if alt.getAlternateSetting() == 0:
                interfaces.append(
                    Interface(alt.getNumber(), alt.getClass(), alt.getSubClass(), alt.getProtocol())
                )
                for ep in alt:
                    address = ep.getAddress()
                    endpoints.append(
                        EndpointInfo(
                            address, EpType(ep.getAttributes() & 3), ep.getMaxPacketSize(), ep.getInterval()
                        )
                    )
                    owners.append((address, alt.getNumber()))
    first = interfaces[0] if interfaces else Interface(0, 0, 0, 0)
    # (no string descriptors: reading them is traffic the guest did not ask for)
    return PhysicalInfo(
        vendor_id=device.getVendorID(),
        product_id=device.getProductID(),
        device_version_bcd=device.getbcdDevice(),
        manufacturer="",
        product=f"USB device {ids}",
        serial="",
        interface_class=first.cls,
        interface_subclass=first.subclass,
        interface_protocol=first.protocol,
        endpoints=tuple(endpoints),
        speed=_SPEEDS.get(device.getDeviceSpeed(), Speed.UNKNOWN),
        max_packet_size0=device.getMaxPacketSize0(),
        device_class=device.getDeviceClass(),
        device_subclass=device.getDeviceSubClass(),
        device_protocol=device.getDeviceProtocol(),
        all_interfaces=tuple(interfaces),
        owners=tuple(owners),
    )


def open_usb_device(vendor_id: int, product_id: int, *, context: Any = None) -> LibusbDevice:
    """Open and claim the first device with these ids; :class:`UsbDeviceError` if there is
    none or it cannot be claimed.  ``close()`` it when done (after detaching it)."""
    usb1 = _usb1()
    ids = f"{vendor_id:04x}:{product_id:04x}"
    own = context is None
    ctx = usb1.USBContext().open() if own else context
    try:
        return _open(usb1, ctx, vendor_id, product_id, ids, own)
    except BaseException:
        if own:
            ctx.close()
        raise


def _open(usb1: Any, ctx: Any, vendor_id: int, product_id: int, ids: str, own: bool) -> LibusbDevice:
    found = None
    for device in ctx.getDeviceIterator(skip_on_error=True):
        if (device.getVendorID(), device.getProductID()) == (vendor_id, product_id):
            found = device
            break
    if found is None:
        raise UsbDeviceError(f"no USB device {ids}")
    try:
        info = _physical_info(found)
        handle = found.open()
    except usb1.USBError as exc:
        raise UsbDeviceError(f"USB device {ids}: cannot open it ({exc})") from None
    try:
        handle.setAutoDetachKernelDriver(True)
    except usb1.USBError:
        pass  # platforms without kernel drivers to detach
    device = LibusbDevice(info, handle=handle, context=ctx if own else None)
    try:
        device.configuration = handle.getConfiguration()
        try:
            device._claim()
        except usb1.USBErrorOther:
            # no detach-and-claim here (an emulated usbfs, an old kernel): claim plainly,
            # which fails with BUSY if a kernel driver still holds an interface
            device._release()
            handle.setAutoDetachKernelDriver(False)
            device._claim()
    except usb1.USBError as exc:
        device.handle, device.context = None, None  # closed below
        handle.close()
        raise UsbDeviceError(f"USB device {ids}: cannot claim it ({exc})") from None
    return device
