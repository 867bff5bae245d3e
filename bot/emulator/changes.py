"""One signal for "something changed", so control-side waits need no polling loops."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class ChangeSignal:
    """Wakes every waiter on each `notify()`; waiters re-check their own condition."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        # Swap in a fresh event so later waiters block until the next change.
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait(self, within: float) -> bool:
        """True if a change happened within `within` seconds."""
        try:
            await asyncio.wait_for(self._event.wait(), within)
        except TimeoutError:
            return False
        return True

    async def wait_for(self, probe: Callable[[], T | None], within: float) -> T | None:
        """The first non-None `probe()` result, or None once `within` seconds pass."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            event = self._event  # taken before probing so a change in between is not lost
            found = probe()
            remaining = deadline - loop.time()
            if found is not None or remaining <= 0:
                return found
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return probe()
