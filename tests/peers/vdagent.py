"""The real guest agent on an Xspice display: spice-vdagentd plus spice-vdagent.

Xspice must be started with :func:`xspice_agent_env` (it then creates the virtio
socket the daemon opens).  The daemon runs without logind (``-X``) and with a fake
uinput file; the session agent saves received files in ``downloads``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import procs
from .require import require_binary
from .x11 import XDisplay
from .xspice import Xspice


@dataclass(frozen=True)
class AgentPaths:
    """Where the agent's sockets and files live (one directory per test)."""

    root: Path

    @property
    def virtio(self) -> Path:
        return self.root / "virtio"

    @property
    def uinput(self) -> Path:
        return self.root / "uinput"

    @property
    def udcs(self) -> Path:
        return self.root / "vdagentd.sock"

    @property
    def downloads(self) -> Path:
        return self.root / "downloads"


def xspice_agent_env(paths: AgentPaths) -> dict[str, str]:
    """The XSPICE_* settings that give Xspice an agent port at ``paths.virtio``."""
    paths.root.mkdir(parents=True, exist_ok=True)
    return {
        "XSPICE_VDAGENT_ENABLED": "1",
        "XSPICE_VDAGENT_VIRTIO_PATH": str(paths.virtio),
        "XSPICE_VDAGENT_UINPUT_PATH": str(paths.uinput),
    }


class VdAgent:
    """The daemon and the session agent, stopped (by pid) with :meth:`stop`."""

    def __init__(self, daemon: procs.Proc, agent: procs.Proc, paths: AgentPaths) -> None:
        self.daemon = daemon
        self.agent = agent
        self.paths = paths

    def stop(self) -> None:
        procs.stop(self.agent, timeout=2.0)
        procs.stop(self.daemon, timeout=2.0)


def start_vdagent(xspice: Xspice, paths: AgentPaths) -> VdAgent:
    """Start spice-vdagentd on Xspice's virtio socket, then spice-vdagent on its display."""
    require_binary("spice-vdagent")
    daemon_bin = "/usr/sbin/spice-vdagentd"
    if not os.path.exists(daemon_bin):
        require_binary("spice-vdagentd")
        daemon_bin = "spice-vdagentd"
    procs.wait_until("the agent's virtio socket", paths.virtio.exists, xspice.proc)
    paths.downloads.mkdir(parents=True, exist_ok=True)
    logs = paths.root / "logs"
    daemon = procs.start(
        "spice-vdagentd",
        [
            daemon_bin,
            "-x",
            "-X",
            "-f",
            "-S",
            str(paths.udcs),
            "-s",
            str(paths.virtio),
            "-u",
            str(paths.uinput),
        ],
        logs,
    )
    try:
        procs.wait_until("the vdagentd socket", paths.udcs.exists, daemon)
        home = paths.root / "home"
        home.mkdir(exist_ok=True)
        agent = procs.start(
            "spice-vdagent",
            [
                "spice-vdagent",
                "-x",
                "-s",
                str(paths.virtio),
                "-S",
                str(paths.udcs),
                "-f",
                str(paths.downloads),
            ],
            logs,
            env={"DISPLAY": xspice.display.name, "HOME": str(home), "XDG_RUNTIME_DIR": str(home)},
        )
    except BaseException:
        procs.stop(daemon)
        raise
    return VdAgent(daemon, agent, paths)


def xspice_with_agent(
    xspice_factory: Callable[..., Xspice], started: list[Any], root: Path, heads: int = 1
) -> tuple[Xspice, VdAgent]:
    """An Xspice with ``heads`` QXL heads and the real agents on it (stopped with the peers:
    the agent goes into ``started``)."""
    paths = AgentPaths(root)
    extra_env = {**xspice_agent_env(paths), "QXL_NUM_HEADS": str(heads)}
    xspice = xspice_factory(extra_env=extra_env)
    agent = start_vdagent(xspice, paths)
    started.append(agent)
    return xspice, agent


def xrandr_shows(display: XDisplay, *geometries: str) -> bool:
    """Whether ``xrandr`` on ``display`` lists every output geometry (``WxH+X+Y``).

    An ``xrandr`` that fails counts as "not yet": while the agent changes the layout it
    can exit 1 (seen once in a full run, on Xspice with two heads)."""
    try:
        out = display.run(["xrandr"]).stdout.decode()
    except subprocess.CalledProcessError:
        return False
    return all(g in out for g in geometries)


def wait_xrandr(display: XDisplay, *geometries: str, timeout: float = 30.0) -> None:
    """Until ``xrandr`` on ``display`` lists these output geometries (the agent applied a layout)."""
    require_binary("xrandr")
    what = f"xrandr showing {', '.join(geometries)}"
    procs.wait_until(what, lambda: xrandr_shows(display, *geometries), timeout=timeout, poll=0.2)
