"""A retrying loop stops when cancelled, even if the cancel surfaces as another error."""

from __future__ import annotations

import asyncio

from engine.stopping import reraise_if_cancelling

WAIT_SECONDS = 5.0  # generous for a slow machine; the loop stops at once when it works


class DriverError(Exception):
    """What a database driver may raise in place of CancelledError."""


async def _retrying(attempts: list[int], cancelled_inside: asyncio.Event) -> None:
    """A loop that retries on every error, as a sync or ingest loop does."""
    while True:
        attempts.append(1)
        try:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError as cancel:
                cancelled_inside.set()
                raise DriverError("query cancelled") from cancel  # the driver's own error
        except Exception as error:
            reraise_if_cancelling(error)
            await asyncio.sleep(0)


async def test_a_cancel_that_comes_out_as_another_error_still_stops_the_loop() -> None:
    attempts: list[int] = []
    cancelled_inside = asyncio.Event()
    task = asyncio.create_task(_retrying(attempts, cancelled_inside))
    await asyncio.sleep(0)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=WAIT_SECONDS)
    assert task in done, "the loop went on retrying after it was cancelled"
    assert task.cancelled() and cancelled_inside.is_set()
    assert len(attempts) == 1  # no retry after the cancel


async def test_an_error_without_a_cancel_is_left_to_the_caller() -> None:
    reraise_if_cancelling(DriverError("connection lost"))  # returns: the caller may retry
