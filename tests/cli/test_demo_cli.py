"""``spice demo``: our client against the demo on our server, headless; usage errors; input end to end."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import spice_session as ss
import trio
from PIL import Image
from spice_cli import _demo, main
from spice_cli._cli import build_parser
from spice_cli._connect import UsageError
from spice_cli._exitcodes import ExitCode
from spice_proto import MouseButton
from spice_server import DemoSource
from spice_server._demo import PENS


def demo_args(*argv: str) -> object:
    return build_parser().parse_args(["demo", *argv])


def rgb(frame: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(frame[:, :, 2::-1])


def png(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        assert img.mode == "RGB"
        return np.asarray(img)


async def test_headless_screenshot_equals_the_demo_frame(tmp_path: Path) -> None:
    out = tmp_path / "shot.png"
    source = DemoSource(640, 400)
    text = io.StringIO()
    args = demo_args("--headless", "--listen", "127.0.0.1:0", "--screenshot", str(out))
    with trio.fail_after(30):
        code = await _demo.serve_demo(args, text, source)  # type: ignore[arg-type]
    assert code is ExitCode.OK
    assert source.frozen  # the picture is one frame of the scene: this one
    shot = png(out)
    assert shot.shape == (400, 640, 3)
    assert int((shot != rgb(source.frame)).any(axis=2).sum()) == 0
    lines = text.getvalue().splitlines()
    assert lines[0].startswith("demo server: spice://127.0.0.1:")
    assert "remote-viewer spice://127.0.0.1:" in lines[0]
    assert lines[-1] == f"screenshot of the demo (640x400) written to {out.resolve()}"


async def test_without_display_the_command_goes_headless(tmp_path: Path) -> None:
    """The real command line, as a user runs it: no $DISPLAY, so a screenshot in the current directory."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    with trio.fail_after(60):
        result = await trio.run_process(
            [sys.executable, "-m", "spice_cli", "demo", "--listen", "127.0.0.1:0", "--size", "800x600"],
            cwd=tmp_path,
            env=env,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stderr == b""
    out = result.stdout.decode().splitlines()
    assert out[0].startswith("demo server: spice://127.0.0.1:") and "(800x600;" in out[0]
    assert out[1] == "no display ($DISPLAY is not set): connecting headless"
    shot_path = tmp_path / "spice-demo.png"
    assert out[2] == f"screenshot of the demo (800x600) written to {shot_path}"
    shot = png(shot_path)
    # The static parts (title bar, empty canvas) are exactly the demo's.
    reference = DemoSource(800, 600)
    lay = reference.layout
    for box in (lay.title, lay.canvas):
        want = rgb(reference.frame)[box.top : box.bottom, box.left : box.right]
        assert (shot[box.top : box.bottom, box.left : box.right] == want).all(), box


async def test_input_through_the_server_changes_what_clients_see() -> None:
    """``--serve``: a client types and draws; the demo shows it, and the client's picture equals the frame."""
    source = DemoSource(800, 600)
    args = demo_args("--serve", "--listen", "127.0.0.1:0")
    text = io.StringIO()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_demo.serve_demo, args, text, source)
        with trio.fail_after(10):
            while "demo server:" not in text.getvalue():
                await trio.sleep(0.02)
        uri = text.getvalue().split()[2]
        async with ss.connect(uri) as session:
            session.events().close()
            await session.screenshot(timeout=10)
            await session.inputs.type_text("Hello, SPICE!")
            canvas = source.layout.canvas
            x, y = canvas.left + 40, canvas.top + 80
            await session.inputs.mouse_position(x, y)
            await session.inputs.mouse_press(MouseButton.LEFT)
            for step in range(1, 11):
                await session.inputs.mouse_position(x + 20 * step, y)
            await session.inputs.mouse_release(MouseButton.LEFT)
            await session.inputs.flush_motion()
            pen = np.array([PENS[1][2], PENS[1][1], PENS[1][0], 0], np.uint8)
            with trio.fail_after(10):
                while source.typed != "Hello, SPICE!" or not (source.frame[y, x : x + 201] == pen).all():
                    await trio.sleep(0.02)
            source.freeze()
            shot = await session.screenshot(settle=0.3, timeout=10)
            assert shot.width == 800 and shot.height == 600
            assert int((shot.to_rgb() != rgb(source.frame)).any(axis=2).sum()) == 0
        nursery.cancel_scope.cancel()


