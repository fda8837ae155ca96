"""``spice do`` USB actions: ``usb-attach PATH[,ro]`` plugs a disk image (an ``.iso``: a CD-ROM)
and ``usb-attach --device VID:PID`` a physical device (libusb: ``spice-session[usb]``) into
the guest until ``usb-detach`` (the last one attached) or the end of the run."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import spice_session
import trio
from spice_session import Session, SessionError, VVFile, lowlevel

from ._run import UsageError

if TYPE_CHECKING:  # spice_session loads its USB modules when one of these is first used
    from spice_session.lowlevel import LibusbDevice, MassStorage

__all__ = [
    "USB_CONFIGURE_TIMEOUT",
    "UsbDeviceId",
    "UsbPolicy",
    "UsbSlots",
    "attach_all",
    "device_option",
    "parse_usb_spec",
    "usb_option",
]

#: Seconds the guest gets to configure an attached device.
USB_CONFIGURE_TIMEOUT = 60.0


@dataclass(frozen=True)
class UsbDeviceId:
    """A physical device to attach, by vendor and product id."""

    vendor_id: int
    product_id: int

    def __str__(self) -> str:
        return f"{self.vendor_id:04x}:{self.product_id:04x}"


def _device_id(name: str, text: str) -> UsbDeviceId:
    try:
        return UsbDeviceId(*lowlevel.parse_device_id(text))
    except lowlevel.UsbDeviceError as exc:
        raise UsageError(f"{name}: {exc}") from None


def parse_usb_spec(name: str, words: list[str]) -> tuple[object, ...]:
    """``PATH`` or ``PATH,ro``: (path, read-only); ``--device VID:PID``: (device id, False)."""
    if words[0] == "--device":
        if len(words) < 2:
            raise UsageError(f"{name}: --device needs VID:PID")
        return (_device_id(name, words[1]), False)
    path, _, flag = words[0].rpartition(",") if words[0].endswith(",ro") else (words[0], "", "")
    if not path:
        raise UsageError(f"{name}: expected PATH[,ro], got {words[0]!r}")
    return (path, flag == "ro")


def usb_option(value: str) -> tuple[str, bool]:
    """argparse type of ``--usb-disk IMG[,ro]``."""
    path, readonly = parse_usb_spec("--usb-disk", [value])
    return str(path), bool(readonly)


def device_option(value: str) -> UsbDeviceId:
    """argparse type of ``--usb-device VID:PID``."""
    return _device_id("--usb-device", value)


async def _open_physical(device_id: UsbDeviceId) -> LibusbDevice:
    """Open and claim a physical device (libusb calls block: in a worker thread)."""
    return await trio.to_thread.run_sync(lowlevel.open_usb_device, device_id.vendor_id, device_id.product_id)


async def _close_physical(device: LibusbDevice) -> None:
    """Release and close it in a worker thread (libusb calls block), even in a cancelled scope."""
    with trio.CancelScope(shield=True):
        await trio.to_thread.run_sync(device.close)


@dataclass(frozen=True)
class UsbPolicy:
    """What a .vv file allows: USB redirection at all (``enable-usbredir=0``: none), devices
    attached at connection (``enable-usb-autoshare=0``: not), and which (``usb-filter``)."""

    enabled: bool = True
    autoshare: bool = True
    filter: str | None = None

    @classmethod
    def of(cls, vv: VVFile | None) -> UsbPolicy:
        """A file's policy (keys not given: allowed); no file: everything allowed."""
        if vv is None:
            return cls()
        return cls(vv.enable_usbredir is not False, vv.enable_usb_autoshare is not False, vv.usb_filter)

    def refusal(self, *, automatic: bool) -> str | None:
        """Why no device may be attached (``automatic``: at connection, unasked), or ``None``."""
        if not self.enabled:
            return "the .vv file turns USB redirection off (enable-usbredir=0)"
        if automatic and not self.autoshare:
            return "the .vv file turns USB auto-sharing off (enable-usb-autoshare=0)"
        return None


