"""Units of the server's hostile-client limits: pending-link caps and the wrong-ticket throttle."""

from __future__ import annotations

from functools import partial

import pytest
from spice_server._admission import PendingLinks, Progress, address_key
from spice_server._throttle import AuthThrottle


def test_address_key_groups_ipv6_by_64_and_unmaps_ipv4() -> None:
    assert address_key("10.0.0.1") == "10.0.0.1"
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert address_key("unix socket") == "unix socket"


def test_per_address_limit_refuses_new_connections() -> None:
    limits = PendingLinks(per_address=2, total=10)
    cancelled: list[int] = []
    a = limits.admit("10.0.0.1", lambda: cancelled.append(1))
    b = limits.admit("10.0.0.1", lambda: cancelled.append(2))
    assert a is not None and b is not None
    assert limits.admit("10.0.0.1", lambda: cancelled.append(3)) is None
    assert limits.admit("10.0.0.2", lambda: cancelled.append(4)) is not None
    assert cancelled == [] and len(limits) == 3 and limits.count("10.0.0.1") == 2
    limits.release(a)
    limits.release(a)  # idempotent
    assert limits.count("10.0.0.1") == 1
    assert limits.admit("10.0.0.1", lambda: None) is not None


def test_total_limit_drops_denied_then_silent_then_oldest() -> None:
    limits = PendingLinks(per_address=5, total=3)
    cancelled: list[str] = []
    entries = {
        name: limits.admit(f"10.0.0.{i}", lambda n=name: cancelled.append(n)) for i, name in enumerate("abc")
    }
    a, b, c = (entries[n] for n in "abc")
    assert a is not None and b is not None and c is not None
    limits.advance(a, Progress.REQUESTED)
    limits.advance(c, Progress.DENIED)
    limits.admit("10.0.1.1", partial(cancelled.append, "d"))  # the guesser goes first
    assert cancelled == ["c"]
    limits.admit("10.0.1.2", partial(cancelled.append, "e"))  # then the oldest silent one
    assert cancelled == ["c", "b"]
    limits.admit("10.0.1.3", partial(cancelled.append, "f"))  # then "d", silent and older than "e"
    assert cancelled == ["c", "b", "d"]
    assert len(limits) == 3 and limits.count("10.0.0.0") == 1  # "a" made progress and stays
    limits.release(c)  # released twice (evicted, then its task ends): no harm
    assert len(limits) == 3


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        PendingLinks(0, 10)


def test_throttle_doubles_per_address_up_to_the_cap_and_forgets() -> None:
    throttle = AuthThrottle(first=0.5, cap=4.0, forget_after=60.0)
    assert [throttle.failed("a", t) for t in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert throttle.failed("b", 6) == 0.5  # per address
    assert throttle.delay("a", 7) == 4.0 and throttle.delay("b", 7) == 0.5 and throttle.delay("c", 7) == 0
    assert throttle.failures("a", 10) == 6
    assert throttle.failed("a", 5 + 60) == 0.5  # a minute without failures: forgotten
    throttle.succeeded("a")
    assert throttle.failures("a", 70) == 0
    assert throttle.failed("a", 70) == 0.5


def test_throttle_table_is_bounded() -> None:
    throttle = AuthThrottle(max_addresses=100)
    for i in range(1000):
        throttle.failed(f"10.0.{i // 256}.{i % 256}", float(i))
    assert throttle.failures("10.0.3.231", 1000.0) == 1  # the newest are kept
    assert throttle.failures("10.0.0.0", 1000.0) == 0  # the stalest went
    assert len(throttle._records) == 100
