"""Virtual USB HID devices: a boot keyboard and a boot mouse, sans-I/O.

Each has one interface (class 3, boot subclass) with a HID descriptor, a report
descriptor, the HID class requests (GET/SET_REPORT, GET/SET_IDLE, GET/SET_PROTOCOL) and
an interrupt IN endpoint whose reports queue until the usbredir host sends them.  The
keyboard also has an interrupt OUT endpoint for the LED output report (SET_REPORT works
too).  Reports follow the HID 1.11 boot formats, so a BIOS or a boot-protocol driver
reads them as well.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from spice_proto.usbredir import EpType, Speed, Status

from ._usb_device import DeviceInfo, EndpointInfo, Setup, VirtualDevice
from ._usbredir import UsbRedirError

__all__ = ["HID_EP_IN", "HID_EP_OUT", "HidDevice", "HidKeyboard", "HidMouse", "usb_keyboard", "usb_mouse"]

HID_EP_IN, HID_EP_OUT = 0x81, 0x02
_GET_DESCRIPTOR = 6
_DESC_HID, _DESC_REPORT = 0x21, 0x22
_GET_REPORT, _GET_IDLE, _GET_PROTOCOL = 0x01, 0x02, 0x03
_SET_REPORT, _SET_IDLE, _SET_PROTOCOL = 0x09, 0x0A, 0x0B
_INPUT, _OUTPUT = 1, 2
#: Reports held for the guest before the oldest is dropped (the guest is not reading).
MAX_QUEUED = 4096

# HID 1.11 appendix B.1: the boot keyboard (8 modifier bits, a reserved byte, 6 key slots;
# 5 LED bits out).
KEYBOARD_REPORT_DESCRIPTOR = bytes.fromhex(
    "05010906a101"  # Usage Page (Generic Desktop), Usage (Keyboard), Collection (Application)
    "050719e029e71500250175019508"  # Usage Page (Keys), modifiers E0-E7: 8 x 1 bit
    "8102"  # Input (Data, Var, Abs)
    "950175088101"  # 1 x 8 bit: reserved (Constant)
    "950575010508190129059102950175039101"  # 5 LEDs out, 3 bits pad
    "95067508150025650507190029658100"  # 6 keys, usages 0-101
    "c0"
)
# HID 1.11 appendix B.2 plus a wheel: 3 buttons, 5 bits pad, X, Y, wheel (relative, -127..127).
MOUSE_REPORT_DESCRIPTOR = bytes.fromhex(
    "05010902a1010901a100"  # Generic Desktop, Mouse, Collection (Application), Pointer, (Physical)
    "05091901290315002501950375018102"  # Buttons 1-3
    "950175058101"  # 5 bits pad
    "05010930093109381581257f750895038106"  # X, Y, Wheel: 3 x int8, relative
    "c0c0"
)
_MODIFIERS = range(0xE0, 0xE8)


def _hid_descriptor(report_descriptor: bytes) -> bytes:
    """The class descriptor of HID 1.11 section 6.2.1: one report descriptor."""
    return struct.pack("<BBHBBBH", 9, _DESC_HID, 0x0111, 0, 1, _DESC_REPORT, len(report_descriptor))


@dataclass
class HidDevice(VirtualDevice):
    """A HID device with one input report on :data:`HID_EP_IN`; subclasses build the reports."""

    report_descriptor: bytes = b""
    #: 0 boot protocol, 1 report protocol (the default after reset, HID 1.11 section 7.2.6).
    protocol: int = 1
    #: SET_IDLE's duration (4 ms units) the guest asked for.
    idle: int = 0
    _queue: deque[bytes] = field(default_factory=deque)

    def standard_request(self, setup: Setup) -> tuple[Status, bytes]:
        if setup.request == _GET_DESCRIPTOR and setup.requesttype == 0x81 and setup.index == 0:
            kind = setup.value >> 8
            if kind == _DESC_HID:
                return Status.SUCCESS, _hid_descriptor(self.report_descriptor)
            if kind == _DESC_REPORT:
                return Status.SUCCESS, self.report_descriptor
        return super().standard_request(setup)

    def class_request(self, setup: Setup, data: bytes) -> tuple[Status, bytes]:
        if setup.requesttype & 0x1F != 1 or setup.index & 0xFF != 0:
            return Status.STALL, b""
        kind = setup.value >> 8
        if setup.request == _GET_REPORT and setup.is_in and kind == _INPUT:
            return Status.SUCCESS, self.report()
        if setup.request == _SET_REPORT and not setup.is_in and kind == _OUTPUT:
            return self.output_report(data), b""
        if setup.request == _GET_IDLE and setup.is_in:
            return Status.SUCCESS, bytes([self.idle])
        if setup.request == _SET_IDLE and not setup.is_in:
            self.idle = setup.value >> 8
            return Status.SUCCESS, b""
        if setup.request == _GET_PROTOCOL and setup.is_in:
            return Status.SUCCESS, bytes([self.protocol])
        if setup.request == _SET_PROTOCOL and not setup.is_in and setup.value in (0, 1):
            self.protocol = setup.value
            return Status.SUCCESS, b""
        return Status.STALL, b""

    def reset(self) -> None:
        super().reset()
        self.protocol, self.idle = 1, 0

    # ------------------------------------------------------------- reports
    def report(self) -> bytes:
        """The current input report (in the current protocol's format)."""
        raise NotImplementedError

    def output_report(self, data: bytes) -> Status:
        return Status.STALL

    def queue_report(self) -> None:
        """Queue the current input report for the interrupt IN endpoint."""
        if len(self._queue) >= MAX_QUEUED:
            self._queue.popleft()
        self._queue.append(self.report())

    @property
    def queued(self) -> int:
        return len(self._queue)

    def interrupt_in(self, endpoint: int) -> bytes | None:
        if endpoint != HID_EP_IN or not self._queue:
            return None
        return self._queue.popleft()

    def interrupt_out(self, endpoint: int, data: bytes) -> Status:
        if self.endpoint_type(endpoint) != EpType.INTERRUPT or endpoint & 0x80:
            return Status.STALL
        return self.output_report(data)


@dataclass
class HidKeyboard(HidDevice):
    """A boot keyboard: :meth:`press` / :meth:`release` HID usages (page 7), ``leds`` as set
    by the guest (bit 0 Num Lock, 1 Caps Lock, 2 Scroll Lock)."""

    leds: int = 0
    #: Every LED byte the guest sent, in order.
    led_reports: deque[int] = field(default_factory=lambda: deque(maxlen=1024))  # the newest
    _down: list[int] = field(default_factory=list)

    def press(self, *usages: int) -> None:
        """Press keys (one report per key, as a person would)."""
        for usage in usages:
            _check_usage(usage)
            if usage not in self._down:
                self._down.append(usage)
                self.queue_report()

    def release(self, *usages: int) -> None:
        for usage in usages:
            if usage in self._down:
                self._down.remove(usage)
                self.queue_report()

    def tap(self, usages: Iterable[int]) -> None:
        """Press and release each key in turn."""
        for usage in usages:
            self.press(usage)
            self.release(usage)

    def report(self) -> bytes:
        mods = sum(1 << (u - 0xE0) for u in self._down if u in _MODIFIERS)
        keys = [u for u in self._down if u not in _MODIFIERS]
        if len(keys) > 6:  # rollover error: every slot ErrorRollOver
            keys = [1] * 6
        return bytes([mods, 0, *keys, *([0] * (6 - len(keys)))])

    def output_report(self, data: bytes) -> Status:
        if len(data) != 1:
            return Status.STALL
        self.leds = data[0] & 0x1F
        self.led_reports.append(self.leds)
        return Status.SUCCESS

    def reset(self) -> None:
        super().reset()
        self._down.clear()


@dataclass
class HidMouse(HidDevice):
    """A boot mouse with a wheel: :meth:`move`, :meth:`scroll`, :meth:`buttons` (bit 0 left,
    1 right, 2 middle)."""

    button_mask: int = 0
    _motion: tuple[int, int, int] = (0, 0, 0)

    def move(self, dx: int, dy: int) -> None:
        """Relative motion, split into reports of at most 127 counts per axis."""
        while dx or dy:
            sx, sy = _clamp(dx), _clamp(dy)
            self._report_motion(sx, sy, 0)
            dx, dy = dx - sx, dy - sy

    def scroll(self, clicks: int) -> None:
        """Wheel clicks (positive: away from the user)."""
        while clicks:
            step = _clamp(clicks)
            self._report_motion(0, 0, step)
            clicks -= step

    def buttons(self, mask: int) -> None:
        if not 0 <= mask <= 7:
            raise ValueError(f"mouse button mask {mask} outside 0..7")
        self.button_mask = mask
        self.queue_report()

    def _report_motion(self, dx: int, dy: int, wheel: int) -> None:
        self._motion = (dx, dy, wheel)
        self.queue_report()
        self._motion = (0, 0, 0)

    def report(self) -> bytes:
        dx, dy, wheel = self._motion
        raw = struct.pack("<Bbbb", self.button_mask, dx, dy, wheel)
        return raw if self.protocol == 1 else raw[:3]

    def reset(self) -> None:
        super().reset()
        self.button_mask = 0


def _clamp(v: int) -> int:
    return max(-127, min(127, v))


def _check_usage(usage: int) -> None:
    if not (4 <= usage <= 0x65 or usage in _MODIFIERS):
        raise UsbRedirError(f"HID usage {usage:#04x} is not a key the boot keyboard reports")


def _hid_info(product: str, product_id: int, protocol: int, descriptor: bytes, out: bool) -> DeviceInfo:
    endpoints = [EndpointInfo(HID_EP_IN, EpType.INTERRUPT, 8, 10)]
    if out:
        endpoints.append(EndpointInfo(HID_EP_OUT, EpType.INTERRUPT, 8, 10))
    return DeviceInfo(
        vendor_id=0x1D6B,  # placeholder vendor: Linux Foundation
        product_id=product_id,
        device_version_bcd=0x0100,
        manufacturer="spice-python",
        product=product,
        serial=f"SPICEPY-HID{protocol}",
        interface_class=0x03,  # HID
        interface_subclass=0x01,  # boot interface
        interface_protocol=protocol,  # 1 keyboard, 2 mouse
        endpoints=tuple(endpoints),
        speed=Speed.FULL,
        max_packet_size0=8,
        class_descriptors=_hid_descriptor(descriptor),
    )


def usb_keyboard() -> HidKeyboard:
    """A USB boot keyboard (interrupt IN for keys, interrupt OUT for the LEDs)."""
    info = _hid_info("Python USB keyboard", 0x0D21, 1, KEYBOARD_REPORT_DESCRIPTOR, out=True)
    return HidKeyboard(info, report_descriptor=KEYBOARD_REPORT_DESCRIPTOR)


def usb_mouse() -> HidMouse:
    """A USB boot mouse with three buttons and a wheel (relative motion)."""
    info = _hid_info("Python USB mouse", 0x0D22, 2, MOUSE_REPORT_DESCRIPTOR, out=False)
    return HidMouse(info, report_descriptor=MOUSE_REPORT_DESCRIPTOR)
