"""The .vv version keys: virt-viewer's comparison rule, and what this client enforces
(only versions=spice-cli:V, and version= when asked) or reports."""

from __future__ import annotations

import pytest
from spice_session.lowlevel import OWN_OS_ID, check_vv_versions, compare_versions, parse_vv

BASE = "[virt-viewer]\ntype=spice\nhost=h\nport=5900\n"


@pytest.mark.parametrize(
    ("a", "b", "order"),
    [
        ("1.10", "1.7", 1),
        ("1.1-1", "1.0-1", 1),
        ("1.0-2", "1.0-1", 1),
        ("1.0-1", "1.0-1", 0),
        ("1.0", "1.0.1", -1),
        ("2.0-160", "2.0", 0),  # a release on one side only: the versions decide
        ("99.0-1", "0.1.0", 1),
        ("0.1.0", "0.2", -1),
        ("1.0rc1", "1.0rc2", 0),  # suffixes are not compared, as virt-viewer does
        ("10", "9.9", 1),
    ],
)
def test_compare_versions(a: str, b: str, order: int) -> None:
    assert compare_versions(a, b) == order
    assert compare_versions(b, a) == -order


def test_virt_viewer_minimums_are_reported_not_enforced() -> None:
    vv = parse_vv(
        BASE
        + "versions=rhev-win64:2.0-160;rhel8:99.0-1\nversion=99.0\nnewer-version-url=https://example.org/vv\n"
    )
    check = check_vv_versions(vv, "0.1.0")
    assert check.satisfied and check.error() is None and check.required is None
    assert check.foreign == {"rhev-win64": "2.0-160", "rhel8": "99.0-1", "": "99.0"}
    assert check.notice() == (
        "the file asks for virt-viewer 99.0, rhel8: 99.0-1, rhev-win64: 2.0-160; not checked, "
        "spice-cli is not virt-viewer (newer virt-viewer: https://example.org/vv)"
    )


def test_own_minimum_is_enforced() -> None:
    vv = parse_vv(
        BASE + f"versions=rhel8:9.0;{OWN_OS_ID}:0.2-3\nnewer-version-url=https://example.org/spice\n"
    )
    check = check_vv_versions(vv, "0.1.0")
    assert not check.satisfied and check.required == "0.2-3"
    assert (
        check.error()
        == "this file needs spice-cli 0.2-3 or newer (this is 0.1.0); newer versions: https://example.org/spice"
    )
    assert check.foreign == {"rhel8": "9.0"}
    assert check_vv_versions(vv, "0.2").satisfied
    assert check_vv_versions(vv, "0.2-3").satisfied and not check_vv_versions(vv, "0.2-2").satisfied


def test_plain_version_enforced_when_asked() -> None:
    vv = parse_vv(BASE + "version=0.3\n")
    assert check_vv_versions(vv, "0.1.0").satisfied
    strict = check_vv_versions(vv, "0.1.0", enforce_generic=True)
    assert not strict.satisfied and strict.error() == "this file needs spice-cli 0.3 or newer (this is 0.1.0)"
    assert strict.notice() is None
    assert check_vv_versions(vv, "0.3.1", enforce_generic=True).satisfied
    assert check_vv_versions(parse_vv(BASE), "0.1.0").notice() is None
