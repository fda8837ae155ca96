"""Video frames shown from shared memory the X server reads (MIT-SHM), without a copy of ours.

Without this, a decoded frame is copied into SDL's window framebuffer, and SDL has the X
server copy that rectangle from the framebuffer's shared memory.  Here the session's MJPEG
decoder writes the frame into a System V shared memory segment the X server has attached
(:meth:`XShmFrames.allocate`, handed to the session as its ``frame_buffers``), and the
window has the server copy the frame from there (:meth:`XShmFrames.put`): one copy of
~1.2 MB a 640x480 frame less, about a tenth of ``spice view``'s CPU on a video stream.

A segment is lent as a numpy array over a ctypes array made for the loan; every view of
the frame keeps that ctypes array alive, and a finalizer on it gives the segment back to
the pool when nothing refers to the frame any more.  A segment is written again only then,
and only after the X server finished reading it.  A put does not wait for the server (SDL's
own update does, as it writes the same memory next): the pool hands out the segment given
back longest ago, keeps a few spare ones, and waits for the server (``XSync``) only when the
segment it hands out was put after the last wait, about once every :data:`SPARE` frames.

Only where the window's visual is 24-bit True- or DirectColor with the BGRX layout the decoder writes,
and the X server can attach our segments (a local display); otherwise :func:`open_xshm` says
``None`` and frames take the usual way.  ``SPICE_VIEW_XSHM=0`` turns it off.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = ["XShmFrames", "open_xshm"]

#: Segments kept at most, lent or free, and their bytes at most.
MAX_SEGMENTS = 24
MAX_BYTES = 128 << 20
#: Free segments of a size kept ahead of reuse (room allowing), so that the X server has
#: long read one before it is written again, and one wait for it covers several.
SPARE = 4

_IPC_PRIVATE, _IPC_CREAT, _IPC_RMID = 0, 0o1000, 0
_ZPIXMAP, _LSB_FIRST, _TRUE_COLOR, _DIRECT_COLOR = 2, 0, 4, 5


class _ShmSegmentInfo(ctypes.Structure):
    _fields_ = [
        ("shmseg", ctypes.c_ulong),
        ("shmid", ctypes.c_int),
        ("shmaddr", ctypes.c_void_p),
        ("readOnly", ctypes.c_int),
    ]


class _Visual(ctypes.Structure):
    _fields_ = [
        ("ext_data", ctypes.c_void_p),
        ("visualid", ctypes.c_ulong),
        ("class_", ctypes.c_int),
        ("red_mask", ctypes.c_ulong),
        ("green_mask", ctypes.c_ulong),
        ("blue_mask", ctypes.c_ulong),
        ("bits_per_rgb", ctypes.c_int),
        ("map_entries", ctypes.c_int),
    ]


class _WindowAttributes(ctypes.Structure):
    _fields_ = [
        ("x", ctypes.c_int),
        ("y", ctypes.c_int),
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("border_width", ctypes.c_int),
        ("depth", ctypes.c_int),
        ("visual", ctypes.POINTER(_Visual)),
        ("root", ctypes.c_ulong),
        ("class_", ctypes.c_int),
        ("bit_gravity", ctypes.c_int),
        ("win_gravity", ctypes.c_int),
        ("backing_store", ctypes.c_int),
        ("backing_planes", ctypes.c_ulong),
        ("backing_pixel", ctypes.c_ulong),
        ("save_under", ctypes.c_int),
        ("colormap", ctypes.c_ulong),
        ("map_installed", ctypes.c_int),
        ("map_state", ctypes.c_int),
        ("all_event_masks", ctypes.c_long),
        ("your_event_mask", ctypes.c_long),
        ("do_not_propagate_mask", ctypes.c_long),
        ("override_redirect", ctypes.c_int),
        ("screen", ctypes.c_void_p),
    ]


class _Image(ctypes.Structure):
    """The leading fields of Xlib's ``XImage`` (only read here)."""

    _fields_ = [
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("xoffset", ctypes.c_int),
        ("format", ctypes.c_int),
        ("data", ctypes.c_void_p),
        ("byte_order", ctypes.c_int),
        ("bitmap_unit", ctypes.c_int),
        ("bitmap_bit_order", ctypes.c_int),
        ("bitmap_pad", ctypes.c_int),
        ("depth", ctypes.c_int),
        ("bytes_per_line", ctypes.c_int),
        ("bits_per_pixel", ctypes.c_int),
    ]


