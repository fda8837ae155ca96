"""Unwrapping the exception groups a trio nursery builds around a single error."""

from __future__ import annotations

import sys

import trio

if sys.version_info < (3, 11):  # pragma: no cover - the backport trio itself depends on there
    from exceptiongroup import BaseExceptionGroup

__all__ = ["single_error"]


def single_error(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    """The one non-Cancelled exception inside ``group`` (nested groups flattened), else ``None``.

    ``None`` means: re-raise the group unchanged (several real errors, or only
    cancellations, which trio must see as they are).
    """
    leaves: list[BaseException] = []
    stack: list[BaseException] = [group]
    while stack:
        exc = stack.pop()
        if isinstance(exc, BaseExceptionGroup):
            stack.extend(exc.exceptions)
        elif not isinstance(exc, trio.Cancelled):
            leaves.append(exc)
    return leaves[0] if len(leaves) == 1 else None
