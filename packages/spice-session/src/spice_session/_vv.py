"""``.vv`` connection files, read the way remote-viewer reads them.

Proxmox, oVirt and OpenStack hand these out: a GLib key file with a ``[virt-viewer]``
group whose ``type`` is ``spice``, then host, ports, a ticket, an inline CA (``\\n``
escapes), a host subject, an HTTP ``proxy`` and viewer preferences.  Other groups
(``[ovirt]``...) and unknown keys are ignored, as remote-viewer ignores them.
With ``delete-this-file=1`` the file is removed once read, unless
``$VIRT_VIEWER_KEEP_FILE`` is set.  Neither the password nor proxy credentials
appear in a ``repr`` or an error message.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path

import spice_net
from spice_net import HttpProxy, InvalidProxy, parse_proxy
from spice_proto.lowlevel import frozen

from ._errors import InvalidURI
from ._uri import SpiceURI

__all__ = ["HOTKEY_NAMES", "KEEP_FILE_ENV", "MAX_VV_SIZE", "InvalidVVFile", "VVFile", "load_vv", "parse_vv"]

#: The environment variable that keeps a ``delete-this-file`` file (any value).
KEEP_FILE_ENV = "VIRT_VIEWER_KEEP_FILE"
#: The largest .vv file read (real ones are a few kB).
MAX_VV_SIZE = 1 << 20
#: Longest value of one key (a CA bundle fits many times over).
_MAX_VALUE = 256 * 1024
#: The hot-key keys of a .vv file (values in spice-gtk's "ctrl+alt+f" notation).
HOTKEY_NAMES = (
    "toggle-fullscreen",
    "release-cursor",
    "zoom-in",
    "zoom-out",
    "zoom-reset",
    "smartcard-insert",
    "smartcard-remove",
    "secure-attention",
    "usb-device-reset",
)
_GROUP = "virt-viewer"
_SECRET_KEYS = frozenset({"password", "proxy"})
_ESCAPES = {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}
_KEY = re.compile(r"[A-Za-z0-9-]+(\[[^\]]+\])?")
_HOTKEY = re.compile(r"[A-Za-z0-9_]+(\+[A-Za-z0-9_]+)*")
_VERSION = re.compile(r"[0-9][0-9A-Za-z.+~-]{0,63}")
_CHANNEL = re.compile(r"[a-z][a-z0-9-]{0,31}")


class InvalidVVFile(InvalidURI):
    """A .vv file that cannot be used; the message names the file, line or key, never a secret."""


@frozen
class VVFile:
    """The connection settings of a .vv file (keys not given are ``None`` / empty / ``False``;
    ``enable_usbredir`` and ``enable_usb_autoshare`` are ``None`` when not given).

    :meth:`uri` is where to connect; ``password``, ``ca`` (PEM text), ``host_subject``,
    ``proxy``, ``secure_channels`` and ``tls_ciphers`` say how.  The rest are viewer
    preferences, kept as the file gives them.
    """

    type: str
    host: str | None = None
    port: int | None = None
    tls_port: int | None = None
    unix_path: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca: str | None = field(default=None, repr=False)
    host_subject: str | None = None
    tls_ciphers: str | None = None
    secure_channels: tuple[str, ...] = ()
    disable_channels: tuple[str, ...] = ()
    proxy: HttpProxy | None = None
    title: str | None = None
    fullscreen: bool = False
    hotkeys: Mapping[str, str] = field(default_factory=dict)
    enable_smartcard: bool = False
    enable_usbredir: bool | None = None
    enable_usb_autoshare: bool | None = None
    usb_filter: str | None = None
    disable_effects: tuple[str, ...] = ()
    color_depth: int | None = None
    delete_this_file: bool = False
    version: str | None = None
    versions: Mapping[str, str] = field(default_factory=dict)
    newer_version_url: str | None = None

    def uri(self) -> SpiceURI:
        """Where to connect, as a :class:`SpiceURI` (the password included, never shown)."""
        if self.unix_path is not None:
            return SpiceURI("", password=self.password, unix_path=self.unix_path, username=self.username)
        return SpiceURI(
            self.host or "", self.port, self.tls_port, password=self.password, username=self.username
        )


def _unescape(value: str, key: str, line: int) -> str:
    if "\\" not in value:
        return value
    out: list[str] = []
    chars = iter(value)
    for ch in chars:
        if ch != "\\":
            out.append(ch)
            continue
        nxt = next(chars, "")
        if nxt not in _ESCAPES:
            shown = "" if key in _SECRET_KEYS else f" \\{nxt}"
            raise InvalidVVFile(f"line {line}: key {key!r} has an invalid escape{shown}")
        out.append(_ESCAPES[nxt])
    return "".join(out)


def _split_list(value: str, key: str, line: int) -> tuple[str, ...]:
    items: list[str] = []
    current: list[str] = []
    chars = iter(value)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            if nxt == ";":
                current.append(";")
                continue
            if nxt not in _ESCAPES:
                raise InvalidVVFile(f"line {line}: key {key!r} has an invalid escape \\{nxt}")
            current.append(_ESCAPES[nxt])
        elif ch == ";":
            items.append("".join(current))
            current = []
        else:
            current.append(ch)
    if current:
        items.append("".join(current))
    return tuple(item.strip() for item in items if item.strip())


def _read_groups(text: str) -> dict[str, dict[str, tuple[str, int]]]:
    """GLib key-file structure: groups of key -> (raw value, line number); later keys win."""
    groups: dict[str, dict[str, tuple[str, int]]] = {}
    current: dict[str, tuple[str, int]] | None = None
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw[:-1] if raw.endswith("\r") else raw
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("["):
            if not stripped.endswith("]") or len(stripped) < 3 or any(c in stripped[1:-1] for c in "[]"):
                raise InvalidVVFile(f"line {number}: malformed group header")
            current = groups.setdefault(stripped[1:-1], {})
            continue
        key, equals, value = line.partition("=")
        key = key.strip()
        if not equals or not key:
            raise InvalidVVFile(f"line {number}: not a key=value pair, [group] or # comment")
        if current is None:
            raise InvalidVVFile(f"line {number}: key {key[:40]!r} before the first [group]")
        if not _KEY.fullmatch(key):
            raise InvalidVVFile(f"line {number}: invalid key name {key[:40]!r}")
        value = value.lstrip(" \t")
        if len(value) > _MAX_VALUE:
            raise InvalidVVFile(
                f"line {number}: the value of {key!r} is {len(value)} characters (at most {_MAX_VALUE})"
            )
        current[key] = (value, number)
    return groups


class _Values:
    """Typed access to the [virt-viewer] group; each error names the key and line."""

    def __init__(self, group: dict[str, tuple[str, int]]) -> None:
        self.group = group

    def string(self, key: str) -> str | None:
        if key not in self.group:
            return None
        raw, line = self.group[key]
        value = _unescape(raw, key, line)
        if "\0" in value:
            raise InvalidVVFile(f"line {line}: key {key!r} contains a NUL character")
        return value

    def text(self, key: str, limit: int = 4096) -> str | None:
        value = self.string(key)
        if value is not None and len(value) > limit:
            _, line = self.group[key]
            raise InvalidVVFile(f"line {line}: the value of {key!r} is longer than {limit} characters")
        return value

    def integer(self, key: str, low: int, high: int) -> int | None:
        if key not in self.group:
            return None
        raw, line = self.group[key]
        text = raw.strip()
        if not re.fullmatch(r"[+-]?[0-9]{1,10}", text):
            shown = "" if key in _SECRET_KEYS else f" {text[:20]!r}"
            raise InvalidVVFile(f"line {line}: key {key!r} is not an integer{shown}")
        value = int(text)
        if not low <= value <= high:
            raise InvalidVVFile(f"line {line}: key {key!r} is {value}, outside {low}..{high}")
        return value

    def flag(self, key: str) -> bool:
        value = self.integer(key, -(2**31), 2**31 - 1)
        return bool(value)

    def port(self, key: str) -> int | None:
        value = self.integer(key, -1, 65535)
        return value if value is not None and value > 0 else None  # 0 and -1 mean "none"

    def names(self, key: str) -> tuple[str, ...]:
        if key not in self.group:
            return ()
        raw, line = self.group[key]
        items = _split_list(raw, key, line)
        if len(items) > 64:
            raise InvalidVVFile(f"line {line}: key {key!r} lists {len(items)} entries (at most 64)")
        return items


def parse_vv(data: str | bytes) -> VVFile:
    """Parse the text of a .vv file; :class:`InvalidVVFile` says what is wrong (never a secret)."""
    if isinstance(data, bytes):
        if len(data) > MAX_VV_SIZE:
            raise InvalidVVFile(f"{len(data)} bytes: larger than a .vv file can be ({MAX_VV_SIZE})")
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidVVFile(f"not UTF-8 text (byte {exc.start})") from None
    if len(data) > MAX_VV_SIZE:
        raise InvalidVVFile(f"{len(data)} characters: larger than a .vv file can be ({MAX_VV_SIZE})")
    if data.startswith("\ufeff"):
        data = data[1:]
    groups = _read_groups(data)
    if _GROUP not in groups or "type" not in groups[_GROUP]:
        raise InvalidVVFile("not a virt-viewer file: no [virt-viewer] group with a type= key")
    v = _Values(groups[_GROUP])
    kind = (v.text("type", 32) or "").strip()
    if kind != "spice":
        raise InvalidVVFile(f"type={kind[:32]!r}: only spice connections are supported")

    host = v.text("host", 1024)
    unix_path = v.text("unix-path", 1024)
    port, tls_port = v.port("port"), v.port("tls-port")
    if unix_path is None:
        if not host:
            raise InvalidVVFile("no host= (and no unix-path=)")
        if port is None and tls_port is None:
            raise InvalidVVFile("neither port= nor tls-port= gives a port")
    password = v.text("password", 1024)
    ca = v.string("ca")
    if ca is not None and "-----BEGIN CERTIFICATE-----" not in ca:
        raise InvalidVVFile(f"line {v.group['ca'][1]}: ca= holds no PEM certificate")
    host_subject = v.text("host-subject", 1024)
    if host_subject is not None:
        try:
            spice_net.parse_host_subject(host_subject)
        except ValueError as exc:
            raise InvalidVVFile(f"line {v.group['host-subject'][1]}: host-subject: {exc}") from None
    proxy = None
    proxy_text = v.text("proxy", 4096)
    if proxy_text:
        try:
            proxy = parse_proxy(proxy_text)
        except InvalidProxy as exc:
            raise InvalidVVFile(f"line {v.group['proxy'][1]}: {exc}") from None
    hotkeys: dict[str, str] = {}
    for name in HOTKEY_NAMES:
        combo = v.text(name, 128)
        if combo:
            if not _HOTKEY.fullmatch(combo.strip()):
                raise InvalidVVFile(
                    f"line {v.group[name][1]}: {name}={combo[:40]!r} is not a hot key like ctrl+alt+f"
                )
            hotkeys[name] = combo.strip()
    secure = v.names("secure-channels")
    disabled = v.names("disable-channels")
    for key, names in (("secure-channels", secure), ("disable-channels", disabled)):
        for name in names:
            if not _CHANNEL.fullmatch(name):
                raise InvalidVVFile(f"line {v.group[key][1]}: {key} names {name[:32]!r}, not a channel")
    version = v.text("version", 64)
    if version is not None and not _VERSION.fullmatch(version.strip()):
        raise InvalidVVFile(f"line {v.group['version'][1]}: version={version[:32]!r} is not a version number")
    versions: dict[str, str] = {}
    for item in v.names("versions"):
        os_id, colon, ver = item.partition(":")
        if not colon or not os_id or not _VERSION.fullmatch(ver):
            raise InvalidVVFile(
                f"line {v.group['versions'][1]}: versions entry {item[:40]!r} is not ID:VERSION"
            )
        versions[os_id] = ver
    return VVFile(
        type=kind,
        host=host,
        port=port,
        tls_port=tls_port,
        unix_path=unix_path,
        username=v.text("username", 256),
        password=password,
        ca=ca,
        host_subject=host_subject,
        tls_ciphers=v.text("tls-ciphers", 1024),
        secure_channels=secure,
        disable_channels=disabled,
        proxy=proxy,
        title=v.text("title", 1024),
        fullscreen=v.flag("fullscreen"),
        hotkeys=hotkeys,
        enable_smartcard=v.flag("enable-smartcard"),
        enable_usbredir=v.flag("enable-usbredir") if "enable-usbredir" in v.group else None,
        enable_usb_autoshare=v.flag("enable-usb-autoshare") if "enable-usb-autoshare" in v.group else None,
        usb_filter=v.text("usb-filter", 4096),
        disable_effects=v.names("disable-effects"),
        color_depth=v.integer("color-depth", 0, 32),
        delete_this_file=v.flag("delete-this-file"),
        version=version.strip() if version is not None else None,
        versions=versions,
        newer_version_url=v.text("newer-version-url", 2048),
    )


def load_vv(path: str | os.PathLike[str]) -> VVFile:
    """Read and parse the .vv file at ``path``; then delete it if it says ``delete-this-file=1``.

    The file goes even when a value in it is unusable (it may hold a one-time ticket),
    unless ``$VIRT_VIEWER_KEEP_FILE`` is set.  Errors are :class:`InvalidVVFile` naming ``path``.
    """
    where = Path(path)
    try:
        with open(where, "rb") as f:
            data = f.read(MAX_VV_SIZE + 1)
    except OSError as exc:
        raise InvalidVVFile(f"{where}: cannot read: {exc.strerror or exc}") from None
    try:
        try:
            return parse_vv(data)
        finally:
            _maybe_delete(where, data)
    except InvalidVVFile as exc:
        raise InvalidVVFile(f"{where}: {exc}") from None


def _maybe_delete(path: Path, data: bytes) -> None:
    """remote-viewer's rule: a structurally valid file that asks to be deleted is deleted."""
    if os.environ.get(KEEP_FILE_ENV) is not None:
        return
    try:
        groups = _read_groups(data.decode("utf-8"))
        entry = groups.get(_GROUP, {}).get("delete-this-file")
        if (
            entry is None
            or "type" not in groups[_GROUP]
            or not re.fullmatch(r"\s*[+-]?0*[1-9][0-9]*\s*", entry[0])
        ):
            return
    except (InvalidVVFile, UnicodeDecodeError):
        return
    try:
        path.unlink()
    except OSError:
        pass
