"""Characters per second typed without loss: into a TCG Linux guest, into Xspice, into our server;
relative (server-mode) mouse motion per second delivered exactly: into the guest and our server.

Each target gets 1,000 printable characters in one ``type_text`` call; the text
that arrived is checked (guest: the file ``cat`` wrote, read over the serial
shell; Xspice: the file an xterm's ``cat`` wrote; our server: the key events).
Motion: 400 ``Driver.move`` calls of a seeded walk (a jump across the screen
every 50th), checked against the guest's evdev deltas (every point reached, in
the fewest PS/2 packets) or our server's motion events (every delta as sent).
Run: ``python tools/bench_typing.py [guest] [xspice] [server] [guest-mouse]
[server-mouse]`` (default: all whose peers are installed).  Prints tables;
asserts only that nothing was lost.
"""

from __future__ import annotations

import itertools
import shutil
import sys
import tempfile
import time
from pathlib import Path

import spice_proto as sp
import spice_session as ss
import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from peers.mouse_walk import ps2_packets, seeded_walk

PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F))
TEXT = (PRINTABLE * 11)[:1000]
CTRL_D = [(0x1D, True), (0x20, True), (0x20, False), (0x1D, False)]


async def _type(uri: str, prefix: str = "") -> tuple[float, ss.Inputs]:
    async with ss.connect(uri) as session:
        inputs = session.inputs
        if prefix:
            await inputs.type_text(prefix)
            await trio.sleep(0.5)
        start = time.monotonic()
        await inputs.type_text(TEXT + "\n")
        elapsed = time.monotonic() - start
        await inputs.send_keys(CTRL_D)
        await trio.sleep(0.5)
    return elapsed, inputs


def _pacing(inputs: ss.Inputs) -> str:
    return f"{inputs.key_pacer.mode.value}, {inputs.key_pacer.settles} settles"


def bench_guest(logs: Path) -> str:
    from peers.linux_guest import start_guest

    guest = start_guest(logs)
    try:
        elapsed, inputs = trio.run(_type, guest.uri, "cat > /tmp/typed\n")
        got = bytes.fromhex(guest.sh("hexdump -ve '1/1 \"%02x\"' /tmp/typed").strip()).decode()
    finally:
        guest.stop()
    assert got == TEXT + "\n", "keys were lost"
    return f"TCG guest  {1000 / elapsed:8.0f}   ({_pacing(inputs)})"


def bench_xspice(logs: Path) -> str:
    from peers.xspice import start_xspice

    server = start_xspice(log_dir=logs)
    out = logs / "typed.txt"
    try:
        server.display.start_xterm(f"exec cat > {out}", title="bench")
        window = server.display.wait_window("bench")
        server.display.run(["xdotool", "windowfocus", "--sync", window])
        elapsed, inputs = trio.run(_type, server.uri)
        for _ in range(100):
            if out.exists() and out.read_text().endswith("\n"):
                break
            time.sleep(0.05)
    finally:
        server.stop()
    got = out.read_text()
    assert got == TEXT + "\n", f"keys were lost: {got[:100]!r}"
    assert got == TEXT + "\n", f"keys were lost: {got[:80]!r}"
    return f"Xspice     {1000 / elapsed:8.0f}   ({_pacing(inputs)})"


def bench_server() -> str:
    import spice_server as srv

    async def main() -> tuple[float, ss.Inputs, int]:
        server = srv.Server(srv.Framebuffer(320, 200))
        async with trio.open_nursery() as nursery:
            addr = await nursery.start(server.serve, "127.0.0.1", 0)
            events = server.input_events(max_buffer=100000)
            async with ss.connect(f"spice://127.0.0.1:{addr.port}") as session:
                start = time.monotonic()
                await session.inputs.type_text(TEXT)
                elapsed = time.monotonic() - start
                inputs = session.inputs
            presses = 0
            with trio.move_on_after(1):
                async for event in events:
                    presses += isinstance(event, srv.KeyEvent) and event.pressed and event.scancode != 0x3A
            nursery.cancel_scope.cancel()
        return elapsed, inputs, presses

    elapsed, inputs, presses = trio.run(main)
    shifted = sum(1 for c in TEXT if c in '~!@#$%^&*()_+{}|:"<>?' or c.isupper())
    assert presses == len(TEXT) + shifted, f"{presses} key presses arrived"
    return f"our server {1000 / elapsed:8.0f}   ({_pacing(inputs)})"


