"""``spice do``: vncdotool's actions against our own server, script files, exit code 10 on a miss."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import spice_server as srv
import trio
from peers.server_task import serve_uri
from peers.spice_cli_proc import spice
from PIL import Image
from spice_cli._do import Action, parse_actions
from spice_cli._run import UsageError
from spice_proto import Rect

W, H = 320, 200


def test_parse_actions_with_optional_arguments() -> None:
    words = (
        "type hi key ctrl-alt-del click click 3 move 10 20 expect a.png 5 expect b.png wait-still pause 0.5"
    )
    assert parse_actions([*words.split(), "capture", "x.png", "1", "2", "3", "4"]) == [
        Action("type", ("hi",)),
        Action("key", ("ctrl-alt-del",)),
        Action("click", ()),
        Action("click", (3,)),
        Action("move", (10, 20)),
        Action("expect", ("a.png", 5.0)),
        Action("expect", ("b.png", 30.0)),
        Action("wait-still", ()),
        Action("pause", (0.5,)),
        Action("capture", ("x.png", 1, 2, 3, 4)),
    ]
    assert parse_actions(["wait-still", "2", "5", "pause", "1"]) == [
        Action("wait-still", (2.0, 5.0)),
        Action("pause", (1.0,)),
    ]
    with pytest.raises(UsageError, match="unknown action 'jump'"):
        parse_actions(["jump"])
    with pytest.raises(UsageError, match="move: needs 2"):
        parse_actions(["move", "1"])
    with pytest.raises(UsageError, match="expected an integer"):
        parse_actions(["scroll", "x"])


async def test_actions_reach_the_server_and_expect_finds_the_needle(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    fb = srv.Framebuffer(W, H)
    fb.fill((10, 20, 30))
    needle = np.random.default_rng(4).integers(0, 255, (16, 24, 3), np.uint8)
    fb.update(needle, Rect(100, 60, 124, 76), format="rgb")
    Image.fromarray(needle).save(tmp_path / "n.png")
    server = srv.Server(fb)
    uri = await serve_uri(nursery, server)
    events = server.input_events()
    script = tmp_path / "script.txt"
    script.write_text("# a comment\nkey shift-f10\nmove 50 60  # trailing comment\nclick 3\n")
    result = await spice(
        "do", "-f", str(script), "--layout", "de", uri,
        "type", "zy", "expect", str(tmp_path / "n.png"), "5", "capture", str(tmp_path / "shot.png"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert lines == [
        f"{tmp_path / 'n.png'}: at 100,60 24x16 score 1.000",
        f"{tmp_path / 'shot.png'}: {W}x{H}",
    ]
    with Image.open(tmp_path / "shot.png") as image:
        assert np.array_equal(np.array(image)[60:76, 100:124], needle)
    got = []
    with trio.move_on_after(2):
        async for event in events:
            got.append(event)
    downs = [e.scancode for e in got if isinstance(e, srv.KeyEvent) and e.pressed and e.scancode != 0x3A]
    assert downs == [0x2A, 0x44, 0x15, 0x2C]  # shift-f10, then z and y on a German keyboard
    clicks = [(e.button, e.x, e.y) for e in got if isinstance(e, srv.ButtonEvent) and e.pressed]
    assert clicks == [(3, 50, 60)]


async def test_expect_timeout_exits_10_with_the_best_score(nursery: trio.Nursery, tmp_path: Path) -> None:
    fb = srv.Framebuffer(W, H)
    fb.fill((10, 20, 30))
    Image.fromarray(np.random.default_rng(5).integers(0, 255, (16, 24, 3), np.uint8)).save(tmp_path / "n.png")
    uri = await serve_uri(nursery, srv.Server(fb))
    result = await spice(
        "do", "--save-misses", str(tmp_path / "miss"), uri, "expect", str(tmp_path / "n.png"), "0.5"
    )
    assert result.returncode == 10
    err = result.stderr.decode()
    assert err.startswith("spice: expect failed: n.png not on screen within 0.5 s: best score 0.")
    assert err.count("\n") == 1 and "frame saved to" in err
    assert len(list((tmp_path / "miss").glob("*.png"))) == 1


async def test_usage_errors_exit_2_before_connecting(tmp_path: Path) -> None:
    for args, message in (
        (["spice://127.0.0.1:1"], "no actions given"),
        (["spice://127.0.0.1:1", "fly"], "unknown action 'fly'"),
        (["spice://127.0.0.1:1", "key", "ctrl-foo"], "no key named 'foo'"),
        (["--layout", "de", "spice://127.0.0.1:1", "type", "\u00e9"], "has no key for"),
    ):
        result = await spice("do", *args)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr.decode()
