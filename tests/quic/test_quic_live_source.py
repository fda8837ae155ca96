"""Encoding from pixels another thread keeps writing (a server's live frame) still gives a
stream that decodes: the coder reads each row from its own copy."""

from __future__ import annotations

import threading

import numpy as np
import spice_quic


def test_encoding_a_frame_being_drawn_into_always_decodes() -> None:
    rng = np.random.default_rng(1)
    frame = np.zeros((512, 1024, 4), np.uint8)
    frame[:, :, :3] = rng.integers(0, 256, (512, 1024, 3))
    stop = threading.Event()

    def draw() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            frame[0:400, 0:640, :3] = (i * 37) % 256
            frame[0:400, 0:640, 1] = (np.arange(640)[None, :] + i) % 256

    painter = threading.Thread(target=draw)
    painter.start()
    try:
        for image_type in (spice_quic.ImageType.RGB32, spice_quic.ImageType.RGBA):
            for _ in range(150):
                view = memoryview(frame.reshape(-1)[: 4 * 1024 * 256])
                blob = spice_quic.encode(view, 1024, 256, image_type, 4 * 1024)
                image = spice_quic.decode(blob)  # raises DecodeError on a torn stream
                assert (image.width, image.height) == (1024, 256)
    finally:
        stop.set()
        painter.join(30)