def bench_guest_mouse(logs: Path) -> str:
    from peers.evdev import reports
    from peers.linux_guest import start_guest

    async def move(uri: str) -> tuple[float, list[tuple[int, int]], tuple[int, int], int]:
        async with ss.connect(uri) as session:
            vm = ss.Driver(session)
            screen = await vm.screenshot()
            size = (screen.shape[1], screen.shape[0])
            path = seeded_walk((size[0] // 2, size[1] // 2), 400, size)
            await vm.move(*path[0])  # the pin first, not timed
            start = time.monotonic()
            for point in path[1:]:
                await vm.move(*point)
            elapsed = time.monotonic() - start
            await vm.click()
            return elapsed, path, size, session.inputs.key_pacer.settles

    guest = start_guest(logs)
    try:
        names = guest.sh("grep -l Mouse /sys/class/input/event*/device/name").split()
        guest.sh(f"cat /dev/input/{names[0].split('/')[-3]} > /tmp/mouse.ev & echo $! > /tmp/mouse.pid")
        elapsed, path, size, settles = trio.run(move, guest.uri)
        for _ in range(120):
            data = bytes.fromhex(guest.sh("hexdump -ve '1/1 \"%02x\"' /tmp/mouse.ev").strip())
            got = reports(data, size)
            if got and got[-1].keys:
                break
            time.sleep(0.5)
    finally:
        guest.stop()
    seen = iter(r.position for r in got)
    assert all(point in seen for point in path), "motion was lost or merged"
    packets = sum(ps2_packets(a, b) for a, b in itertools.pairwise(path))
    moves = len(path) - 1
    return f"TCG guest  {moves / elapsed:8.0f} {packets / elapsed:9.0f}   (echo, {settles} settles)"


def bench_server_mouse() -> str:
    import spice_server as srv

    async def main() -> tuple[float, list[tuple[int, int]], list[tuple[int, int]], ss.Inputs]:
        server = srv.Server(srv.Framebuffer(1024, 768), initial_mouse_mode=sp.MouseMode.SERVER)
        path = seeded_walk((512, 384), 2000, (1024, 768))
        async with trio.open_nursery() as nursery:
            addr = await nursery.start(server.serve, "127.0.0.1", 0)
            events = server.input_events(max_buffer=100000)
            async with ss.connect(f"spice://127.0.0.1:{addr.port}") as session:
                inputs = session.inputs
                start = time.monotonic()
                for a, b in itertools.pairwise(path):
                    await inputs.move_by(b[0] - a[0], b[1] - a[1])
                elapsed = time.monotonic() - start
            got: list[tuple[int, int]] = []
            x, y = path[0]
            with trio.move_on_after(1):
                async for event in events:
                    if isinstance(event, srv.MotionEvent):
                        x, y = x + event.dx, y + event.dy
                        got.append((x, y))
            nursery.cancel_scope.cancel()
        return elapsed, path, got, inputs

    elapsed, path, got, inputs = trio.run(main)
    seen = iter(got)
    assert all(point in seen for point in path[1:]), "motion was lost or merged"
    moves = len(path) - 1
    return f"our server {moves / elapsed:8.0f} {len(got) / elapsed:9.0f}   ({_pacing(inputs)})"


def main() -> None:
    wanted = set(sys.argv[1:]) or {"guest", "xspice", "server", "guest-mouse", "server-mouse"}
    guest_ok = shutil.which("qemu-system-x86_64") and list(Path("/boot").glob("vmlinuz-*"))
    logs = Path(tempfile.mkdtemp(prefix="bench-typing-"))
    print("target     chars/s  (pacing)")
    if "guest" in wanted and guest_ok:
        print(bench_guest(logs))
    if "xspice" in wanted and Path("/usr/lib/xorg/Xorg").exists() and shutil.which("xterm"):
        print(bench_xspice(logs))
    if "server" in wanted:
        print(bench_server())
    if wanted & {"guest-mouse", "server-mouse"}:
        print("relative motion  moves/s  packets/s  (pacing)")
    if "guest-mouse" in wanted and guest_ok:
        print(bench_guest_mouse(logs))
    if "server-mouse" in wanted:
        print(bench_server_mouse())
    shutil.rmtree(logs, ignore_errors=True)


if __name__ == "__main__":
    main()
