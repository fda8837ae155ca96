"""The server side of the load test and of tools/bench_server.py, as its own process.

``python load_server.py WIDTH HEIGHT COMPRESSION [SCENE]`` serves a 1080p-style live
scene on 127.0.0.1 (a free port, printed as the first line of stdout) until killed.
SCENE is ``demo`` (the demo scene: a clock and a continuously animated area) or
``full`` (the whole frame changes at 25 frames/s).
"""

from __future__ import annotations

import sys

import trio
from spice_proto import Rect
from spice_server import DemoSource, Server


class FullDamageDemo(DemoSource):
    """The demo scene, but every frame damages the whole frame (a worst case for the server)."""

    def step(self, t: float) -> None:
        super().step(t)
        if not self.frozen:
            self._damage(Rect.of_size(self.width, self.height))


async def main(width: int, height: int, compression: str, scene: str) -> None:
    source = FullDamageDemo(width, height) if scene == "full" else DemoSource(width, height)
    # Twenty clients from one address link all at once, as no real crowd behind one address would.
    server = Server(
        source,
        image_compression=compression,
        max_clients=64,
        max_clients_per_address=64,
        max_pending_per_address=64,
    )
    async with trio.open_nursery() as nursery:
        addr = await nursery.start(server.serve, "127.0.0.1", 0)
        print(addr.port, flush=True)


if __name__ == "__main__":
    w, h, comp = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    trio.run(main, w, h, comp, sys.argv[4] if len(sys.argv) > 4 else "demo")