async def attach_all(
    stack: AsyncExitStack,
    session: Session,
    disks: list[tuple[str, bool]],
    cdroms: list[str],
    err: TextIO,
    policy: UsbPolicy = UsbPolicy(),
    devices: list[UsbDeviceId] | None = None,
) -> None:
    """Plug ``spice view``'s devices in for the life of ``stack``; a failure is a note, not an exit.

    ``policy`` (a ``.vv`` file's USB keys) may forbid them all, or its ``usb-filter`` some.
    ``devices`` are physical devices (libusb), closed when ``stack`` ends.
    """
    wanted: list[tuple[str | UsbDeviceId, bool, bool]] = [(path, readonly, False) for path, readonly in disks]
    wanted += [(path, True, True) for path in cdroms] + [(d, False, False) for d in devices or []]
    refusal = policy.refusal(automatic=True)
    for target, readonly, cdrom in wanted:
        if refusal is not None:
            print(f"spice view: {target} not attached: {refusal}", file=err, flush=True)
            continue
        try:
            if isinstance(target, UsbDeviceId):
                physical = await _open_physical(target)
                stack.push_async_callback(_close_physical, physical)
                device: MassStorage | LibusbDevice = physical
            else:
                device = (
                    spice_session.usb_cdrom(target)
                    if cdrom
                    else spice_session.usb_disk(target, readonly=readonly)
                )
            await stack.enter_async_context(session.usb.attach(device, filter=policy.filter))
        except (SessionError, OSError, ValueError) as exc:
            print(f"spice view: {target} not attached: {exc}", file=err, flush=True)
        else:
            print(f"spice view: {target} attached", file=err, flush=True)


def _device(path: str, readonly: bool) -> MassStorage:
    if not Path(path).is_file():
        raise UsageError(f"usb-attach: {path} is not a readable file")
    try:
        if path.lower().endswith(".iso"):
            return spice_session.usb_cdrom(path)
        return spice_session.usb_disk(path, readonly=readonly)
    except (OSError, ValueError) as exc:
        raise UsageError(f"usb-attach: {path}: {exc}") from None


class UsbSlots:
    """The devices ``spice do`` attached, detached last-in first-out."""

    def __init__(self, session: Session, out: TextIO, policy: UsbPolicy = UsbPolicy()) -> None:
        self.session = session
        self.out = out
        self.policy = policy
        self._stacks: list[tuple[str, AsyncExitStack]] = []

    async def attach(self, target: str | UsbDeviceId, readonly: bool) -> None:
        """Attach an image (``PATH``) or a physical device (:class:`UsbDeviceId`)."""
        path = str(target)
        refusal = self.policy.refusal(automatic=False)
        if refusal is not None:
            raise UsageError(f"usb-attach: {path}: {refusal}")
        stack = AsyncExitStack()
        try:
            if isinstance(target, UsbDeviceId):
                physical = await _open_physical(target)
                stack.push_async_callback(_close_physical, physical)
                device: MassStorage | LibusbDevice = physical
                kind = "physical device"
            else:
                device = _device(path, readonly)
                kind = "CD-ROM" if path.lower().endswith(".iso") else "read-only disk" if readonly else "disk"
            attached = await stack.enter_async_context(
                self.session.usb.attach(device, filter=self.policy.filter)
            )
            await attached.wait_configured(USB_CONFIGURE_TIMEOUT)
        except BaseException:
            await stack.aclose()
            raise
        self._stacks.append((path, stack))
        print(f"usb: {path} attached as a {kind}", file=self.out, flush=True)

    async def detach(self) -> None:
        if not self._stacks:
            raise UsageError("usb-detach: no USB device is attached")
        path, stack = self._stacks.pop()
        await stack.aclose()
        print(f"usb: {path} detached", file=self.out, flush=True)

    async def aclose(self) -> None:
        while self._stacks:
            await self.detach()