class _ErrorEvent(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("resourceid", ctypes.c_ulong),
        ("serial", ctypes.c_ulong),
        ("error_code", ctypes.c_ubyte),
        ("request_code", ctypes.c_ubyte),
        ("minor_code", ctypes.c_ubyte),
    ]


_ERROR_HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(_ErrorEvent))


class _Libs:
    """libc's System V shared memory calls, Xlib's and the MIT-SHM extension's."""

    def __init__(self) -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        x11 = ctypes.CDLL("libX11.so.6")
        xext = ctypes.CDLL("libXext.so.6")
        vp, ul, i = ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int
        info = ctypes.POINTER(_ShmSegmentInfo)

        def bind(lib: ctypes.CDLL, name: str, restype: object, *argtypes: object) -> None:
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = restype, list(argtypes)
            setattr(self, name, fn)

        bind(libc, "shmget", i, i, ctypes.c_size_t, i)
        bind(libc, "shmat", vp, i, vp, i)
        bind(libc, "shmdt", i, vp)
        bind(libc, "shmctl", i, i, i, vp)
        bind(x11, "XGetWindowAttributes", i, vp, ul, ctypes.POINTER(_WindowAttributes))
        bind(x11, "XCreateGC", vp, vp, ul, ul, vp)
        bind(x11, "XFreeGC", i, vp, vp)
        bind(x11, "XSync", i, vp, i)
        bind(x11, "XFlush", i, vp)
        bind(x11, "XNextRequest", ul, vp)
        bind(x11, "XFree", i, vp)
        bind(x11, "XSetErrorHandler", vp, vp)
        bind(x11, "XQueryExtension", i, vp, ctypes.c_char_p, *[ctypes.POINTER(ctypes.c_int)] * 3)
        bind(xext, "XShmQueryExtension", i, vp)
        bind(
            xext,
            "XShmCreateImage",
            ctypes.POINTER(_Image),
            vp,
            ctypes.POINTER(_Visual),
            ctypes.c_uint,
            i,
            vp,
            info,
            ctypes.c_uint,
            ctypes.c_uint,
        )
        bind(xext, "XShmAttach", i, vp, info)
        bind(xext, "XShmDetach", i, vp, info)
        bind(
            xext,
            "XShmPutImage",
            i,
            vp,
            ul,
            vp,
            ctypes.POINTER(_Image),
            i,
            i,
            i,
            i,
            ctypes.c_uint,
            ctypes.c_uint,
            i,
        )


@dataclass(eq=False)
class _Segment:
    """One shared memory segment the X server attached, with the image that describes it."""

    width: int
    height: int
    size: int
    address: int
    info: _ShmSegmentInfo
    image: ctypes._Pointer[_Image]
    #: The ctypes array type of its size (a loan is one of these over its memory).
    loan_type: type[ctypes.Array[ctypes.c_uint8]]
    #: The pool's free segments, where it goes back when its frame is gone.
    free: list[_Segment]
    #: A frame lent from it is alive (its memory must not be written).
    lent: bool = field(default=False)
    #: The loan's weak reference, whose callback gives the segment back.
    loan: weakref.ref[ctypes.Array[ctypes.c_uint8]] | None = field(default=None)
    #: Set when the pool closed while the frame was lent: unmaps the memory when it comes back.
    unmap: Callable[[int], object] | None = field(default=None)
    #: The X request number of its last put (0: never put).
    put_request: int = field(default=0)
    #: The flat array under its last loan (the ``base`` of the frame lent and of every view of
    #: it, a decoder's output say), and that array's ``id`` (its key in ``XShmFrames._by_frame``).
    frame: weakref.ref[npt.NDArray[np.uint8]] | None = field(default=None)
    frame_id: int = field(default=0)

    def returned(self, _loan: object) -> None:
        """Nothing refers to the frame lent from it any more."""
        self.lent = False
        self.loan = None
        if self.unmap is not None:  # the pool is closed (the X server let go of it then)
            self.unmap(self.address)
            self.unmap = None
        else:
            self.free.append(self)


