"""Our constants against the spice-protocol C headers installed on this machine."""

from __future__ import annotations

import os
from enum import Enum

import pytest
import spice_headers
import spice_proto

HEADERS_PRESENT = (spice_headers.HEADER_DIR / "enums.h").exists()
requires_headers = pytest.mark.skipif(
    not HEADERS_PRESENT and not os.environ.get("SPICE_REQUIRE_INTEROP"),
    reason="libspice-protocol-dev headers not installed",
)


@requires_headers
def test_every_header_enum_matches() -> None:
    enums, _ = spice_headers.load()
    assert len(enums) > 50
    for header_enum in enums:
        ours = getattr(spice_proto, header_enum.python_name)
        assert issubclass(ours, Enum)
        theirs = dict(header_enum.members)
        mine = {name: int(member.value) for name, member in ours.__members__.items()}
        assert mine == theirs, header_enum.python_name


@requires_headers
def test_defines_match() -> None:
    _, defines = spice_headers.load()
    assert defines["SPICE_VERSION_MAJOR"] == spice_proto.VERSION_MAJOR == 2
    assert defines["SPICE_VERSION_MINOR"] == spice_proto.VERSION_MINOR == 2
    assert defines["SPICE_MAX_PASSWORD_LENGTH"] == spice_proto.MAX_PASSWORD_LENGTH
    assert defines["SPICE_TICKET_PUBKEY_BYTES"] == spice_proto.TICKET_PUBKEY_BYTES == 162
    assert defines["SPICE_INPUT_MOTION_ACK_BUNCH"] == spice_proto.INPUT_MOTION_ACK_BUNCH


def test_numbers_public_reimplementations_got_wrong() -> None:
    assert spice_proto.DisplayMsg.STREAM_DATA_SIZED == 316
    assert spice_proto.DisplayMsg.STREAM_ACTIVATE_REPORT == 319
    assert spice_proto.ImageType.LZ_PLT == 100
    assert spice_proto.ImageType.LZ4 == 109
    assert spice_proto.CursorFlags.NONE == 1


def test_parser_understands_shifts_and_implicit_values() -> None:
    text = (
        "typedef enum SpiceDemoFlags { SPICE_DEMO_A = (1 << 0), SPICE_DEMO_B = (1 << 3),"
        " SPICE_DEMO_MASK = 0x9 } X;"
    )
    (enum,) = spice_headers.parse_enums(text)
    assert enum.is_flag
    assert enum.members == {"A": 1, "B": 8}
    text = "enum { SPICE_MSG_MAIN_X = 101, SPICE_MSG_MAIN_Y, SPICE_MSG_END_MAIN };"
    (enum,) = spice_headers.parse_enums(text)
    assert enum.python_name == "MainMsg"
    assert enum.members == {"X": 101, "Y": 102}
