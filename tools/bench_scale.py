"""spice_server scale: how many clients one server process serves at 1920x1080 with a moving area.

The server (its own process) shows a 1920x1080 desktop-like frame on which a 480x270
photo-like tile moves by 8 pixels every 20 ms (its old and new place are damaged).  N raw
clients (display channel read and ACKed, not decoded; each announces the usual pixmap
cache and GLZ dictionary) watch it for the same time; N doubles until the slowest client
gets fewer than 30 updates of the tile a second.  Prints per N: updates/s of the slowest
and the average client, server CPU (% of one core), per client and per tile update
delivered (ms, summed over the clients: the figure least moved by a busy machine), and
the server's resident memory (and per client, above the N=0 process).  Asserts nothing
about speed.

    python tools/bench_scale.py [--seconds 4] [--max-clients 32] [--min-rate 30] [--in-place]
                                [--codec mjpeg|vp8|vp9|h264] [--no-share]

``--in-place``: the tile stays where it is (its content still changes every 20 ms), so it
becomes an MJPEG stream.  ``--codec``: the stream's codec (the server offers only that one and
the clients announce it; implies ``--in-place``).  ``--no-share``: every client encodes for
itself (as before encodes were shared between the clients of a source), for a before/after
comparison in one run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import trio
from spice_net import open_channel
from spice_proto import (
    Caps,
    ChannelType,
    DisplayCap,
    DisplayDrawCopy,
    DisplayInit,
    DisplayStreamData,
    MainAttachChannels,
    MainChannelsList,
    MainInit,
    Rect,
)
from spice_server import DemoSource, Framebuffer, Server

CODEC_CAPS = {"mjpeg": DisplayCap.CODEC_MJPEG, "vp8": DisplayCap.CODEC_VP8, "vp9": DisplayCap.CODEC_VP9}
CODEC_CAPS["h264"] = DisplayCap.CODEC_H264

W, H = 1920, 1080
TILE_W, TILE_H, STEP, PERIOD = 480, 270, 8, 0.02


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


_YX = np.mgrid[0:TILE_H, 0:TILE_W].astype(np.float32)


def tile_picture(i: int) -> npt.NDArray[np.uint8]:
    """The tile's ``i``-th picture (BGRX): smooth waves and a ramp that move with ``i``."""
    y, x = _YX
    tile = np.empty((TILE_H, TILE_W, 4), np.uint8)
    tile[:, :, 0] = (128 + 100 * np.sin(x * 0.05 + i * 0.3)).astype(np.uint8)
    tile[:, :, 1] = (128 + 100 * np.sin(y * 0.07 - i * 0.2)).astype(np.uint8)
    tile[:, :, 2] = ((x + y + i * 5) % 256).astype(np.uint8)
    tile[:, :, 3] = 0
    return tile


async def serve_child(share: bool, in_place: bool, codec: str) -> None:
    if not share:
        import spice_server._pipeline

        spice_server._pipeline.shared_encodes = lambda source: None  # type: ignore[assignment,return-value]
    demo = DemoSource(W, H, clock=lambda: 0.0)
    demo.step(1.0)
    background = demo.frame.copy()
    fb = Framebuffer(W, H)
    fb.update(background)
    # every client comes from 127.0.0.1: lift the per-address cap (16) a public server keeps
    server = Server(fb, video_codecs=[codec], max_clients=1024, max_clients_per_address=1024)
    async with trio.open_nursery() as nursery:
        addr = await nursery.start(server.serve, "127.0.0.1", 0)
        print(addr.port, flush=True)
        left, i = 0, 0
        deadline = trio.current_time()
        while True:
            i += 1
            tile = tile_picture(i)
            old = left
            left = left if in_place else (left + STEP) % (W - TILE_W)
            top = 400
            if left < old:  # wrapped: the old place shows the background again
                fb.update(
                    np.ascontiguousarray(background[top : top + TILE_H, old : old + TILE_W]),
                    Rect(old, top, old + TILE_W, top + TILE_H),
                )
            else:
                strip = Rect(old, top, left, top + TILE_H)
                if not strip.empty:
                    fb.update(np.ascontiguousarray(background[top : top + TILE_H, old:left]), strip)
            fb.update(tile, Rect(left, top, left + TILE_W, top + TILE_H))
            deadline += PERIOD
            await trio.sleep_until(max(deadline, trio.current_time()))


