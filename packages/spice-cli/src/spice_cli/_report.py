"""``spice report URI OUT.zip``: a bug-report bundle of what the client sees.

Connects with traffic capture on, watches for ``--seconds``, then writes a zip with
``screenshot.png`` (the screen at the end), ``stats.json`` and ``stats.txt`` (see
:mod:`._stats`), ``session.json`` (server name, mouse modes, agent, every channel listed
and opened with its capabilities) and ``capture/NN-CHANNEL-ID.pcap``: the plaintext
traffic of each channel over those seconds, from the link on (``spice replay`` and
tshark read them).  No password or URI query value goes into the bundle.
``spice view`` writes the same bundle on Ctrl+Alt+R, with the newest seconds of capture.
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import spice_net
import spice_session as ss
import trio
from spice_proto import ChannelType

from ._commands import HELP
from ._exitcodes import ExitCode
from ._run import UsageError, add_connection_args, check_connection_args, open_session
from ._stats import format_stats
from ._summary import channel_caps_text, common_caps_text, modes_text

__all__ = ["add_parser", "run", "session_facts", "take_bundle"]


def session_facts(session: ss.Session) -> dict[str, Any]:
    """What a bug report says about the session and the server (no secrets)."""
    opened = {(int(t), i): channel for (t, i), channel in session.opened.items()}
    main = session.main
    channels: list[dict[str, Any]] = [
        {
            "channel": "main:0",
            "opened": True,
            "common_caps": common_caps_text(main.peer_common_caps),
            "channel_caps": channel_caps_text(ChannelType.MAIN, main.peer_channel_caps),
        }
    ]
    for entry in session.channels:
        channel = opened.get((int(entry.type), entry.id))
        channels.append(
            {
                "channel": f"{ss.lowlevel.channel_name(entry.type)}:{entry.id}",
                "opened": channel is not None,
                "common_caps": common_caps_text(channel.peer_common_caps) if channel else None,
                "channel_caps": channel_caps_text(entry.type, channel.peer_channel_caps) if channel else None,
            }
        )
    primary = session.display.primary
    return {
        "server": {"host": session.uri.host, "tls": session.tls, "name": session.name},
        "uuid": session.uuid.hex() if session.uuid else None,
        "mouse_mode": modes_text(session.mouse_mode),
        "supported_mouse_modes": modes_text(session.supported_mouse_modes),
        "agent_connected": session.agent_connected,
        "screen": [primary.width, primary.height] if primary is not None else None,
        "channels": channels,
        "client": {"spice_session": ss.__version__, "spice_net": spice_net.__version__},
    }


def take_bundle(session: ss.Session) -> Callable[[Path, dict[str, bytes]], list[str]]:
    """What ``session`` shows and says now; call the result with a target path and the captures
    (pcap name -> bytes) to write the bundle (in a thread if need be): the names in it.
    OSError when it cannot be written."""
    snapshot = session.stats
    facts = session_facts(session)
    picture = session.picture()
    rgb = picture.to_rgb() if picture is not None else None

    def write(target: Path, captures: dict[str, bytes]) -> list[str]:
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as bundle:
            if rgb is not None:
                from PIL import Image  # here: spice view imports this module at its start

                png = io.BytesIO()
                Image.fromarray(rgb).save(png, format="PNG")
                bundle.writestr("screenshot.png", png.getvalue())
            bundle.writestr("stats.json", snapshot.to_json())
            bundle.writestr("stats.txt", "\n".join(format_stats(snapshot)) + "\n")
            bundle.writestr("session.json", json.dumps(facts, indent=2))
            for name in sorted(captures):
                bundle.writestr(f"capture/{name}", captures[name])
            return bundle.namelist()

    return write


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "report",
        help=HELP["report"],
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_connection_args(p, timeout_help="give up connecting after S seconds (default 10)")
    p.add_argument("output", metavar="OUT.zip", help="the bundle to write")
    p.add_argument("--seconds", type=float, default=3.0, metavar="S", help="watch for S seconds (default 3)")
    p.set_defaults(command=run)


async def run(args: argparse.Namespace, out: TextIO) -> ExitCode:
    if not 0 < args.seconds <= 3600:
        raise UsageError("--seconds must be in (0, 3600]")
    check_connection_args(args)
    if getattr(args, "capture", None):
        raise UsageError("spice report captures by itself; leave out --capture")
    target = Path(args.output)
    with tempfile.TemporaryDirectory(prefix="spice-report-") as tmp:
        capture_dir = Path(tmp) / "capture"
        with spice_net.capture_to(capture_dir):
            async with open_session(args) as session:
                session.events().close()
                await trio.sleep(args.seconds)
                write = take_bundle(session)
        # written once the channels are closed, so their captures are complete
        captures = {path.name: path.read_bytes() for path in capture_dir.iterdir()}
        try:
            names = write(target, captures)
        except OSError as exc:
            raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None
    print(f"{target}: {len(names)} files ({', '.join(names)})", file=out, flush=True)
    return ExitCode.OK
