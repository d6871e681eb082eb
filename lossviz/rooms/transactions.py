"""A transaction's end, written once for every backend: commit, or roll back on an error."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def committed(
    execute: Callable[[str], object],
    driver_error: type[BaseException],
    can_roll_back: Callable[[], bool] = lambda: True,
) -> Iterator[None]:
    """The block as one transaction already begun on a connection that ``execute(sql)``
    speaks to: COMMIT after it, ROLLBACK when it raises (if ``can_roll_back()``; a failing
    rollback is ignored: the block's own exception is the one that matters)."""
    try:
        yield
    except BaseException:
        if can_roll_back():
            with contextlib.suppress(driver_error):
                execute("ROLLBACK")
        raise
    execute("COMMIT")
