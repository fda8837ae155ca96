"""spice_net.lowlevel.Alarm: wake-ups on a descriptor, a deadline or a ring, on descriptors
(Linux) and on trio's cancel scopes (elsewhere, and under a test's MockClock)."""

from __future__ import annotations

import os
import socket
import time

import pytest
import trio
import trio.testing
from spice_net.lowlevel import Alarm, nap

WAYS = [pytest.param(False, id="descriptors"), pytest.param(True, id="cancel-scopes")]


@pytest.mark.parametrize("portable", WAYS)
async def test_a_deadline_ends_the_wait_at_its_time(portable: bool) -> None:
    with Alarm(portable=portable) as alarm:
        assert alarm.native is not portable
        for delay in (0.02, 0.005):
            start = trio.current_time()
            await alarm.wait(start + delay)
            took = trio.current_time() - start
            assert delay <= took < delay + 0.5


@pytest.mark.parametrize("portable", WAYS)
async def test_a_passed_deadline_returns_at_once_and_is_a_checkpoint(portable: bool) -> None:
    with Alarm(portable=portable) as alarm:
        with trio.CancelScope() as scope:
            scope.cancel()
            await alarm.wait(trio.current_time() - 1)
        assert scope.cancelled_caught


@pytest.mark.parametrize("portable", WAYS)
async def test_the_watched_descriptor_ends_the_wait(portable: bool) -> None:
    a, b = socket.socketpair()
    with a, b, Alarm(portable=portable) as alarm:
        alarm.watch(a.fileno())
        async with trio.open_nursery() as nursery:

            async def send_later() -> None:
                await trio.sleep(0.05)
                b.send(b"x")

            nursery.start_soon(send_later)
            start = trio.current_time()
            await alarm.wait(start + 10)
            assert 0.04 <= trio.current_time() - start < 5
            assert a.recv(1) == b"x"
        # an old descriptor no longer wakes it once another is watched
        c, d = socket.socketpair()
        with c, d:
            alarm.watch(c.fileno())
            b.send(b"y")
            start = trio.current_time()
            await alarm.wait(start + 0.05)
            assert trio.current_time() - start >= 0.05
            alarm.watch(None)
            d.send(b"z")
            start = trio.current_time()
            await alarm.wait(start + 0.05)
            assert trio.current_time() - start >= 0.05


async def ring_after(alarm: Alarm, seconds: float) -> None:
    await trio.sleep(seconds)
    alarm.ring()


@pytest.mark.parametrize("portable", WAYS)
async def test_a_ring_wakes_the_waiter_and_an_early_ring_the_next_wait(portable: bool) -> None:
    with Alarm(portable=portable) as alarm:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ring_after, alarm, 0.05)
            start = trio.current_time()
            await alarm.wait()  # no deadline: only the ring ends it
            assert 0.04 <= trio.current_time() - start < 5
        alarm.ring()
        alarm.ring()
        start = trio.current_time()
        await alarm.wait(start + 10)
        assert trio.current_time() - start < 1
        await alarm.wait(trio.current_time() + 0.05)  # both rings were used up by one wait
        assert trio.current_time() - start >= 0.05


@pytest.mark.parametrize("portable", WAYS)
async def test_a_later_wait_forgets_an_earlier_deadline(portable: bool) -> None:
    with Alarm(portable=portable) as alarm:
        # armed 30 ms ahead but ended at once by a ring: that timer must not end the next
        # wait, which has no deadline and ends only with the second ring
        alarm.ring()
        await alarm.wait(trio.current_time() + 0.03)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ring_after, alarm, 0.1)
            start = trio.current_time()
            await alarm.wait()
            assert trio.current_time() - start >= 0.09


async def ring_at_after(alarm: Alarm, delay: float, due_in: float) -> None:
    await trio.sleep(delay)
    alarm.ring_at(trio.current_time() + due_in)


