"""Scrolls without I/O: Framebuffer.scroll moves pixels, the pipeline sends COPY_BITS with the dirty
region moved along, or plain damage when that is not safe; a simulated client always ends exact."""

from __future__ import annotations

import numpy as np
import pytest
import spice_server as ss
from hypothesis import given, settings
from hypothesis import strategies as st
from spice_proto import (
    BitmapImage,
    DisplayCopyBits,
    DisplayDrawCopy,
    DisplaySurfaceCreate,
    Message,
    Rect,
)
from spice_server.lowlevel import DisplayPipeline, ImageEncoder, Job

W, H = 200, 150


class Client:
    """The primary surface as a client paints it from DRAW_COPY (raw bitmaps) and COPY_BITS."""

    def __init__(self) -> None:
        self.canvas: np.ndarray | None = None
        self.copies: list[DisplayCopyBits] = []

    def apply(self, msg: Message) -> None:
        if isinstance(msg, DisplaySurfaceCreate):
            self.canvas = np.zeros((msg.height, msg.width, 4), np.uint8)
        elif isinstance(msg, DisplayDrawCopy):
            assert self.canvas is not None and isinstance(msg.src_bitmap, BitmapImage)
            b, img = msg.box, msg.src_bitmap
            pixels = np.frombuffer(img.data, np.uint8).reshape(img.height, img.stride)[:, : 4 * img.width]
            self.canvas[b.top : b.bottom, b.left : b.right] = pixels.reshape(img.height, img.width, 4)
        elif isinstance(msg, DisplayCopyBits):
            assert self.canvas is not None
            b, src = msg.box, msg.src_pos
            part = self.canvas[src.y : src.y + b.height, src.x : src.x + b.width].copy()
            self.canvas[b.top : b.bottom, b.left : b.right] = part
            self.copies.append(msg)

    def run(self, pipe: DisplayPipeline) -> None:
        for msg in pipe.messages():
            self.apply(msg)

    def exact(self, fb: ss.Framebuffer) -> bool:
        return self.canvas is not None and bool((self.canvas[:, :, :3] == fb.frame[:, :, :3]).all())


