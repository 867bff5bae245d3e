"""Long-lived tasks that retry on errors must still stop when they are cancelled.

A cancel that lands while a database driver is busy can come out as the driver's own error:
psycopg answers it by cancelling the query on the server and cleaning the connection up, and
a failure while it does so takes the place of the CancelledError. A loop that catches
`Exception` to retry would then retry, and whoever awaits the cancelled task (a `close()`)
would wait for ever.
"""

from __future__ import annotations

import asyncio


def reraise_if_cancelling(error: BaseException) -> None:
    """Raise CancelledError (from `error`) when the running task has been asked to stop."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from error