async def test_default_port_taken_falls_back_to_a_free_one(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        monkeypatch.setattr(_demo, "DEFAULT_PORT", port)
        args = demo_args("--serve")
        text = io.StringIO()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_demo.serve_demo, args, text, DemoSource(320, 200))
            with trio.fail_after(10):
                while "demo server:" not in text.getvalue():
                    await trio.sleep(0.02)
            nursery.cancel_scope.cancel()
        shown = int(text.getvalue().split()[2].rsplit(":", 1)[1])
        assert shown != port and shown > 0
        # ... but a port given explicitly is an error
        explicit = demo_args("--serve", "--listen", f"127.0.0.1:{port}")
        with pytest.raises(UsageError, match=f"cannot listen on 127.0.0.1:{port}"):
            await _demo.serve_demo(explicit, io.StringIO(), DemoSource(320, 200))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--size", "big"], "--size must be WIDTHxHEIGHT"),
        (["--size", "100x50"], "demo size 100x50 is too small"),
        (["--size", "9000x9000"], "frame size 9000x9000"),
        (["--listen", "127.0.0.1:70000"], "--listen must be HOST:PORT"),
        (["--listen", "127.0.0.1:x"], "--listen must be HOST:PORT"),
        (["--headless", "--screenshot", "/nonexistent-dir/x.png"], "screenshot directory does not exist"),
        (["--timeout", "0"], "--timeout must be > 0"),
    ],
)
def test_usage_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", *argv]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.startswith("spice: ") and message in err and err.count("\n") == 1, err


def test_headless_and_serve_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--headless", "--serve"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        (None, ("127.0.0.1", 5900, False)),
        ("127.0.0.1:0", ("127.0.0.1", 0, True)),
        ("5999", ("127.0.0.1", 5999, True)),
        ("[::1]:5901", ("::1", 5901, True)),
        (":5902", ("127.0.0.1", 5902, True)),
    ],
)
def test_parse_listen(text: str | None, parsed: tuple[str, int, bool]) -> None:
    assert _demo.parse_listen(text) == parsed


def test_parse_size() -> None:
    assert _demo.parse_size("1920x1080") == (1920, 1080)
    assert _demo.parse_size(" 640 X 480 ") == (640, 480)


def test_help_lists_demo() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "spice_cli", "--help"], capture_output=True, check=True, text=True
    )
    assert "demo" in result.stdout


@pytest.mark.parametrize("driver", ["x11", None])
async def test_display_sdl_cannot_open_goes_headless(tmp_path: Path, driver: str | None) -> None:
    """$DISPLAY names no X server: also without SDL_VIDEODRIVER (before, SDL fell back to its
    offscreen driver and the demo's window was drawn nowhere, for ever; now x11 is the one
    driver tried for a $DISPLAY alone)."""
    env = {**os.environ, "DISPLAY": ":987", "XDG_RUNTIME_DIR": str(tmp_path)}
    env.pop("WAYLAND_DISPLAY", None)
    env.pop("SDL_VIDEODRIVER", None)
    if driver is not None:
        env["SDL_VIDEODRIVER"] = driver
    with trio.fail_after(60):
        result = await trio.run_process(
            [sys.executable, "-m", "spice_cli", "demo", "--listen", "127.0.0.1:0", "--screenshot", "out.png"],
            cwd=tmp_path,
            env=env,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode().splitlines()
    expected = "spice demo: cannot open SDL's video"
    assert out[1].startswith(f"{expected} (DISPLAY=:987)") and out[1].endswith("; going headless"), out
    assert out[2] == f"screenshot of the demo (1024x768) written to {tmp_path / 'out.png'}"
    assert png(tmp_path / "out.png").shape == (768, 1024, 3)
