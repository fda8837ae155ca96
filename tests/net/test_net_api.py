"""Public surface of spice_net: pinned exports and the README example."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import spice_net
import spice_proto

README = Path(__file__).resolve().parents[2] / "packages" / "spice-net" / "README.md"


def test_exports() -> None:
    assert sorted(spice_net.__all__) == sorted(
        [
            "AuthenticationFailed",
            "BaseChannel",
            "Channel",
            "ChannelClosed",
            "ConnectFailed",
            "ConnectTimeout",
            "LinkDecision",
            "LinkRefused",
            "NeedSecured",
            "NotSpiceServer",
            "ProtocolViolation",
            "ServerChannel",
            "SpiceNetError",
            "SpiceSSLContext",
            "TLSVerificationFailed",
            "TicketKey",
            "TicketKeyPool",
            "__version__",
            "accept_channel",
            "client_ssl_context",
            "encrypt_ticket",
            "error_leaves",
            "link_channel",
            "open_channel",
            "parse_host_subject",
            "server_ssl_context",
            "single_error",
        ]
    )
    for name in spice_net.__all__:
        assert getattr(spice_net, name) is not None
    for name in spice_net.__all__:
        obj = getattr(spice_net, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, spice_net.SpiceNetError), name


def test_proto_link_exports() -> None:
    for name in ["Connection", "NEED_DATA", "LinkMess", "LinkReply", "DataHeader", "MiniHeader", "Pong"]:
        assert name in spice_proto.__all__


def test_readme_example_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "README has no python example"
    result = subprocess.run(
        [sys.executable, "-c", blocks[0]], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Ping(id=1, timestamp=0, data=b'')"
