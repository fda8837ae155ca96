"""The spice command with a .vv file's version keys: oVirt's minimums for virt-viewer are
reported (naming newer-version-url) and the file opens; versions=spice-cli:V and, with
--enforce-vv-version, version=V refuse a spice-cli older than V before connecting."""

from __future__ import annotations

from pathlib import Path

from test_cli_deployments import TICKET, spice, unix_server  # noqa: F401 - unix_server is a fixture

URL = "https://example.org/get-a-newer-client"


def _vv(tmp_path: Path, socket: str, extra: str) -> str:
    path = tmp_path / "console.vv"
    path.write_text(
        f"[virt-viewer]\ntype=spice\nunix-path={socket}\npassword={TICKET}\n{extra}"
        f"newer-version-url={URL}\n[ovirt]\nhost=engine.example.org\n"
    )
    return str(path)


async def test_ovirt_minimums_for_virt_viewer_are_a_notice(unix_server: str, tmp_path: Path) -> None:  # noqa: F811
    vv = _vv(tmp_path, unix_server, "versions=rhev-win64:2.0-160;rhel8:99.0-1\nversion=99.0\n")
    result = await spice("screenshot", vv, str(tmp_path / "shot.png"))
    err = result.stderr.decode()
    assert result.returncode == 0, err
    assert (tmp_path / "shot.png").stat().st_size > 1000
    assert "spice: the file asks for virt-viewer 99.0, rhel8: 99.0-1, rhev-win64: 2.0-160; not checked" in err
    assert URL in err and TICKET not in err


async def test_a_spice_cli_minimum_is_enforced(unix_server: str, tmp_path: Path) -> None:  # noqa: F811
    vv = _vv(tmp_path, unix_server, "versions=rhel8:1.0;spice-cli:99.0-1\n")
    result = await spice("screenshot", vv, str(tmp_path / "shot.png"))
    err = result.stderr.decode()
    assert result.returncode == 2, err
    assert f"this file needs spice-cli 99.0-1 or newer (this is 0.1.0); newer versions: {URL}" in err
    assert not (tmp_path / "shot.png").exists() and TICKET not in err
    ok = _vv(tmp_path, unix_server, "versions=spice-cli:0.1\n")
    result = await spice("screenshot", ok, str(tmp_path / "shot.png"))
    assert result.returncode == 0 and b"virt-viewer" not in result.stderr, result.stderr


async def test_plain_version_refused_only_when_enforced(unix_server: str, tmp_path: Path) -> None:  # noqa: F811
    vv = _vv(tmp_path, unix_server, "version=5.0\n")
    strict = await spice("screenshot", vv, str(tmp_path / "a.png"), "--enforce-vv-version")
    assert strict.returncode == 2 and b"needs spice-cli 5.0 or newer" in strict.stderr, strict.stderr
    lenient = await spice("screenshot", vv, str(tmp_path / "b.png"))
    assert lenient.returncode == 0 and b"asks for virt-viewer 5.0; not checked" in lenient.stderr
