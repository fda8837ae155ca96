"""usb-filter rules: parsing C numbers, formatting, the device and interface passes."""

from __future__ import annotations

import pytest
from spice_session._usbredir_filter import (
    FilterRule,
    FilterVerdict,
    UsbFilterError,
    check_filter,
    format_filter,
    parse_filter,
)


def test_filter_parses_c_numbers_and_skips_empty_rules() -> None:
    rules = parse_filter(" 0x08 ,-1,-1,-1,1||0x03,0x046d,-1,-1,0|010,-1,-1,-1,1|")
    assert rules == (
        FilterRule(8, None, None, None, True),
        FilterRule(3, 0x046D, None, None, False),
        FilterRule(8, None, None, None, True),  # 010 is octal
    )
    assert parse_filter(format_filter(rules)) == rules
    assert format_filter(rules[:2]) == "0x08,-1,-1,-1,1|0x03,0x046d,-1,-1,0"
    assert parse_filter("-1;-1;-1;-1;1", token_sep=";") == (FilterRule(None, None, None, None, True),)


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ("0x08,-1,-1,1", "4 fields"),
        ("0x100,-1,-1,-1,1", "class 256 outside"),
        ("1,0x10000,-1,-1,1", "vendor 65536 outside"),
        ("1,-2,-1,-1,1", "vendor -2 outside"),
        ("1,abc,-1,-1,1", "'abc' is not a number"),
        ("1,09,-1,-1,1", "'09' is not a number"),
    ],
)
def test_bad_filters_name_the_fault(text: str, fault: str) -> None:
    with pytest.raises(UsbFilterError, match=fault):
        parse_filter(text)


def _check(
    rules: str, cls: int = 0, interfaces: tuple[tuple[int, int, int], ...] = ((8, 6, 0x50),), **kw: bool
) -> FilterVerdict:
    return check_filter(
        parse_filter(rules),
        device_class=cls,
        vendor_id=0x1234,
        product_id=0x5678,
        device_version_bcd=0x0100,
        interfaces=interfaces,
        **kw,
    )


def test_filter_check_passes() -> None:
    assert _check("0x08,-1,-1,-1,1") == FilterVerdict.ALLOW
    assert _check("0x08,-1,-1,-1,0|-1,-1,-1,-1,1") == FilterVerdict.DENY  # first match decides
    assert _check("-1,0x1234,0x5678,-1,0|-1,-1,-1,-1,1") == FilterVerdict.DENY
    assert _check("0x03,-1,-1,-1,1") == FilterVerdict.NO_MATCH
    assert _check("0x03,-1,-1,-1,1", default_allow=True) == FilterVerdict.ALLOW
    # class 0xff device: the device pass runs too and needs its own match
    assert _check("0x08,-1,-1,-1,1", cls=0xFF) == FilterVerdict.NO_MATCH
    assert _check("0x08,-1,-1,-1,1|0xff,-1,-1,-1,1", cls=0xFF) == FilterVerdict.ALLOW
    # a non-boot HID interface of a composite device is skipped unless asked
    composite = ((8, 6, 0x50), (3, 0, 0))
    assert _check("0x08,-1,-1,-1,1", interfaces=composite) == FilterVerdict.ALLOW
    assert _check("0x08,-1,-1,-1,1", interfaces=composite, skip_non_boot_hid=False) == FilterVerdict.NO_MATCH
