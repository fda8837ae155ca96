""".vv files (virt-viewer's format) as remote-viewer reads them, and hostile ones."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme
from spice_net import HttpProxy
from spice_session import InvalidURI, SpiceURI
from spice_session._vv import KEEP_FILE_ENV, MAX_VV_SIZE, InvalidVVFile, VVFile, load_vv, parse_vv

TICKET = "b1e9c0a2d3f4e5a6b7c8d9e0f1a2b3c4d5e6f7a8"
PROXY_PW = "pr0xy-pw"


def _ca_line() -> str:
    pem = trustme.CA(organization_name="Proxmox Virtual Environment").cert_pem.bytes().decode()
    return pem.strip().replace("\n", "\\n")


def proxmox_file(ca_line: str) -> str:
    """What a Proxmox VE node hands out for a VM console (values invented, layout as shipped)."""
    return (
        "[virt-viewer]\n"
        "secure-attention=Ctrl+Alt+Ins\n"
        "delete-this-file=1\n"
        "proxy=http://192.0.2.10:3128\n"
        "type=spice\n"
        "tls-port=61000\n"
        "release-cursor=Ctrl+Alt+R\n"
        f"password={TICKET}\n"
        "host-subject=OU=PVE Cluster Node,O=Proxmox Virtual Environment,CN=pve1.example.org\n"
        "toggle-fullscreen=Shift+F11\n"
        "title=VM 100 - debian\n"
        "host=pvespiceproxy:65f1c2a3:100:pve1::0123456789abcdef0123456789abcdef01234567\n"
        f"ca={ca_line}\n"
    )


def test_proxmox_file() -> None:
    ca_line = _ca_line()
    vv = parse_vv(proxmox_file(ca_line))
    assert vv.type == "spice"
    assert vv.host == "pvespiceproxy:65f1c2a3:100:pve1::0123456789abcdef0123456789abcdef01234567"
    assert (vv.port, vv.tls_port) == (None, 61000)
    assert vv.password == TICKET
    assert vv.proxy == HttpProxy("192.0.2.10", 3128)
    assert vv.host_subject == "OU=PVE Cluster Node,O=Proxmox Virtual Environment,CN=pve1.example.org"
    assert vv.ca is not None and vv.ca.startswith("-----BEGIN CERTIFICATE-----\n")
    assert vv.ca == ca_line.replace("\\n", "\n")
    assert vv.delete_this_file and vv.title == "VM 100 - debian"
    assert vv.hotkeys == {
        "toggle-fullscreen": "Shift+F11",
        "release-cursor": "Ctrl+Alt+R",
        "secure-attention": "Ctrl+Alt+Ins",
    }
    uri = vv.uri()
    assert uri == SpiceURI(vv.host, None, 61000, TICKET)
    assert uri.tls_only
    assert TICKET not in repr(vv) and TICKET not in repr(uri) and TICKET not in str(uri)


def test_ovirt_file_crlf_other_groups_unknown_keys_lists() -> None:
    text = (
        "# generated\r\n"
        "[virt-viewer]\r\n"
        "type=spice\r\n"
        "host=10.0.0.5\r\n"
        "port=-1\r\n"
        "tls-port=5901\r\n"
        "password=abc\r\n"
        "fullscreen=0\r\n"
        "enable-usbredir=1\r\n"
        "enable-usb-autoshare=1\r\n"
        "usb-filter=-1,-1,-1,-1,0\r\n"
        "secure-channels=main;inputs;cursor;playback;record;display;smartcard;usbredir\r\n"
        "disable-effects=wallpaper;font-smooth\r\n"
        "color-depth=24\r\n"
        "tls-ciphers=DEFAULT\r\n"
        "version=2.0\r\n"
        "versions=rhev-win64:2.0-160;rhev-win32:2.0-160\r\n"
        "newer-version-url=http://www.ovirt.org/documentation/admin-guide/virt/console-client-resources\r\n"
        "x-made-up-key=whatever \\q escapes here do not matter\r\n"
        "username =  alice\r\n"
        "\r\n"
        "[ovirt]\r\n"
        "host=https://engine.example:443\r\n"
        "vm-guid=0a1b\r\n"
        "sso-token=tok\r\n"
    )
    vv = parse_vv(text.encode())
    assert (vv.host, vv.port, vv.tls_port) == ("10.0.0.5", None, 5901)
    assert vv.secure_channels == (
        "main",
        "inputs",
        "cursor",
        "playback",
        "record",
        "display",
        "smartcard",
        "usbredir",
    )
    assert vv.disable_effects == ("wallpaper", "font-smooth")
    assert (vv.enable_usbredir, vv.enable_usb_autoshare, vv.fullscreen) == (True, True, False)
    assert vv.usb_filter == "-1,-1,-1,-1,0" and vv.color_depth == 24 and vv.tls_ciphers == "DEFAULT"
    assert vv.version == "2.0" and vv.versions == {"rhev-win64": "2.0-160", "rhev-win32": "2.0-160"}
    assert vv.username == "alice"
    assert vv.uri().username == "alice"


def test_key_file_rules() -> None:
    """GLib's: last duplicate wins, groups merge, escapes (\\s \\t \\\\), value's leading blanks dropped."""
    vv = parse_vv(
        "[virt-viewer]\nhost=a\nport=1\n[other]\nport=9\n[virt-viewer]\ntype=spice\nhost=b\n"
        "title=\\sTwo\\tWords\\\\\n"
    )
    assert (vv.host, vv.port, vv.title) == ("b", 1, " Two\tWords\\")
    assert (
        parse_vv("\ufeff[virt-viewer]\ntype=spice\nunix-path=/run/s.sock\n").uri().unix_path == "/run/s.sock"
    )


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ("", "no [virt-viewer] group"),
        ("[ovirt]\ntype=spice\n", "no [virt-viewer] group"),
        ("[virt-viewer]\nhost=h\nport=1\n", "no [virt-viewer] group with a type"),
        ("type=spice\n[virt-viewer]\n", "line 1: key 'type' before the first [group]"),
        ("[virt-viewer\ntype=spice\n", "line 1: malformed group header"),
        ("[virt-viewer]\ntype=spice\njust words\n", "line 3: not a key=value pair"),
        ("[virt-viewer]\ntype=vnc\nhost=h\nport=1\n", "only spice"),
        ("[virt-viewer]\ntype=spice\nport=5900\n", "no host="),
        ("[virt-viewer]\ntype=spice\nhost=h\n", "neither port= nor tls-port="),
        ("[virt-viewer]\ntype=spice\nhost=h\nport=59OO\n", "line 4: key 'port' is not an integer"),
        ("[virt-viewer]\ntype=spice\nhost=h\nport=70000\n", "outside -1..65535"),
        ("[virt-viewer]\ntype=spice\nhost=h\nport=1\ntls-port=99999999999999999999\n", "not an integer"),
        ("[virt-viewer]\ntype=spice\nhost=h\nport=1\ncolor-depth=48\n", "outside 0..32"),
        ("[virt-viewer]\ntype=spice\nhost=h\nport=1\nca=not a certificate\n", "no PEM certificate"),
        ("[virt-viewer]\ntype=spice\nhost=h\nport=1\nca=-----BEGIN CERTIFICATE-----\\x\n", "invalid escape"),
        ("[virt-viewer]\ntype=spice\nhost=h\nport=1\nhost-subject=CN\n", "host-subject"),
        ("[virt-viewer]\ntype=spice\nhost=h\nport=1\nproxy=socks5://h:1\n", "only http://"),
        ("[virt-viewer]\ntype=spice\nhost=h\nport=1\ntoggle-fullscreen=shift+\n", "not a hot key"),
        ("[virt-viewer]\ntype=spice\nhost=h\nport=1\nsecure-channels=main;<b>\n", "not a channel"),
        ("[virt-viewer]\ntype=spice\nhost=h\nport=1\nversion=latest\n", "not a version number"),
        ("[virt-viewer]\ntype=spice\nhost=h\nport=1\nversions=win64\n", "not ID:VERSION"),
        ("[virt-viewer]\ntype=spice\nhost=h\nport=1\ntitle=a\0b\n", "NUL"),
        ("[virt-viewer]\ntype=spice\nhost=" + "h" * 2000 + "\nport=1\n", "longer than 1024"),
        ("[virt-viewer]\ntype=spice\nhost=h\nport=1\ntitle=" + "t" * 300_000 + "\n", "at most 262144"),
        ("[virt-viewer]\ntype=spice\nhost=h\nport=1\nsecure-channels=" + "a;" * 100 + "\n", "at most 64"),
        ("[virt-viewer]\n" + "x" * (MAX_VV_SIZE + 1), "larger than a .vv file"),
    ],
)
def test_broken_files_give_one_clear_error(text: str, fault: str) -> None:
    with pytest.raises(InvalidVVFile, match=fault.replace("[", "\\[").replace("?", "\\?")) as info:
        parse_vv(text)
    assert isinstance(info.value, InvalidURI) and isinstance(info.value, ValueError)


def test_not_utf8() -> None:
    with pytest.raises(InvalidVVFile, match="not UTF-8 text \\(byte 19\\)"):
        parse_vv(b"[virt-viewer]\ntype=\xff\n")


@pytest.mark.parametrize(
    "line",
    [
        f"password=\\{TICKET}",  # a bad escape in the password
        f"proxy=http://bob:{PROXY_PW}@proxy:99999",  # a bad port in a proxy with credentials
        f"proxy=ftp://bob:{PROXY_PW}@proxy:21",
        f"password={TICKET * 40}",  # too long
    ],
)
def test_errors_never_show_secrets(line: str) -> None:
    with pytest.raises(InvalidVVFile) as info:
        parse_vv(f"[virt-viewer]\ntype=spice\nhost=h\nport=1\n{line}\n")
    assert TICKET not in str(info.value) and PROXY_PW not in str(info.value)


def test_proxy_credentials_hidden() -> None:
    vv = parse_vv(f"[virt-viewer]\ntype=spice\nhost=h\nport=1\nproxy=http://bob:{PROXY_PW}@proxy:8080\n")
    assert vv.proxy == HttpProxy("proxy", 8080, "bob", PROXY_PW)
    assert PROXY_PW not in repr(vv) and PROXY_PW not in str(vv.proxy)


def test_delete_this_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEEP_FILE_ENV, raising=False)
    path = tmp_path / "console.vv"
    path.write_text(proxmox_file(_ca_line()))
    vv = load_vv(path)
    assert vv.delete_this_file and not path.exists()

    kept = tmp_path / "kept.vv"
    kept.write_text(proxmox_file(_ca_line()))
    monkeypatch.setenv(KEEP_FILE_ENV, "1")
    assert load_vv(kept).password == TICKET
    assert kept.exists()


def test_delete_this_file_even_when_a_value_is_bad(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ticket must not stay on disk because we disliked another key."""
    monkeypatch.delenv(KEEP_FILE_ENV, raising=False)
    path = tmp_path / "bad.vv"
    path.write_text(f"[virt-viewer]\ntype=spice\ndelete-this-file=1\nhost=h\nport=x\npassword={TICKET}\n")
    with pytest.raises(InvalidVVFile, match=f"{path}: line 5: key 'port'") as info:
        load_vv(path)
    assert TICKET not in str(info.value)
    assert not path.exists()


def test_kept_without_delete_flag_and_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "plain.vv"
    path.write_text("[virt-viewer]\ntype=spice\nhost=h\nport=5900\ndelete-this-file=0\n")
    assert load_vv(path) == VVFile("spice", host="h", port=5900)
    assert path.exists()
    with pytest.raises(InvalidVVFile, match="cannot read"):
        load_vv(tmp_path / "missing.vv")


def test_readme_proxmox_example_parses() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = readme.split("```ini\n", 1)[1].split("```", 1)[0]
    vv = parse_vv(block.replace("MIIB...", "MIIBfake"))
    assert vv.proxy == HttpProxy("192.0.2.10", 3128) and vv.tls_port == 61000 and vv.port is None
    assert vv.host is not None and vv.host.startswith("pvespiceproxy:") and vv.delete_this_file
    assert vv.ca is not None and vv.ca.count("\n") == 3