@pytest.mark.parametrize("portable", WAYS)
async def test_ring_at_brings_the_waiters_deadline_forward_never_back(portable: bool) -> None:
    with Alarm(portable=portable) as alarm:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ring_at_after, alarm, 0.02, 0.05)  # due 70 ms after the start
            nursery.start_soon(ring_at_after, alarm, 0.03, 5)  # later than that: changes nothing
            start = trio.current_time()
            await alarm.wait()  # no deadline of its own
            assert 0.065 <= trio.current_time() - start < 2
        start = trio.current_time()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ring_at_after, alarm, 0.02, -1)  # already due: at once
            await alarm.wait(start + 10)
            assert 0.015 <= trio.current_time() - start < 2
        async with trio.open_nursery() as nursery:  # a later one does not hold back an earlier deadline
            nursery.start_soon(ring_at_after, alarm, 0.01, 10)
            start = trio.current_time()
            await alarm.wait(start + 0.05)
            assert 0.045 <= trio.current_time() - start < 2


@pytest.mark.parametrize("portable", WAYS)
async def test_ring_at_while_nobody_waits_ends_the_next_wait_by_then_only(portable: bool) -> None:
    with Alarm(portable=portable) as alarm:
        start = trio.current_time()
        alarm.ring_at(start + 0.06)
        alarm.ring_at(start + 0.04)  # the earliest counts
        alarm.ring_at(start + 0.08)
        await alarm.wait(start + 10)
        assert 0.035 <= trio.current_time() - start < 2
        start = trio.current_time()
        await alarm.wait(start + 0.05)  # used up: the next wait keeps its own deadline
        assert trio.current_time() - start >= 0.045
        alarm.ring_at(trio.current_time() + 10)
        start = trio.current_time()
        await alarm.wait(start + 0.02)  # later than the wait's own: no effect
        assert 0.015 <= trio.current_time() - start < 2


@pytest.mark.parametrize("portable", WAYS)
async def test_cancelling_the_waiter_works_and_a_closed_alarm_refuses(portable: bool) -> None:
    alarm = Alarm(portable=portable)
    with trio.move_on_after(0.02) as scope:
        await alarm.wait()
    assert scope.cancelled_caught
    alarm.close()
    alarm.close()
    alarm.ring()  # nothing to wake: harmless
    with pytest.raises(trio.ClosedResourceError):
        await alarm.wait(trio.current_time() + 1)


async def test_its_descriptors_are_released() -> None:
    before = len(os.listdir("/proc/self/fd"))
    alarms = [Alarm() for _ in range(20)]
    assert len(os.listdir("/proc/self/fd")) >= before + 20
    for alarm in alarms:
        await alarm.wait(trio.current_time() + 0.001)
        alarm.close()
    assert len(os.listdir("/proc/self/fd")) == before


async def test_under_a_mock_clock_it_follows_virtual_time(mock_clock: trio.testing.MockClock) -> None:
    mock_clock.autojump_threshold = 0
    with Alarm() as alarm:
        start = trio.current_time()
        wall = time.monotonic()
        await alarm.wait(start + 3600)
        assert trio.current_time() - start == pytest.approx(3600)
        assert time.monotonic() - wall < 5
        await nap(60)
        assert trio.current_time() - start == pytest.approx(3660)


async def test_nap_sleeps() -> None:
    for seconds in (0.02, 0.0005):
        start = trio.current_time()
        await nap(seconds)
        assert trio.current_time() - start >= seconds


def test_clock_reader_reads_the_running_clock_and_outside_a_run_is_trio_current_time() -> None:
    from spice_net.lowlevel import clock_reader

    assert clock_reader() is trio.current_time  # no run: trio's function (raises when called)
    clock = trio.testing.MockClock()

    async def main() -> None:
        now = clock_reader()
        assert now() == trio.current_time()
        clock.jump(12.5)
        assert now() == trio.current_time() == clock.current_time()

    trio.run(main, clock=clock)


@pytest.mark.parametrize("portable", WAYS)
async def test_reschedule_moves_the_wait_going_on_later_or_earlier_and_else_does_nothing(
    portable: bool,
) -> None:
    with Alarm(portable=portable) as alarm, trio.fail_after(5):
        start = trio.current_time()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(alarm.wait, start + 0.05)
            await trio.sleep(0.01)
            alarm.reschedule(start + 0.3)  # later than it would have
        assert 0.28 <= trio.current_time() - start < 1.5
        start = trio.current_time()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(alarm.wait, start + 30)
            await trio.sleep(0.01)
            alarm.reschedule(start + 0.05)  # earlier
        assert trio.current_time() - start < 1.5
        alarm.reschedule(trio.current_time() - 1)  # nobody waits: nothing to move
        start = trio.current_time()
        await alarm.wait(start + 0.1)
        assert trio.current_time() - start >= 0.09
