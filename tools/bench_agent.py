"""The guest agent between spice_server's GuestAgent and spice_session, in this process over TCP.

- File transfer: ``--mb`` MiB sent with ``session.files.send`` into a temporary directory
  (chunks of 32 KiB, AGENT_DATA of 2 KiB under a 10-token window); MiB/s.
- Clipboard: ``--rounds`` times, the time from ``agent.set_text`` to the client's
  ``get_text`` returning it (grab, request, data), and a 1 MiB PNG from the client to
  ``agent.get_image``; median and worst.

    python tools/bench_agent.py [--mb 16] [--rounds 20]

Asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import spice_server
import spice_session
import trio
from spice_proto import AgentClipboardType


def _png(nbytes: int) -> bytes:
    from PIL import Image

    side = int((nbytes / 3) ** 0.5)
    pixels = np.random.default_rng(2).integers(0, 256, (side, side, 3), dtype=np.uint8)  # incompressible
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG", compress_level=0)
    return out.getvalue()


async def main(mb: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        agent = spice_server.GuestAgent(files_dir=Path(tmp) / "in", max_file_size=(mb + 1) << 20)
        server = spice_server.Server(spice_server.Framebuffer(320, 200), agent=agent)
        source = Path(tmp) / "payload.bin"
        source.write_bytes(np.random.default_rng(1).integers(0, 256, mb << 20, dtype=np.uint8).tobytes())
        async with trio.open_nursery() as nursery:
            addr = await nursery.start(
                lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
            )
            async with spice_session.connect(f"spice://127.0.0.1:{addr.port}") as session:
                await session.agent.ready()
                t0 = time.perf_counter()
                await session.files.send(source)
                elapsed = time.perf_counter() - t0
                print(f"file transfer: {mb} MiB in {elapsed:.2f} s = {mb / elapsed:.1f} MiB/s")

                texts = []
                for i in range(rounds):
                    t0 = time.perf_counter()
                    agent.set_text(f"round {i}")
                    while session.clipboard.guest_types.get(0) != (AgentClipboardType.UTF8_TEXT,) or (
                        await session.clipboard.get_text() != f"round {i}"
                    ):
                        await trio.sleep(0)
                    texts.append(time.perf_counter() - t0)
                print(
                    f"text server -> client: median {statistics.median(texts) * 1e3:.1f} ms, "
                    f"worst {max(texts) * 1e3:.1f} ms ({rounds} rounds)"
                )
                png = _png(1 << 20)
                images = []
                for _ in range(max(1, rounds // 4)):
                    t0 = time.perf_counter()
                    await session.clipboard.set_image(png)
                    while agent.client_offers.get(0, (0, ()))[1] != (AgentClipboardType.IMAGE_PNG,):
                        await trio.sleep(0)
                    got = await agent.get_image()
                    images.append(time.perf_counter() - t0)
                    assert got == png
                    await session.clipboard.set_text("reset")
                    while agent.client_offers.get(0, (0, ()))[1] != (AgentClipboardType.UTF8_TEXT,):
                        await trio.sleep(0)
                print(
                    f"{len(png) / 1e6:.2f} MB PNG client -> server: "
                    f"median {statistics.median(images) * 1e3:.0f} ms, "
                    f"worst {max(images) * 1e3:.0f} ms ({len(images)} rounds)"
                )
            nursery.cancel_scope.cancel()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    trio.run(main, args.mb, args.rounds)