class XShmFrames:
    """Frame buffers in shared memory, and the puts that show them in one X window.

    Use :func:`open_xshm`.  Every call on the thread that runs SDL (it shares SDL's display
    connection)."""

    def __init__(
        self, libs: _Libs, display: int, window: int, visual: ctypes._Pointer[_Visual], depth: int, major: int
    ) -> None:
        self._libs = libs
        #: MIT-SHM's major opcode (the request code of its errors).
        self._major = major
        self._display = ctypes.c_void_p(display)
        self._window = window
        self._visual = visual
        self._depth = depth
        self._gc = libs.XCreateGC(self._display, window, 0, None)  # type: ignore[attr-defined]
        #: Segments by address (where a frame's memory starts).
        self._segments: dict[int, _Segment] = {}
        #: Segments by the ``id`` of the flat array under their last loan.
        self._by_frame: dict[int, _Segment] = {}
        #: Segments whose frames are gone (latest last).
        self._free: list[_Segment] = []
        #: Every X request numbered below this one was done by the server at the last XSync.
        self._synced_before = 0
        #: A spare segment was refused: none is made from then on.
        self._no_spares = False
        self._bytes = 0
        #: Closed, or a segment could not be made: allocate says None from then on.
        self._off = not self._gc
        #: Frames shown by :meth:`put`, and the waits for the X server before a segment was
        #: written again (for tests and benchmarks).
        self.puts = 0
        self.waits = 0
        #: Let free segments go as they come back (see :meth:`trim`), until frames are asked for.
        self.trimming = False

    # ------------------------------------------------------------------ buffers
    def allocate(self, height: int, width: int) -> npt.NDArray[np.uint8] | None:
        """A (height, width, 4) frame in a free segment (made if there is room); ``None``
        when there is none to be had.  A :class:`~spice_session.lowlevel.FrameBuffers`."""
        if self._off or height <= 0 or width <= 0:
            return None
        self.trimming = False
        free = self._free
        found: _Segment | None = None
        of_size = 0
        for candidate in free:  # (the one given back longest ago: put longest ago)
            if candidate.width == width and candidate.height == height:
                if found is None:
                    found = candidate
                of_size += 1
        if found is None:  # (free segments of other sizes stay, for another stream or to make room with)
            segment = self._new_segment(height, width)
            if segment is None:
                return None
        elif found.put_request < self._synced_before:  # the X server is done reading it
            segment = found
            free.remove(found)
        elif (
            of_size < SPARE and not self._no_spares and (new := self._new_segment(height, width, spare=True))
        ):
            segment = new  # (the server may still read the free ones: one more spare)
        else:
            self._sync()  # (covers every segment put so far)
            self.waits += 1
            segment = found
            free.remove(found)
        segment.lent = True
        loan = segment.loan_type.from_address(segment.address)
        segment.loan = weakref.ref(loan, segment.returned)
        flat = np.frombuffer(memoryview(loan), np.uint8)  # (the base of every view of the frame)
        self._forget_frame(segment)
        segment.frame, segment.frame_id = weakref.ref(flat), id(flat)
        self._by_frame[segment.frame_id] = segment
        return flat.reshape(height, width, 4)

    def _forget_frame(self, segment: _Segment) -> None:
        """Drop ``segment`` from :attr:`_by_frame` (its key may belong to another's array by now)."""
        if self._by_frame.get(segment.frame_id) is segment:
            del self._by_frame[segment.frame_id]
        segment.frame = None

    def segment_of(self, frame: npt.NDArray[np.uint8]) -> _Segment | None:
        """The segment ``frame`` is the whole of (as :meth:`allocate` lent it), else ``None``."""
        # The lent frame and every view of it (a decoder's output) have one flat array as their
        # ``base``: found by identity (reading the address makes numpy build a dictionary, a
        # few us once a frame).  A contiguous view of the lent frame's shape is all of it.
        base = frame.base
        segment = self._by_frame.get(id(base))
        if segment is not None and segment.frame is not None and segment.frame() is base:
            whole = frame.shape == (segment.height, segment.width, 4) and frame.flags.c_contiguous
            return segment if whole else None
        segment = self._segments.get(frame.__array_interface__["data"][0])
        if (
            segment is None
            or frame.shape != (segment.height, segment.width, 4)
            or not frame.flags.c_contiguous
        ):
            return None
        return segment

    def _new_segment(self, height: int, width: int, *, spare: bool = False) -> _Segment | None:
        """A new segment, making room by letting free ones go; ``None`` when there is no room
        or the system refuses (then no segment is made from then on).  A ``spare`` takes no
        room from other segments, and a refusal only stops spares from being made."""
        size = height * width * 4
        if size > MAX_BYTES:
            return None
        while len(self._segments) >= MAX_SEGMENTS or self._bytes + size > MAX_BYTES:
            if spare:
                return None
            # segments nobody holds make room (of other sizes: allocate found none of this one)
            free = [s for s in self._segments.values() if not s.lent]
            if not free:
                return None
            self._destroy(free[0])
        libs = self._libs
        shmid = libs.shmget(_IPC_PRIVATE, size, _IPC_CREAT | 0o600)  # type: ignore[attr-defined]
        if shmid < 0:
            self._refused(spare)
            return None
        address = libs.shmat(shmid, None, 0)  # type: ignore[attr-defined]
        if address in (None, ctypes.c_void_p(-1).value):
            libs.shmctl(shmid, _IPC_RMID, None)  # type: ignore[attr-defined]
            self._refused(spare)
            return None
        info = _ShmSegmentInfo(0, shmid, address, 0)
        image = libs.XShmCreateImage(  # type: ignore[attr-defined]
            self._display, self._visual, self._depth, _ZPIXMAP, address, ctypes.byref(info), width, height
        )
        attached = False
        if (
            image
            and image.contents.bits_per_pixel == 32
            and image.contents.bytes_per_line == width * 4
            and image.contents.byte_order == _LSB_FIRST  # (B, G, R, X in memory: the masks checked)
        ):
            attached = self._attach(info)
        # gone from the system once both sides detach (no segment left behind by a crash)
        libs.shmctl(shmid, _IPC_RMID, None)  # type: ignore[attr-defined]
        if not attached:
            if image:
                libs.XFree(image)  # type: ignore[attr-defined]
            libs.shmdt(address)  # type: ignore[attr-defined]
            self._refused(spare)
            return None
        segment = _Segment(width, height, size, address, info, image, ctypes.c_uint8 * size, self._free)
        self._segments[address] = segment
        self._bytes += size
        return segment

    def _refused(self, spare: bool) -> None:
        """The system or the X server refused a segment: no more of them (no more spares, when
        it was one: the pool's segments still work)."""
        if spare:
            self._no_spares = True
        else:
            self._off = True

    def _attach(self, info: _ShmSegmentInfo) -> bool:
        """Have the X server attach the segment; ``False`` when it refuses (a remote display,
        another IPC namespace).  Xlib's default error handler would end the process, so a
        handler of ours notes errors meanwhile."""
        libs = self._libs
        self._sync()  # (errors of earlier requests are not ours)
        failed: list[int] = []
        earlier: list[Callable[[int | None, ctypes._Pointer[_ErrorEvent]], int]] = []

        def note(display: int | None, event: ctypes._Pointer[_ErrorEvent]) -> int:
            if event.contents.request_code == self._major:
                failed.append(int(event.contents.error_code))
                return 0
            # another request's error (none expected): what handled errors before handles it
            return int(earlier[0](display, event)) if earlier else 0

        handler = _ERROR_HANDLER(note)
        before = libs.XSetErrorHandler(ctypes.cast(handler, ctypes.c_void_p))  # type: ignore[attr-defined]
        if before:
            earlier.append(_ERROR_HANDLER(before))
        try:
            ok = libs.XShmAttach(self._display, ctypes.byref(info))  # type: ignore[attr-defined]
            self._sync()
        finally:
            libs.XSetErrorHandler(before)  # type: ignore[attr-defined]
        return bool(ok) and not failed

    def _destroy(self, segment: _Segment) -> None:
        """Detach a segment nobody holds (both sides) and forget it."""
        self._forget_frame(segment)
        libs = self._libs
        libs.XShmDetach(self._display, ctypes.byref(segment.info))  # type: ignore[attr-defined]
        self._sync()
        libs.XFree(segment.image)  # type: ignore[attr-defined]
        libs.shmdt(segment.address)  # type: ignore[attr-defined]
        del self._segments[segment.address]
        self._bytes -= segment.size
        if segment in self._free:
            self._free.remove(segment)

    def trim(self) -> None:
        """Let go of the segments nobody holds now, and of those given back from now on, until
        frames are asked for again (a stream ended: its frames' memory need not stay)."""
        self.trimming = True
        self.tidy()

    def tidy(self) -> None:
        """Let go of the free segments (while :attr:`trimming`; the window calls this after a
        present, when frames replaced on screen may have come back)."""
        if self.trimming:
            for segment in list(self._free):  # (free: not lent, still the pool's)
                self._destroy(segment)

    # ------------------------------------------------------------------ showing
    def _sync(self) -> None:
        """Wait until the X server has done every request sent so far."""
        self._libs.XSync(self._display, 0)  # type: ignore[attr-defined]
        self._synced_before = self._libs.XNextRequest(self._display)  # type: ignore[attr-defined]

    def put(self, segment: _Segment, x: int, y: int) -> None:
        """Show the whole frame in ``segment`` at window pixel (x, y).  The request is sent
        at once; the X server reads the segment after this returns, and :meth:`allocate`
        lends it again only once the server is known to be done."""
        libs = self._libs
        display = self._display
        segment.put_request = libs.XNextRequest(display)  # type: ignore[attr-defined]
        libs.XShmPutImage(  # type: ignore[attr-defined]
            display, self._window, self._gc, segment.image, 0, 0, x, y, segment.width, segment.height, 0
        )
        libs.XFlush(display)  # type: ignore[attr-defined]
        self.puts += 1

    def close(self) -> None:
        """Free what nobody holds; the X server lets go of every segment now, and a segment
        still lent stays mapped (its frame may be read) until its frame is gone."""
        if self._gc is None:
            return
        self._off = True
        libs = self._libs
        for segment in list(self._segments.values()):
            if segment.lent:
                libs.XShmDetach(self._display, ctypes.byref(segment.info))  # type: ignore[attr-defined]
                libs.XFree(segment.image)  # type: ignore[attr-defined]
                segment.unmap = libs.shmdt  # type: ignore[attr-defined]
                del self._segments[segment.address]
                self._forget_frame(segment)
                self._bytes -= segment.size
            else:
                self._destroy(segment)
        self._sync()
        self._libs.XFreeGC(self._display, self._gc)  # type: ignore[attr-defined]
        self._gc = None


