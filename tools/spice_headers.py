"""Read the enum and #define facts out of the spice-protocol C headers.

Used by ``gen_enums.py`` (which writes ``spice_proto/_enums.py``) and by the test
that checks our constants against whatever headers the machine has installed.
Only the small subset of C that those headers use is understood.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

HEADER_DIR = Path("/usr/include/spice-1/spice")

_ENUM_RE = re.compile(r"(typedef\s+)?enum\s*(\w*)\s*\{(.*?)\}\s*(\w*)\s*;", re.S)
_DEFINE_RE = re.compile(r"^#define\s+(SPICE_\w+)\s+(.+?)\s*$", re.M)

# Anonymous enums are named by the prefix of their first member.
_ANONYMOUS: list[tuple[str, str, str]] = [
    # (first-member prefix, python class name, member prefix to strip)
    ("SPICE_CHANNEL_", "ChannelType", "SPICE_CHANNEL_"),
    ("SPICE_MSG_MIGRATE", "CommonMsg", "SPICE_MSG_"),
    ("SPICE_MSGC_ACK_SYNC", "CommonMsgc", "SPICE_MSGC_"),
    ("SPICE_MSG_MAIN_", "MainMsg", "SPICE_MSG_MAIN_"),
    ("SPICE_MSGC_MAIN_", "MainMsgc", "SPICE_MSGC_MAIN_"),
    ("SPICE_MSG_DISPLAY_", "DisplayMsg", "SPICE_MSG_DISPLAY_"),
    ("SPICE_MSGC_DISPLAY_", "DisplayMsgc", "SPICE_MSGC_DISPLAY_"),
    ("SPICE_MSG_INPUTS_", "InputsMsg", "SPICE_MSG_INPUTS_"),
    ("SPICE_MSGC_INPUTS_", "InputsMsgc", "SPICE_MSGC_INPUTS_"),
    ("SPICE_MSG_CURSOR_", "CursorMsg", "SPICE_MSG_CURSOR_"),
    ("SPICE_MSG_PLAYBACK_", "PlaybackMsg", "SPICE_MSG_PLAYBACK_"),
    ("SPICE_MSG_RECORD_", "RecordMsg", "SPICE_MSG_RECORD_"),
    ("SPICE_MSGC_RECORD_", "RecordMsgc", "SPICE_MSGC_RECORD_"),
    ("SPICE_MSG_SMARTCARD_", "SmartcardMsg", "SPICE_MSG_SMARTCARD_"),
    ("SPICE_MSGC_SMARTCARD_", "SmartcardMsgc", "SPICE_MSGC_SMARTCARD_"),
    ("SPICE_MSG_SPICEVMC_", "SpicevmcMsg", "SPICE_MSG_SPICEVMC_"),
    ("SPICE_MSGC_SPICEVMC_", "SpicevmcMsgc", "SPICE_MSGC_SPICEVMC_"),
    ("SPICE_MSG_PORT_", "PortMsg", "SPICE_MSG_PORT_"),
    ("SPICE_MSGC_PORT_", "PortMsgc", "SPICE_MSGC_PORT_"),
    ("SPICE_COMMON_CAP_", "CommonCap", "SPICE_COMMON_CAP_"),
    ("SPICE_PLAYBACK_CAP_", "PlaybackCap", "SPICE_PLAYBACK_CAP_"),
    ("SPICE_RECORD_CAP_", "RecordCap", "SPICE_RECORD_CAP_"),
    ("SPICE_MAIN_CAP_", "MainCap", "SPICE_MAIN_CAP_"),
    ("SPICE_DISPLAY_CAP_", "DisplayCap", "SPICE_DISPLAY_CAP_"),
    ("SPICE_INPUTS_CAP_", "InputsCap", "SPICE_INPUTS_CAP_"),
    ("SPICE_SPICEVMC_CAP_", "SpicevmcCap", "SPICE_SPICEVMC_CAP_"),
    ("SPICE_PORT_EVENT_", "PortEvent", "SPICE_PORT_EVENT_"),
]

# Named enums whose members do not share the obvious prefix.
_PREFIX_OVERRIDE = {"SpiceResourceType": "SPICE_RES_TYPE_"}

# The headers spell the mixed-case VSC members and one typo; we keep their spelling.
_SKIP_SUFFIXES = ("_ENUM_END",)


@dataclass
class HeaderEnum:
    """One C enum: its Python class name and ``{python_member: value}``."""

    python_name: str
    is_flag: bool
    members: dict[str, int] = field(default_factory=dict)
    c_names: dict[str, str] = field(default_factory=dict)


def _eval(expr: str, known: dict[str, int]) -> int:
    expr = expr.strip()
    if not re.fullmatch(r"[\w\s()<>|+/]+", expr):
        raise ValueError(f"cannot evaluate {expr!r}")
    expr = expr.replace("/", "//")
    return int(eval(expr, {"__builtins__": {}}, dict(known)))


def _common_prefix(names: list[str]) -> str:
    if len(names) == 1:
        return names[0].rsplit("_", 1)[0] + "_"
    prefix = names[0]
    for n in names[1:]:
        while not n.startswith(prefix):
            prefix = prefix[:-1]
    return prefix[: prefix.rfind("_") + 1]


def _is_skipped(c_name: str) -> bool:
    if c_name.endswith(_SKIP_SUFFIXES):
        return True
    return bool(re.fullmatch(r"SPICE_(MSGC?_)?END_\w+|SPICE_MSG_BASE_LAST", c_name))


def parse_enums(text: str) -> list[HeaderEnum]:
    """Every enum in one header's text, with values resolved."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    text = text.replace("SPICE_GNUC_DEPRECATED", "")
    out: list[HeaderEnum] = []
    for m in _ENUM_RE.finditer(text):
        c_type = m.group(2) or m.group(4)
        entries = [e.strip() for e in m.group(3).split(",") if e.strip()]
        values: dict[str, int] = {}
        order: list[str] = []
        nxt = 0
        shift_style = False
        for entry in entries:
            name, _, expr = entry.partition("=")
            name = name.strip()
            if expr:
                shift_style = shift_style or "<<" in expr
                value = _eval(expr, values)
            else:
                value = nxt
            values[name] = value
            order.append(name)
            nxt = value + 1
        kept = [n for n in order if not _is_skipped(n)]
        if c_type:
            py_name = c_type.removeprefix("Spice")
            prefix = _PREFIX_OVERRIDE.get(c_type) or _common_prefix(kept)
        else:
            for first, py, strip in _ANONYMOUS:
                if order[0].startswith(first):
                    py_name, prefix = py, strip
                    break
            else:
                raise ValueError(f"unknown anonymous enum starting {order[0]}")
        enum = HeaderEnum(py_name, shift_style)
        for c_name in kept:
            value = values[c_name]
            member = c_name.removeprefix(prefix)
            if shift_style and (member == "MASK" or value & (value - 1)):
                continue  # *_MASK: the union of the flags, not a flag of its own
            if member[0].isdigit():
                member = prefix.rstrip("_").rsplit("_", 1)[-1] + "_" + member
            enum.members[member] = value
            enum.c_names[member] = c_name
        out.append(enum)
    return out


def parse_defines(text: str) -> dict[str, int]:
    """Integer ``#define SPICE_*`` constants of one header (others are ignored)."""
    found: dict[str, int] = {}
    for name, expr in _DEFINE_RE.findall(text):
        expr = expr.split("//")[0].strip()
        try:
            found[name] = _eval(expr, found)
        except (ValueError, SyntaxError, NameError):
            continue
    return found


def load(header_dir: Path = HEADER_DIR) -> tuple[list[HeaderEnum], dict[str, int]]:
    """All enums of enums.h and protocol.h, and protocol.h's integer defines."""
    enums: list[HeaderEnum] = []
    defines: dict[str, int] = {}
    for name in ("enums.h", "protocol.h"):
        text = (header_dir / name).read_text()
        enums.extend(parse_enums(text))
        defines.update(parse_defines(text))
    return enums, defines
