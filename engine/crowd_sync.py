"""Keeps the crowd figures equal to what the stored events say, in every replica.

Every change to the crowd goes through here, one at a time: counting the stored events at
start-up, this process's events as they are recorded, other replicas' events as their
announcements arrive, and recounting the stickers of a user whose events were deleted, here or
elsewhere. One at a time is what makes each event count once: an event is stored and counted
under the same lock under which a recount reads the store.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Collection
from typing import Any

import numpy as np

from engine.crowd import Crowd, CrowdRow
from engine.stopping import reraise_if_cancelling
from engine.storage import StateStore, UserChange
from engine.types import Event, StoredEvent

# An announcement arrives within moments of its commit; one that names an event a recount
# already read, within this many seconds of that recount, is not counted a second time.
RECOUNTED_KEPT_SECONDS = 60.0
RETRY_SECONDS = 5.0  # after the store failed us: then everything is recounted

log = logging.getLogger(__name__)


class CrowdSync:
    def __init__(self, store: StateStore, crowd: Crowd) -> None:
        self._store = store
        self._crowd = crowd
        self._lock = asyncio.Lock()
        self._heard: asyncio.Queue[UserChange] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._recounted: deque[tuple[float, np.ndarray]] = deque()  # (when, sorted event ids)

    async def load(self) -> None:
        """Count every stored event, then follow other replicas' announcements.

        Announcements heard before the store is read are dropped, and those of events it read
        are not counted when they arrive later: the read includes them."""
        async with self._lock:
            while not self._heard.empty():
                self._heard.get_nowait()
            await self._recount(None)
        self._worker = self._worker or asyncio.create_task(self._follow())

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)

    async def record(self, user_id: str, event: Event, profile: dict[str, Any] | None) -> bool:
        """Store the event (with the user's updated profile) and count it; False when the
        store had it already (from the same source), and nothing changed."""
        async with self._lock:
            if await self._store.record(user_id, event, profile) is None:
                return False
            await asyncio.to_thread(
                self._crowd.add, user_id, event.kind, event.sticker_id, event.query
            )
            return True

    async def delete(self, user_id: str, deletion: Callable[[], Awaitable[None]]) -> None:
        """Run `deletion` of the user's events, then recount the stickers they used."""
        async with self._lock:
            used = self._crowd.used_by(user_id)
            await deletion()
            await self._recount(used)

    def hear(self, change: UserChange) -> None:
        """Another replica changed a user: count what it did, in order, off the caller's path."""
        self._heard.put_nowait(change)

    async def _follow(self) -> None:
        while True:
            changes = [await self._heard.get()]
            while not self._heard.empty():  # what piled up is fetched in one read
                changes.append(self._heard.get_nowait())
            try:
                async with self._lock:
                    await self._apply(changes)
            except Exception as error:  # the store is away: recount all once it is back
                reraise_if_cancelling(error)
                log.warning("crowd figures may lag (%s); recounting in %g s", error, RETRY_SECONDS)
                await asyncio.sleep(RETRY_SECONDS)
                self.hear(UserChange(None))

    async def _apply(self, changes: list[UserChange]) -> None:
        if any(change.user_id is None for change in changes):  # some may have been missed
            await self._recount(None)
            return
        fresh = [
            change.event_id
            for change in changes
            if change.event_id is not None and not self._recently_recounted(change.event_id)
        ]
        if fresh:
            rows = [_row(stored) for stored in await self._store.events_numbered(fresh)]
            await asyncio.to_thread(self._crowd.add_many, rows)
        leaving = {change.user_id for change in changes if change.events_deleted}
        if leaving:
            await self._recount({s for user in leaving if user for s in self._crowd.used_by(user)})

    async def _recount(self, sticker_ids: Collection[str] | None) -> None:
        """Count these stickers (None: all) anew from the store."""
        if sticker_ids is None:
            stored = [event async for event in self._store.events()]
        elif sticker_ids:
            stored = await self._store.sticker_events(sticker_ids)
        else:
            return
        await asyncio.to_thread(self._crowd.recount, sticker_ids, [_row(s) for s in stored])
        read = np.sort(np.fromiter((s.event_id for s in stored), np.int64, len(stored)))
        self._recounted.append((time.monotonic(), read))

    def _recently_recounted(self, event_id: int) -> bool:
        while self._recounted and time.monotonic() - self._recounted[0][0] > RECOUNTED_KEPT_SECONDS:
            self._recounted.popleft()
        for _, read in self._recounted:
            at = int(np.searchsorted(read, event_id))
            if at < len(read) and read[at] == event_id:
                return True
        return False


def _row(stored: StoredEvent) -> CrowdRow:
    event = stored.event
    return (stored.user_id, event.kind, event.sticker_id, event.query)
