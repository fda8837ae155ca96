"""Looking inside nursery exception groups: spice_net.lowlevel.error_leaves and single_error."""

from __future__ import annotations

import sys

import trio
from spice_net.lowlevel import error_leaves, single_error

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup, ExceptionGroup


async def _a_cancelled() -> trio.Cancelled:
    """A real trio.Cancelled (it cannot be constructed directly)."""
    with trio.CancelScope() as scope:
        scope.cancel()
        try:
            await trio.sleep(1)
        except trio.Cancelled as exc:
            return exc
    raise AssertionError("not cancelled")


async def test_single_error_found_through_nesting_and_cancellations() -> None:
    error = KeyError("x")
    group = BaseExceptionGroup("outer", [await _a_cancelled(), ExceptionGroup("inner", [error])])
    assert single_error(group) is error


async def test_several_errors_give_none() -> None:
    assert single_error(ExceptionGroup("two", [KeyError(), ValueError()])) is None


async def test_only_cancellations_give_none() -> None:
    assert single_error(BaseExceptionGroup("c", [await _a_cancelled(), await _a_cancelled()])) is None


async def test_leaves_flattened_in_order_without_cancellations() -> None:
    a, b, c = KeyError("a"), ValueError("b"), OSError("c")
    group = BaseExceptionGroup(
        "outer", [a, BaseExceptionGroup("mid", [await _a_cancelled(), ExceptionGroup("in", [b])]), c]
    )
    assert error_leaves(group) == [a, b, c]


async def test_a_plain_exception_is_its_own_leaf() -> None:
    error = RuntimeError("alone")
    assert error_leaves(error) == [error]
    assert single_error(error) is error
    assert error_leaves(await _a_cancelled()) == []