def open_xshm(display: int, window: int) -> XShmFrames | None:
    """Frames shown through MIT-SHM in X window ``window`` on SDL's display connection
    ``display``; ``None`` when that cannot be done here (see the module's text)."""
    if os.environ.get("SPICE_VIEW_XSHM", "1") == "0" or not display or not window:
        return None
    try:
        libs = _Libs()
    except (OSError, AttributeError):
        return None
    handle = ctypes.c_void_p(display)
    major, first_event, first_error = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
    if not libs.XShmQueryExtension(handle) or not libs.XQueryExtension(  # type: ignore[attr-defined]
        handle, b"MIT-SHM", ctypes.byref(major), ctypes.byref(first_event), ctypes.byref(first_error)
    ):
        return None
    attributes = _WindowAttributes()
    if not libs.XGetWindowAttributes(handle, window, ctypes.byref(attributes)):  # type: ignore[attr-defined]
        return None
    visual = attributes.visual
    if not visual or attributes.depth != 24:
        return None
    v = visual.contents
    # (SDL takes a DirectColor visual where there is one: pixel values then go through the
    # window's colormap, for our puts as for SDL's own)
    if v.class_ not in (_TRUE_COLOR, _DIRECT_COLOR) or (v.red_mask, v.green_mask, v.blue_mask) != (
        0xFF0000,
        0xFF00,
        0xFF,
    ):
        return None
    frames = XShmFrames(libs, display, window, visual, attributes.depth, major.value)
    return None if frames._off else frames
