"""Public surface of spice_net: its error hierarchy and the README example."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import spice_net
import spice_proto

README = Path(__file__).resolve().parents[2] / "packages" / "spice-net" / "README.md"


def test_exceptions_are_spice_net_errors() -> None:
    """The names themselves are pinned in tests/test_public_api.py."""
    errors = [getattr(spice_net, name) for name in spice_net.__all__]
    errors = [obj for obj in errors if isinstance(obj, type) and issubclass(obj, BaseException)]
    assert {e.__name__ for e in errors} == {
        "SpiceNetError",
        "AuthenticationFailed",
        "ChannelClosed",
        "ConnectFailed",
        "ConnectTimeout",
        "LinkRefused",
        "NeedSecured",
        "NotSpiceServer",
        "ProtocolViolation",
        "TLSVerificationFailed",
        "InvalidProxy",
        "ProxyAuthRequired",
        "ProxyFailed",
        "CaptureError",
        "SaslUnsupported",
    }
    for obj in errors:
        assert issubclass(obj, spice_net.SpiceNetError), obj


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
