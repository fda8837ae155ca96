"""spice report URI OUT.zip: screenshot, stats, session facts and the capture of those seconds."""

from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import spice_server as srv
import trio
from PIL import Image
from spice_net import read_pcap
from spice_proto import Rect

W, H = 160, 120


async def test_report_bundle(nursery: trio.Nursery, tmp_path: Path) -> None:
    fb = srv.Framebuffer(W, H)
    picture = np.random.default_rng(9).integers(0, 255, (H, W, 3), np.uint8)
    fb.update(picture, Rect(0, 0, W, H), format="rgb")
    server = srv.Server(fb)
    addr: srv.ServerAddress = await nursery.start(
        lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
    )  # type: ignore[arg-type]
    out = tmp_path / "report.zip"
    with trio.fail_after(60):
        result = await trio.run_process(
            [sys.executable, "-m", "spice_cli", "report", f"spice://127.0.0.1:{addr.port}?password=s3cr3t",
             str(out), "--seconds", "1"],
            capture_stdout=True, capture_stderr=True, check=False,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(out) as bundle:
        names = set(bundle.namelist())
        assert {"screenshot.png", "stats.json", "stats.txt", "session.json"} <= names
        shot = np.array(Image.open(io.BytesIO(bundle.read("screenshot.png"))).convert("RGB"))
        assert np.array_equal(shot, picture)
        stats = json.loads(bundle.read("stats.json"))
        assert {c["name"] for c in stats["channels"]} >= {"main:0", "display:0"}
        facts = json.loads(bundle.read("session.json"))
        assert facts["screen"] == [W, H]
        assert {c["channel"] for c in facts["channels"] if c["opened"]} >= {"main:0", "display:0"}
        captures = sorted(n for n in names if n.startswith("capture/"))
        assert captures[0] == "capture/01-main-0.pcap"
        bundle.extractall(tmp_path / "x")
        for name in captures:
            assert read_pcap(tmp_path / "x" / name)  # readable, not empty
        for name in names:
            assert b"s3cr3t" not in bundle.read(name) or name.startswith("capture/"), name
