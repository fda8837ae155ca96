"""usbredir filter rules: the ``usb-filter`` text of ``.vv`` files and FILTER_FILTER packets.

A rule is ``class,vendor,product,version,allow`` (``-1`` matches anything; numbers in C
notation: ``0x08``, ``-1``, ``010`` is octal); rules are joined by ``|``.  A device is
checked against the rules with its device class first, then with each interface's class;
the first matching rule of a pass decides it.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ._usbredir import UsbRedirError

__all__ = ["FilterRule", "FilterVerdict", "UsbFilterError", "check_filter", "format_filter", "parse_filter"]


class UsbFilterError(UsbRedirError, ValueError):
    """Filter text that is not a list of valid rules; the message names the rule and the field."""


class FilterVerdict(enum.Enum):
    ALLOW = "allow"
    DENY = "deny"
    NO_MATCH = "no-match"


_FIELDS = (("class", 0xFF), ("vendor", 0xFFFF), ("product", 0xFFFF), ("version", 0xFFFF))
_NUMBER = re.compile(r"\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)\s*\Z")


@dataclass(frozen=True)
class FilterRule:
    """One rule; ``None`` in a field matches any value."""

    device_class: int | None
    vendor_id: int | None
    product_id: int | None
    device_version_bcd: int | None
    allow: bool

    def matches(self, cls: int, vendor: int, product: int, version: int) -> bool:
        pairs = (
            (self.device_class, cls),
            (self.vendor_id, vendor),
            (self.product_id, product),
            (self.device_version_bcd, version),
        )
        return all(want is None or want == have for want, have in pairs)

    def format(self) -> str:
        def one(v: int | None, width: int) -> str:
            return "-1" if v is None else f"0x{v:0{width}x}"

        return ",".join(
            (
                one(self.device_class, 2),
                one(self.vendor_id, 4),
                one(self.product_id, 4),
                one(self.device_version_bcd, 4),
                "1" if self.allow else "0",
            )
        )


def _number(text: str, where: str) -> int:
    m = _NUMBER.match(text)
    if m is None:
        raise UsbFilterError(f"usb filter {where}: {text!r} is not a number")
    sign, digits = m.groups()
    if digits[:2] in ("0x", "0X"):
        value = int(digits, 16)
    elif digits.startswith("0"):
        value = int(digits, 8)
    else:
        value = int(digits)
    return -value if sign == "-" else value


def parse_filter(text: str, token_sep: str = ",", rule_sep: str = "|") -> tuple[FilterRule, ...]:
    """The rules of ``text``; empty rules between separators are skipped (as strtok does)."""
    rules: list[FilterRule] = []
    for n, raw in enumerate(r for r in re.split("[" + re.escape(rule_sep) + "]", text) if r.strip()):
        tokens = [t for t in re.split("[" + re.escape(token_sep) + "]", raw) if t != ""]
        if len(tokens) != 5:
            raise UsbFilterError(f"usb filter rule {n + 1} {raw!r}: {len(tokens)} fields, expected 5")
        values: list[int | None] = []
        for (name, top), token in zip(_FIELDS, tokens[:4], strict=True):
            value = _number(token, f"rule {n + 1} {name}")
            if value == -1:
                values.append(None)
            elif 0 <= value <= top:
                values.append(value)
            else:
                raise UsbFilterError(f"usb filter rule {n + 1}: {name} {value} outside -1..{top:#x}")
        allow = _number(tokens[4], f"rule {n + 1} allow")
        rules.append(FilterRule(values[0], values[1], values[2], values[3], allow != 0))
    return tuple(rules)


def format_filter(rules: Iterable[FilterRule]) -> str:
    """Rules back to text that :func:`parse_filter` reads."""
    return "|".join(rule.format() for rule in rules)


def check_filter(
    rules: Sequence[FilterRule],
    *,
    device_class: int,
    vendor_id: int,
    product_id: int,
    device_version_bcd: int,
    interfaces: Sequence[tuple[int, int, int]] = (),
    default_allow: bool = False,
    skip_non_boot_hid: bool = True,
) -> FilterVerdict:
    """ALLOW when every pass allows, DENY at the first deny, NO_MATCH when a pass matches nothing.

    ``interfaces`` are (class, subclass, protocol) triples.  The device-class pass is
    skipped for class 0x00 and 0xEF (the interfaces tell); with ``skip_non_boot_hid`` a
    non-boot HID interface (3, 0, 0) of a multi-interface device is not checked.
    ``default_allow`` turns a pass without a match into an allow.
    """
    classes: list[int] = [] if device_class in (0x00, 0xEF) else [device_class]
    for cls, sub, proto in interfaces:
        if skip_non_boot_hid and len(interfaces) > 1 and (cls, sub, proto) == (3, 0, 0):
            continue
        classes.append(cls)
    for cls in classes:
        rule = next((r for r in rules if r.matches(cls, vendor_id, product_id, device_version_bcd)), None)
        if rule is None:
            if not default_allow:
                return FilterVerdict.NO_MATCH
        elif not rule.allow:
            return FilterVerdict.DENY
    return FilterVerdict.ALLOW