def text_frame(seed: int) -> np.ndarray:
    """Sharp-edged rows of 'text': what a terminal or document scrolls."""
    rng = np.random.default_rng(seed)
    frame = np.full((H, W, 4), 240, np.uint8)
    ink = rng.random((H // 3, W // 2)) < 0.3
    frame[: (H // 3) * 3, : (W // 2) * 2][np.kron(ink, np.ones((3, 2), bool))] = (20, 20, 20, 0)
    return frame


def setup(**kwargs: object) -> tuple[ss.Framebuffer, DisplayPipeline, Client]:
    fb = ss.Framebuffer(W, H)
    fb.update(text_frame(0))
    pipe = DisplayPipeline(fb, ImageEncoder(ss.Compression.OFF), **kwargs)  # type: ignore[arg-type]
    pipe.attach()
    client = Client()
    client.run(pipe)
    assert client.exact(fb)
    return fb, pipe, client


def test_framebuffer_scroll_moves_pixels_and_keeps_the_uncovered_strip() -> None:
    fb = ss.Framebuffer(W, H)
    fb.update(text_frame(1))
    before = fb.frame.copy()
    fb.scroll(0, -10, Rect(20, 30, 120, 130))
    expected = before.copy()
    expected[30:120, 20:120] = before[40:130, 20:120]
    assert (fb.frame == expected).all()  # rows 120..130 of the box still hold the old pixels
    fb.scroll(7, 3)
    expected2 = expected.copy()
    expected2[3:, 7:] = expected[:-3, :-7]
    assert (fb.frame == expected2).all()
    with pytest.raises(ss.SourceError, match="outside"):
        fb.scroll(1, 1, Rect(0, 0, W + 1, 10))


def test_a_clean_scroll_is_one_copy_bits_and_the_strip() -> None:
    fb, pipe, client = setup()
    fb.scroll(0, -12, Rect(0, 0, W, H))
    fb.update(text_frame(2)[:12], Rect(0, H - 12, W, H))  # the application draws the new strip
    msgs = list(pipe.messages())
    assert isinstance(msgs[0], DisplayCopyBits)
    cb = msgs[0]
    assert (cb.box.left, cb.box.top, cb.box.right, cb.box.bottom) == (0, 0, W, H - 12)
    assert (cb.src_pos.x, cb.src_pos.y) == (0, 12)
    draws = [m for m in msgs[1:] if isinstance(m, DisplayDrawCopy)]
    assert sum(d.box.width * d.box.height for d in draws) == W * 12  # only the strip
    for msg in msgs:
        client.apply(msg)
    assert client.exact(fb) and pipe.stats["copy_bits"] == 1


def test_pending_damage_moves_with_the_scroll() -> None:
    fb, pipe, client = setup()
    fb.fill((200, 10, 10), Rect(50, 100, 90, 120))  # not sent yet
    fb.scroll(0, -40, Rect(0, 0, W, H))
    boxes = pipe.region.boxes
    assert Rect(50, 60, 90, 80) in boxes  # the damage moved up with its pixels
    client.run(pipe)
    assert client.exact(fb) and len(client.copies) == 1


def test_mostly_dirty_source_falls_back_to_damage() -> None:
    fb, pipe, client = setup()
    fb.update(text_frame(3))
    fb.scroll(0, 5)
    msgs = list(pipe.messages())
    assert not any(isinstance(m, DisplayCopyBits) for m in msgs)
    for msg in msgs:
        client.apply(msg)
    assert client.exact(fb) and pipe.stats["scroll_fallbacks"] == 1


def test_copy_bits_can_be_turned_off_and_listeners_without_scrolled_get_damage() -> None:
    fb, pipe, client = setup(copy_bits=False)
    seen: list[Rect] = []

    class Plain:
        def damaged(self, box: Rect) -> None:
            seen.append(box)

        def resized(self, width: int, height: int) -> None:
            pass

    fb.subscribe(Plain())
    fb.scroll(-3, 0, Rect(10, 10, 110, 60))
    assert seen == [Rect(10, 10, 107, 60)]
    client.run(pipe)
    assert client.exact(fb) and not client.copies


def test_a_scroll_during_an_encode_keeps_the_client_exact() -> None:
    """A band being encoded (in a worker thread) while the frame scrolls may hold torn pixels:
    it is redrawn after the COPY_BITS."""
    fb, pipe, client = setup()
    fb.update(text_frame(4)[:40], Rect(0, 0, W, 40))
    fb.update(text_frame(5)[100:140], Rect(0, 100, W, 140))
    items = pipe.items()
    job = next(items)
    assert isinstance(job, Job)
    fb.scroll(0, -20)  # meanwhile, in the event loop
    for msg in job.run():  # the encode sees the scrolled frame
        client.apply(msg)
    for item in items:
        for msg in item.run() if isinstance(item, Job) else [item]:
            client.apply(msg)
    client.run(pipe)
    assert client.exact(fb) and len(client.copies) == 1


def test_no_copy_bits_over_a_stream() -> None:
    class Clock:
        now = 10.0

        def __call__(self) -> float:
            return self.now

    clock = Clock()
    fb, pipe, _ = setup(streaming="all", clock=clock)
    anim = Rect(20, 20, 140, 120)
    for i in range(25):
        clock.now += 0.04
        fb.fill((i * 9 % 256, 40, 200), anim)
        list(pipe.messages())
    assert pipe.streams
    fb.scroll(0, -10)
    assert not any(isinstance(m, DisplayCopyBits) for m in pipe.messages())
    assert pipe.stats["scroll_fallbacks"] == 1


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("scroll"), st.integers(-30, 30), st.integers(-30, 30), st.integers(0, 3)),
        st.tuples(st.just("update"), st.integers(0, W - 1), st.integers(0, H - 1), st.integers(1, 80)),
        st.tuples(st.just("send"), st.integers(0, 3), st.just(0), st.just(0)),
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(OPS)
def test_random_scrolls_updates_and_partial_sends_end_exact(ops: list[tuple[str, int, int, int]]) -> None:
    fb, pipe, client = setup(max_boxes=4, max_draw_pixels=40 * 40)
    rects = [Rect(0, 0, W, H), Rect(10, 20, 190, 140), Rect(0, 50, 120, 150), Rect(60, 0, 200, 90)]
    items = pipe.items()
    for n, (kind, a, b, c) in enumerate(ops):
        if kind == "scroll":
            fb.scroll(a, b, rects[c])
        elif kind == "update":
            box = Rect(a, b, min(W, a + c), min(H, b + c))
            fb.update(text_frame(n)[: box.height, : box.width], box)
        else:  # the client takes a few items, then the sender is interrupted by other work
            for _ in range(a):
                item = next(items, None)
                if item is None:
                    items = pipe.items()
                    break
                for msg in item.run() if isinstance(item, Job) else [item]:
                    client.apply(msg)
    for item in items:
        for msg in item.run() if isinstance(item, Job) else [item]:
            client.apply(msg)
    client.run(pipe)
    assert client.exact(fb)


def test_no_copy_bits_over_a_stream_that_is_ending() -> None:
    class Clock:
        now = 10.0

        def __call__(self) -> float:
            return self.now

    clock = Clock()
    fb = ss.Framebuffer(640, 480)
    pipe = DisplayPipeline(fb, ImageEncoder(ss.Compression.OFF), streaming="all", clock=clock)
    pipe.attach()
    list(pipe.messages())
    anim = Rect(100, 100, 220, 200)
    for i in range(25):
        clock.now += 0.04
        fb.fill((i * 9 % 256, 40, 200), anim)
        list(pipe.messages())
    assert pipe.streams
    fb.fill((1, 1, 1), Rect(60, 60, 260, 260))  # covers the stream: its STREAM_DESTROY is not out yet
    assert not pipe.streams
    fb.scroll(0, -5)  # little of the frame is dirty, but the client may still play late frames there
    msgs = list(pipe.messages())
    assert not any(isinstance(m, DisplayCopyBits) for m in msgs)
    assert pipe.stats["scroll_fallbacks"] == 1