async def client(
    port: int,
    seconds: float,
    warmup: float,
    counts: list[int],
    slot: int,
    linking: trio.Semaphore,
    codec: str,
) -> None:
    async with linking:  # the server refuses more than 8 pending links per address
        main = await open_channel("127.0.0.1", port, channel_type=ChannelType.MAIN)
        init = await main.receive()
        assert isinstance(init, MainInit)
        await main.send(MainAttachChannels())
        while not isinstance(await main.receive(), MainChannelsList):
            pass
        display = await open_channel(
            "127.0.0.1",
            port,
            channel_type=ChannelType.DISPLAY,
            connection_id=init.session_id,
            channel_caps=Caps.of(DisplayCap.MULTI_CODEC, CODEC_CAPS[codec]),
        )
    await display.send(DisplayInit(1, 20 * 1024 * 1024, 1, 4 * 1024 * 1024))
    async with main, display:
        start = trio.current_time() + warmup
        pixels = 0
        with trio.move_on_at(start + seconds):
            while True:
                msg = await display.receive()
                if trio.current_time() < start:
                    continue
                if isinstance(msg, DisplayDrawCopy):
                    pixels += msg.box.width * msg.box.height
                elif isinstance(msg, DisplayStreamData):
                    pixels += TILE_W * TILE_H
        counts[slot] = pixels


async def run_clients(
    port: int, pid: int, n: int, seconds: float, codec: str
) -> tuple[list[float], float, int]:
    counts = [0] * n
    warmup = 2.0 + n * 0.05
    linking = trio.Semaphore(4)
    async with trio.open_nursery() as nursery:
        for k in range(n):
            nursery.start_soon(client, port, seconds, warmup, counts, k, linking, codec)
        await trio.sleep(warmup)
        cpu0 = cpu_seconds(pid)
        await trio.sleep(seconds)
        cpu = cpu_seconds(pid) - cpu0
        rss = rss_kib(pid)
    return [c / (TILE_W * TILE_H) / seconds for c in counts], cpu / seconds, rss


async def bench(args: argparse.Namespace) -> None:
    print(
        f"\nscale: one spice_server process, {W}x{H} with a {TILE_W}x{TILE_H} tile "
        f"{'changing in place' if args.in_place else 'moving'} every "
        f"{PERIOD * 1000:.0f} ms; N raw clients, {args.seconds:g} s each"
        + (f"; streams in {args.codec}" if args.in_place else "")
    )
    print("encodes shared between clients" if args.share else "every client encodes alone (--no-share)")
    print(
        f"{'clients':>7} {'tile updates/s min':>19} {'avg':>6} {'server CPU %':>13} {'per client':>11} "
        f"{'ms/update':>10} {'RSS MiB':>8} {'per client':>11}"
    )
    child = [sys.executable, __file__, "--serve-child"] + ([] if args.share else ["--no-share"])
    child += (["--in-place"] if args.in_place else []) + ["--codec", args.codec]
    proc = subprocess.Popen(child, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        await trio.sleep(1.0)
        base = rss_kib(proc.pid)
        n = 1
        while n <= args.max_clients:
            rates, cpu, rss = await run_clients(port, proc.pid, n, args.seconds, args.codec)
            print(
                f"{n:>7} {min(rates):>19.1f} {sum(rates) / n:>6.1f} {100 * cpu:>13.0f} "
                f"{100 * cpu / n:>11.1f} {1000 * cpu / max(sum(rates), 1e-9):>10.2f} "
                f"{rss / 1024:>8.0f} {(rss - base) / 1024 / n:>11.1f}"
            )
            if min(rates) < args.min_rate:
                break
            n *= 2
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-child":
        codec = sys.argv[sys.argv.index("--codec") + 1]
        trio.run(serve_child, "--no-share" not in sys.argv, "--in-place" in sys.argv, codec)
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="measuring time per N (default 4)")
    parser.add_argument("--max-clients", type=int, default=32)
    parser.add_argument(
        "--min-rate", type=float, default=30.0, help="stop once the slowest client gets fewer updates/s"
    )
    parser.add_argument("--in-place", action="store_true", help="the tile animates in place (a stream)")
    parser.add_argument(
        "--codec", choices=sorted(CODEC_CAPS), default=None, help="the stream codec (implies --in-place)"
    )
    parser.add_argument("--no-share", dest="share", action="store_false", help="every client encodes alone")
    args, _ = parser.parse_known_args()  # nox -s bench passes the same arguments to every bench script
    args.in_place = args.in_place or args.codec is not None
    args.codec = args.codec or "mjpeg"
    trio.run(bench, args)


if __name__ == "__main__":
    main()
