"""Looking inside the exception groups a trio nursery wraps its errors in."""

from __future__ import annotations

import sys

import trio

if sys.version_info < (3, 11):  # pragma: no cover - the backport trio itself depends on there
    from exceptiongroup import BaseExceptionGroup

__all__ = ["error_leaves", "single_error"]


def error_leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside ``exc`` (nested groups flattened, in order), ``trio.Cancelled`` left out.

    An exception that is not a group is its own only leaf (unless it is a cancellation).
    """
    leaves: list[BaseException] = []
    stack: list[BaseException] = [exc]
    while stack:
        item = stack.pop()
        if isinstance(item, BaseExceptionGroup):
            stack.extend(reversed(item.exceptions))
        elif not isinstance(item, trio.Cancelled):
            leaves.append(item)
    return leaves


def single_error(exc: BaseException) -> BaseException | None:
    """The one non-cancellation exception inside ``exc``, else ``None``.

    ``None`` means: re-raise the group unchanged (several real errors, or only
    cancellations, which trio must see as they are).
    """
    leaves = error_leaves(exc)
    return leaves[0] if len(leaves) == 1 else None
