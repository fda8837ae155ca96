"""Clients of one source share the encodes their states allow (QUIC, LZ, LZ4, raw, the
snapshot of a cached band) and never get a stale one; GLZ stays per client."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import spice_server as ss
from miniclient import Screen
from spice_proto import DisplayDrawCopy, DisplayInit, Rect
from spice_server._shared import SharedEncodes
from spice_server.lowlevel import DisplayPipeline, ImageEncoder, Job

W, H = 320, 240


def photo(seed: int) -> np.ndarray:
    """A smooth, noisy picture (QUIC in the automatic modes)."""
    y, x = np.mgrid[0:H, 0:W]
    rng = np.random.default_rng(seed)
    f = np.zeros((H, W, 4), np.uint8)
    f[:, :, 0] = (x + seed * 7) % 256
    f[:, :, 1] = (y * 2 + seed) % 256
    f[:, :, 2] = (x + y + rng.integers(0, 3, (H, W))) % 256
    return f


def pipeline(
    source: ss.FrameSource, compression: str = "auto_glz", cache: int = 0, share: bool = True
) -> DisplayPipeline:
    pipe = DisplayPipeline(
        source, ImageEncoder(ss.Compression(compression)), max_draw_pixels=W * 60, share_encodes=share
    )
    pipe.client_init(DisplayInit(1, cache, 1, 1 << 20))
    pipe.attach()
    return pipe


def drain(pipe: DisplayPipeline, screen: Screen) -> list[DisplayDrawCopy]:
    draws = []
    for msg in pipe.messages():
        screen.apply(msg)
        if isinstance(msg, DisplayDrawCopy):
            draws.append(msg)
    return draws


def test_second_client_reuses_every_encode_and_both_pictures_are_exact() -> None:
    fb = ss.Framebuffer(W, H)
    fb.update(photo(1))
    a, b = pipeline(fb), pipeline(fb)
    assert a.shared is b.shared and a.shared is not None
    sa, sb = Screen(), Screen()
    da, db = drain(a, sa), drain(b, sb)
    assert sa.rgb_equals(fb.frame) and sb.rgb_equals(fb.frame)
    assert [d.box for d in da] == [d.box for d in db] and len(da) == 4
    assert all(type(d.src_bitmap).__name__ == "QuicImage" for d in da + db)
    assert [d.src_bitmap.data for d in da] == [d.src_bitmap.data for d in db]
    # per band: the photo judgement and the QUIC data, made once and reused once
    assert a.shared.made == 8 and a.shared.reused == 8
    assert len(a.shared) == 0  # each result dropped once the other client had it
    # new damage: only the new pixels, encoded once for both
    fb.update(photo(2)[40:80, 10:200], Rect(10, 40, 200, 80))
    da, db = drain(a, sa), drain(b, sb)
    assert sa.rgb_equals(fb.frame) and sb.rgb_equals(fb.frame)
    assert [d.box for d in da] == [d.box for d in db] == [Rect(10, 40, 200, 80)]
    assert da[0].src_bitmap.data == db[0].src_bitmap.data
    assert a.shared.made == 10 and a.shared.reused == 10


def test_damage_between_two_clients_is_never_served_stale() -> None:
    fb = ss.Framebuffer(W, H)
    fb.update(photo(1))
    a, b = pipeline(fb, "quic"), pipeline(fb, "quic")
    sa, sb = Screen(), Screen()
    drain(a, sa)
    drain(b, sb)
    box = Rect(0, 0, W, 60)
    fb.update(photo(3)[0:60], box)
    drain(a, sa)  # a encodes the new band ...
    fb.update(photo(4)[0:60], box)  # ... which changes again before b takes it
    drain(b, sb)
    assert sb.rgb_equals(fb.frame)
    drain(a, sa)
    assert sa.rgb_equals(fb.frame)


class Replaced(ss.FrameSource):
    """A source that replaces its frame array (not drawn in place)."""

    def show(self, frame: np.ndarray) -> None:
        self._set_frame(frame)


def test_a_job_on_a_replaced_frame_does_not_feed_other_clients() -> None:
    src = Replaced(W, H)
    src.show(photo(1))
    a, b = pipeline(src, "quic"), pipeline(src, "quic")
    sa, sb = Screen(), Screen()
    drain(a, sa)
    drain(b, sb)
    src.show(photo(5))
    items = a.items()
    job = next(i for i in items if isinstance(i, Job))  # holds the frame of photo(5)
    src.show(photo(6))  # replaced before a's job runs
    for msg in job.run():
        sa.apply(msg)
    drain(b, sb)
    assert sb.rgb_equals(src.frame)
    for item in items:
        for msg in item.run() if isinstance(item, Job) else [item]:
            sa.apply(msg)
    drain(a, sa)
    assert sa.rgb_equals(src.frame)


def test_cached_bands_share_the_snapshot_and_each_client_keeps_its_own_cache() -> None:
    fb = ss.Framebuffer(W, H)
    fb.update(photo(1))
    a, b = pipeline(fb, "quic", cache=1 << 20), pipeline(fb, "quic", cache=1 << 20)
    sa, sb = Screen(), Screen()
    da, db = drain(a, sa), drain(b, sb)
    assert sa.rgb_equals(fb.frame) and sb.rgb_equals(fb.frame)
    assert all(d.src_bitmap.flags for d in da + db)  # CACHE_ME for both clients
    assert a.cache is not None and b.cache is not None and len(a.cache) == len(b.cache) == 4
    # the frame's sample, snapshot and key, the snapshot's sample and QUIC data: once per band
    assert a.shared is not None and a.shared.made == a.shared.reused == 4 * 4
    # the first band comes back: both clients find it in their own caches
    top = fb.frame[0:60].copy()
    fb.update(photo(7)[0:60], Rect(0, 0, W, 60))
    drain(a, sa)
    drain(b, sb)
    fb.update(top, Rect(0, 0, W, 60))
    da, db = drain(a, sa), drain(b, sb)
    assert type(da[0].src_bitmap).__name__ == type(db[0].src_bitmap).__name__ == "FromCacheImage"
    assert sa.rgb_equals(fb.frame) and sb.rgb_equals(fb.frame)


def test_glz_is_never_shared() -> None:
    fb = ss.Framebuffer(W, H)
    fb.update(photo(1))
    a, b = pipeline(fb, "glz"), pipeline(fb, "glz")
    sa, sb = Screen(), Screen()
    da, db = drain(a, sa), drain(b, sb)
    assert all(type(d.src_bitmap).__name__ == "GlzRgbImage" for d in da + db)
    assert sa.rgb_equals(fb.frame) and sb.rgb_equals(fb.frame)
    assert a.shared is not None and a.shared.reused == 0


def test_one_client_keeps_nothing() -> None:
    fb = ss.Framebuffer(W, H)
    fb.update(photo(1))
    a = pipeline(fb, "quic")
    sa = Screen()
    drain(a, sa)
    assert sa.rgb_equals(fb.frame)
    assert a.shared is not None and len(a.shared) == 0 and a.shared.reused == 0
    a.detach()
    assert a.shared.users == 0


def test_without_sharing_each_client_encodes_alone() -> None:
    fb = ss.Framebuffer(W, H)
    fb.update(photo(1))
    a, b = pipeline(fb, "quic", share=False), pipeline(fb, "quic", share=False)
    assert a.shared is None
    sa, sb = Screen(), Screen()
    drain(a, sa)
    drain(b, sb)
    assert sa.rgb_equals(fb.frame) and sb.rgb_equals(fb.frame)


def two_clients(shared: SharedEncodes) -> SharedEncodes:
    shared.join()
    shared.join()
    return shared


def test_a_second_asker_waits_for_the_first_result() -> None:
    shared = two_clients(SharedEncodes())
    frame = np.zeros((4, 4, 4), np.uint8)
    box = Rect(0, 0, 4, 4)
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow() -> bytes:
        calls.append(1)
        started.set()
        assert release.wait(30)
        return b"data"

    results: list[bytes] = []
    first = threading.Thread(target=lambda: results.append(shared.live(frame, box, "x", slow)))
    first.start()
    assert started.wait(30)
    second = threading.Thread(target=lambda: results.append(shared.live(frame, box, "x", slow)))
    second.start()
    release.set()
    first.join(30)
    second.join(30)
    assert results == [b"data", b"data"] and calls == [1]
    assert shared.made == 1 and shared.reused == 1


async def test_the_event_loop_never_waits_for_a_workers_encode() -> None:
    """A trio task asking for a result a worker thread is still making makes its own."""
    shared = two_clients(SharedEncodes())
    frame = np.zeros((4, 4, 4), np.uint8)
    box = Rect(0, 0, 4, 4)
    started, release = threading.Event(), threading.Event()

    def slow() -> bytes:
        started.set()
        assert release.wait(30)
        return b"worker's"

    worker = threading.Thread(target=lambda: shared.live(frame, box, "x", slow))
    worker.start()
    try:
        assert started.wait(30)
        assert shared.live(frame, box, "x", lambda: b"loop's") == b"loop's"  # blocked before
    finally:
        release.set()
        worker.join(30)


def test_damage_during_a_computation_keeps_its_result_out() -> None:
    shared = two_clients(SharedEncodes())
    frame = np.zeros((8, 8, 4), np.uint8)
    box = Rect(0, 0, 4, 4)

    def damaged_meanwhile() -> bytes:
        shared.damaged(Rect(3, 3, 5, 5))
        return b"old"

    assert shared.live(frame, box, "x", damaged_meanwhile) == b"old"  # the asker still gets it
    assert len(shared) == 0
    assert shared.live(frame, box, "x", lambda: b"new") == b"new"
    shared.damaged(Rect(4, 4, 8, 8))  # touches nothing of the box
    assert shared.live(frame, box, "x", lambda: b"other") == b"new"
    assert len(shared) == 0  # the other client had it
    assert shared.live(frame, box, "x", lambda: b"new") == b"new"
    shared.scrolled(Rect(0, 0, 8, 8), 0, 1)
    assert shared.live(frame, box, "x", lambda: b"scrolled") == b"scrolled"
    shared.resized(8, 8)
    assert len(shared) == 0


def test_bounds_drop_the_oldest_results() -> None:
    shared = two_clients(SharedEncodes(max_bytes=100, max_entries=3))
    frame = np.zeros((8, 8, 4), np.uint8)
    for i in range(5):
        shared.content(b"k%d" % i, "x", lambda: b"." * 10)
    assert len(shared) == 3
    shared.live(frame, Rect(0, 0, 1, 1), "x", lambda: b"." * 95)
    assert len(shared) == 1  # 95 + 10 bytes are over the bound: the older ones go
    assert shared.content(b"k4", "x", lambda: b"again") == b"again"


def test_mjpeg_stream_frames_are_shared_between_clients_at_the_same_quality(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from spice_proto import DisplayStreamData
    from spice_server import _video_encode

    encoded: list[Rect] = []
    real = _video_encode.encode_mjpeg
    monkeypatch.setattr(_video_encode, "encode_mjpeg", lambda f, b, q: encoded.append(b) or real(f, b, q))

    now = [100.0]
    box = Rect(32, 24, 192, 144)
    fb = ss.Framebuffer(W, H)

    def client() -> DisplayPipeline:
        pipe = DisplayPipeline(fb, ImageEncoder(ss.Compression.OFF), streaming="filter", clock=lambda: now[0])
        pipe.attach()
        list(pipe.messages())
        return pipe

    a, b = client(), client()
    frames: dict[str, list[bytes]] = {"a": [], "b": []}
    for i in range(40):
        now[0] += 0.04
        fb.update(photo(i)[box.top : box.bottom, box.left : box.right], box)
        for name, pipe in (("a", a), ("b", b)):
            frames[name] += [m.data for m in pipe.messages() if isinstance(m, DisplayStreamData)]
    assert a.streams and b.streams  # both clients stream the animated box
    assert len(frames["a"]) >= 10 and frames["a"] == frames["b"]
    assert len(encoded) == len(frames["a"])  # one JPEG per frame for both clients
